"""The mobile orders API against its document's request/response examples: the same keys and
the same types, the tab filters, includes, pages of 15, its error bodies, and the payment
provider's signed webhook moving an order from `placed` to `processing`."""

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.factories import advance, place_order
from tests.tracking.contracts.shapes import assert_same_shape
from tracking.contracts.mobile_orders import PROMISED_TIME_FIELDS, int_id, reference_id

pytestmark = pytest.mark.django_db

EXAMPLES = json.loads((Path(__file__).with_name("mobile_orders_examples.json")).read_text())
# No packaging choice, product pictures or checkout sessions exist here: those are null, never
# invented; the document itself has `payment_method_used` and the page links nullable.
NULLABLE = (
    ".data.links.prev",
    ".data.links.next",
    ".data.data[].payment_method_used",
    ".data.payment_method_used",
    ".data.data[].payments[].checkout_session_id",
    ".data.payments[].checkout_session_id",
    ".data.data[].package_snapshot",
    ".data.data[].package",
    ".data.package_snapshot",
    ".data.package",
    ".data.cart_items_snapshot[].variant.product.thumbnail",
    ".data.data[].cart_items_snapshot[].variant.product.thumbnail",
    ".data.cart_items[].variant.product.thumbnail",
)
# Our own addition to every order the document shows (docs/contracts/mobile-orders.md): in the
# list's rows, and in the one order of the detail and the reference lookup.
IN_ROWS, IN_ORDER = {".data.data[]": PROMISED_TIME_FIELDS}, {".data": PROMISED_TIME_FIELDS}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def paid_order(customer, staff_user, menu):
    """Paid online and being prepared: `processing`, with a payment and a status log."""
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)
    return advance(order, staff_user, OrderStatus.RESTAURANT_CONFIRMED)


def test_the_list_answers_like_the_example(customer, paid_order):
    response = client_for(customer).get(
        "/mobile/api/orders", {"filter[order_status]": "processing", "include": "package,payments", "page": 1}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert_same_shape(body, EXAMPLES["list"], NULLABLE, IN_ROWS)
    row = body["data"]["data"][0]
    assert row["order_reference_id"] == reference_id(paid_order.number) and row["id"] == int_id(paid_order.pk)
    assert (row["order_status"], row["payment_type"], row["is_active"]) == ("processing", "online", True)
    assert row["payments"][0]["status"] == "paid" and row["payments"][0]["provider"] == "simulated"
    meta = body["data"]["meta"]
    assert (meta["per_page"], meta["total"], meta["current_page"], meta["last_page"]) == (15, 1, 1, 1)
    assert body["data"]["links"]["first"].endswith("/mobile/api/orders?page=1")


def test_the_detail_answers_like_the_example(customer, paid_order):
    order_id = int_id(paid_order.pk)
    response = client_for(customer).get(f"/mobile/api/orders/{order_id}?include=package,payments,orderStatusLogs")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_same_shape(body, EXAMPLES["detail"], NULLABLE, IN_ORDER)
    logs = body["data"]["order_status_logs"]
    assert [log["status"] for log in logs] == ["placed", "processing", "processing"]
    assert body["data"]["user"]["id"] == paid_order.customer_id
    # Without includes, no relationships beyond the user.
    lean = client_for(customer).get(f"/mobile/api/orders/{order_id}").json()["data"]
    assert {"payments", "package", "order_status_logs"}.isdisjoint(lean)


def test_the_reference_lookup_answers_like_the_example(customer, paid_order):
    for prefix in ("/api/mobile/orders/", "/mobile/api/mobile/orders/"):
        response = client_for(customer).get(prefix + reference_id(paid_order.number))
        assert response.status_code == 200, response.content
        assert_same_shape(response.json(), EXAMPLES["by_reference"], NULLABLE, IN_ORDER)
        assert response.json()["data"]["paid_at"].count(":") == 2  # "2025-11-07 14:30:00"


def test_pages_hold_fifteen(customer, menu):
    for _ in range(16):
        place_order(customer, menu["pizza"])
    client = client_for(customer)
    first = client.get("/mobile/api/orders").json()["data"]
    assert len(first["data"]) == 15 and first["meta"]["last_page"] == 2 and first["links"]["next"].endswith("page=2")
    second = client.get("/mobile/api/orders?page=2").json()["data"]
    assert len(second["data"]) == 1 and (second["meta"]["from"], second["meta"]["to"]) == (16, 16)


def test_tabs_filter_instead_of_being_ignored(customer, menu, paid_order):
    unpaid = place_order(customer, menu["pizza"], payment_method="online")
    client = client_for(customer)
    to_pay = client.get("/mobile/api/orders?filter[order_status]=placed").json()["data"]["data"]
    assert [row["order_reference_id"] for row in to_pay] == [reference_id(unpaid.number)]
    assert to_pay[0]["paid_at"] is None
    cod = client.get("/mobile/api/orders?filter[payment_type]=cod").json()["data"]["data"]
    assert cod == []
    active = client.get("/mobile/api/orders?filter[is_active]=1").json()["data"]["meta"]["total"]
    assert active == 2
    assert client.get("/mobile/api/orders?filter[order_status]=paid").json()["data"]["data"] == []


def test_errors_have_the_documented_bodies(customer, other_customer, paid_order):
    assert APIClient().get("/mobile/api/orders").json() == EXAMPLES["unauthenticated"]
    assert APIClient().get("/mobile/api/orders").status_code == 401
    hidden = client_for(other_customer).get(f"/mobile/api/orders/{int_id(paid_order.pk)}")
    assert (hidden.status_code, hidden.json()) == (404, EXAMPLES["not_found"])
    for path in (
        "/mobile/api/orders/123",
        "/mobile/api/orders/abc",
        "/mobile/api/orders/999999999999999",
        "/api/mobile/orders/NOPE",
    ):
        assert client_for(customer).get(path).json() == EXAMPLES["not_found"]
    invalid = client_for(customer).get("/mobile/api/orders?filter[order_status]=shipped")
    assert (invalid.status_code, invalid.json()) == (422, EXAMPLES["validation"])
    include = client_for(customer).get("/mobile/api/orders?include=package,wishlist")
    assert include.status_code == 422 and "include" in include.json()["errors"]
    unknown = client_for(customer).get("/mobile/api/orders?filter[status]=placed")
    assert unknown.status_code == 400 and "filter[status]" in unknown.json()["message"]


# ---------------------------------------------------------------- the provider's webhook


def paymongo_event(order, *, event_type="payment.paid", event_id="evt_1", amount=None) -> bytes:
    return json.dumps(
        {
            "data": {
                "id": event_id,
                "type": "event",
                "attributes": {
                    "type": event_type,
                    "livemode": False,
                    "data": {
                        "id": "pay_abc123",
                        "type": "payment",
                        "attributes": {
                            "amount": int(order.total * 100) if amount is None else amount,
                            "currency": order.currency,
                            "status": "paid",
                            "source": {"type": "gcash"},
                            "metadata": {"order_reference_id": reference_id(order.number)},
                        },
                    },
                },
            }
        }
    ).encode()


def signed(body: bytes, *, secret=None, at=None) -> str:
    at = int(at or time.time())
    digest = hmac.new(
        (secret or settings.ORDERFLOW_PAYMONGO_WEBHOOK_SECRET).encode(), f"{at}.".encode() + body, hashlib.sha256
    )
    return f"t={at},te={digest.hexdigest()},li="


def test_the_provider_webhook_moves_an_order_from_placed_to_processing(customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online")
    client = APIClient()
    body = paymongo_event(order)
    response = client.post(
        "/api/paymongo/webhook", body, content_type="application/json", HTTP_PAYMONGO_SIGNATURE=signed(body)
    )
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_SUCCESS and order.paid_at is not None
    by_reference = client_for(customer).get(f"/api/mobile/orders/{reference_id(order.number)}").json()["data"]
    assert (by_reference["order_status"], by_reference["payment_method_used"]) == ("processing", "gcash")
    # Delivered again: applied once.
    again = client.post(
        "/mobile/api/paymongo/webhook", body, content_type="application/json", HTTP_PAYMONGO_SIGNATURE=signed(body)
    )
    assert again.status_code == 200 and order.events.count() == 2


def test_the_webhook_refuses_bad_signatures_and_amounts(customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online")
    client = APIClient()
    body = paymongo_event(order)
    forged = client.post(
        "/api/paymongo/webhook",
        body,
        content_type="application/json",
        HTTP_PAYMONGO_SIGNATURE=signed(body, secret="wrong"),
    )
    assert forged.status_code == 401
    stale = client.post(
        "/api/paymongo/webhook",
        body,
        content_type="application/json",
        HTTP_PAYMONGO_SIGNATURE=signed(body, at=time.time() - 3600),
    )
    assert stale.status_code == 401
    assert client.post("/api/paymongo/webhook", body, content_type="application/json").status_code == 401
    for junk in (b"[]", b'{"data": {"id": 1, "attributes": {"type": "payment.paid", "data": {"attributes": "x"}}}}'):
        malformed = client.post(
            "/api/paymongo/webhook", junk, content_type="application/json", HTTP_PAYMONGO_SIGNATURE=signed(junk)
        )
        assert malformed.status_code == 422, malformed.content
    wrong_amount = paymongo_event(order, event_id="evt_2", amount=1)
    refused = client.post(
        "/api/paymongo/webhook",
        wrong_amount,
        content_type="application/json",
        HTTP_PAYMONGO_SIGNATURE=signed(wrong_amount),
    )
    assert refused.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING
