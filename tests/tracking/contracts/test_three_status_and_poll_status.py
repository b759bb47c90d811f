"""The three-status order API and the poll-status API against their documents' examples (same
keys, same types), with their filters, cursor pages and error bodies."""

import base64

import pytest
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.factories import advance, place_order
from tests.tracking.contracts.shapes import assert_same_shape
from tracking.contracts import poll_status, three_status

pytestmark = pytest.mark.django_db

THREE_STATUS_ORDER = {
    "id": "f9a8b7c6-d5e4-3210-fedc-ba9876543210",
    "cart_id": "c1d2e3f4-a5b6-7890-cdef-1234567890ab",
    "location_id": "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d",
    "status": "CONFIRMED",
    "payment_status": "PAID",
    "fulfillment_status": "PREPARING",
    "items": [
        {
            "id": "d4e5f6a7-b8c9-0123-4567-890abcdef012",
            "name": "Build Your Own Sub Sandwich",
            "quantity": 1,
            "item_total": {"amount": 1399, "currency": "USD"},
        }
    ],
    "payments": [
        {
            "id": "a1b2c3d4-0001-4000-8000-000000000001",
            "status": "COMPLETED",
            "payment_method": "CREDIT_CARD",
            "amount": {"amount": 1945, "currency": "USD"},
        }
    ],
    "handoff": {"mode": "CURBSIDE"},
    "subtotal": {"amount": 1797, "currency": "USD"},
    "total_tax": {"amount": 148, "currency": "USD"},
    "total_discount": {"amount": 0, "currency": "USD"},
    "total": {"amount": 1945, "currency": "USD"},
    "total_paid": {"amount": 1945, "currency": "USD"},
    "balance_due": {"amount": 0, "currency": "USD"},
    "created_at": "2026-01-31T10:07:00Z",
    "updated_at": "2026-01-31T10:09:00Z",
}
POLL_STATUS_EXAMPLE = {
    "success": True,
    "data": {
        "id": "65f7a8b9c1234567890abcde",
        "orderNumber": "ORD-20240318-001",
        "orderStatus": "processing",
        "paymentStatus": "success",
        "totalAmount": 249.50,
        "isCommitmentConfirmed": True,
        "commitmentDeadlineAt": None,
        "readyAt": None,
        "readyExpiresAt": None,
        "isOtpVerified": False,
        "cancelledAt": None,
        "cancellationReason": None,
        "updatedAt": "2024-03-18T14:40:00.000Z",
    },
}


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def preparing_paid(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)
    return advance(order, staff_user, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING)


def test_a_three_status_order_has_the_documented_fields_and_money(customer, preparing_paid):
    body = client_for(customer).get(f"/v1/online-ordering/orders/{preparing_paid.pk}").json()
    # The example's handoff also has vehicle fields for curbside pickup, a mode not offered here;
    # checkout (and its cart) happens before this service, so `cart_id` is null.
    additions = {".": three_status.PROMISED_TIME_FIELDS}
    assert_same_shape(body, THREE_STATUS_ORDER, nullable=(".cart_id",), additions=additions)
    assert (body["status"], body["payment_status"], body["fulfillment_status"]) == ("CONFIRMED", "PAID", "PREPARING")
    cents = int(preparing_paid.total * 100)
    assert body["total"] == body["total_paid"] == {"amount": cents, "currency": "USD"}
    assert body["balance_due"] == {"amount": 0, "currency": "USD"} and body["handoff"] == {"mode": "DELIVERY"}
    assert body["payments"][0]["status"] == "COMPLETED"


def test_the_three_status_list_pages_by_cursor(customer, menu):
    orders = [place_order(customer, menu["pizza"]) for _ in range(5)]
    client = client_for(customer)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/online-ordering/orders", params).json()
        assert set(body) == {"data", "pagination"} and set(body["pagination"]) == {"has_more", "next_cursor"}
        assert {"items", "payments"}.isdisjoint(body["data"][0])
        seen += [row["id"] for row in body["data"]]
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_cursor"] is None
            break
        cursor = body["pagination"]["next_cursor"]
    assert seen == [str(order.pk) for order in reversed(orders)]


def test_three_status_errors_have_the_documented_body(customer, other_customer, preparing_paid, menu):
    client = client_for(customer)
    conflict = client.post(f"/v1/online-ordering/orders/{preparing_paid.pk}/cancel", {"reason": "late"}, format="json")
    assert conflict.status_code == 409
    error = conflict.json()["error"]
    assert error["code"] == "invalid_transition" and error["message"] and error["current_status"] == "CONFIRMED"
    hidden = client_for(other_customer).get(f"/v1/online-ordering/orders/{preparing_paid.pk}")
    assert hidden.status_code == 404 and set(hidden.json()) == {"error"} and hidden.json()["error"]["message"]
    for query, field in (
        ("status=SHIPPED", "status"),
        ("location_id=nope", "location_id"),
        ("limit=0", "limit"),
        ("cursor=bm9wZQ", "cursor"),
        (
            "cursor=" + _cursor('{"p": "0001-01-01T00:00:00+01:00", "i": "00000000-0000-4000-8000-000000000000"}'),
            "cursor",
        ),
        ("date_from=yesterday", "date_from"),
    ):
        response = client.get(f"/v1/online-ordering/orders?{query}")
        assert response.status_code == 400, query
        assert field in response.json()["error"]["details"], response.json()
    unknown = client.get("/v1/online-ordering/orders?page=2")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_query_parameter"
    assert APIClient().get("/v1/online-ordering/orders").json()["error"]["code"] == "not_authenticated"


def test_a_repeated_three_status_cancel_is_replayed(customer, menu):
    order = place_order(customer, menu["pizza"])
    client = client_for(customer)
    first = client.post(
        f"/v1/online-ordering/orders/{order.pk}/cancel", {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        f"/v1/online-ordering/orders/{order.pk}/cancel", {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert again["Idempotent-Replayed"] == "true" and order.events.count() == 2


def test_poll_status_has_the_documented_fields(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)
    order = advance(order, staff_user, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING)
    body = client_for(customer).get(f"/api/orders/{order.pk}/poll-status").json()
    assert_same_shape(body, POLL_STATUS_EXAMPLE, additions={".data": poll_status.PROMISED_TIME_FIELDS})
    data = body["data"]
    assert (data["orderStatus"], data["paymentStatus"], data["isCommitmentConfirmed"]) == (
        "processing",
        "success",
        True,
    )
    assert (
        data["totalAmount"] == float(order.total) and data["updatedAt"].endswith("Z") and len(data["updatedAt"]) == 24
    )
    advance(order, staff_user, OrderStatus.READY_FOR_PICKUP)
    ready = client_for(staff_user).get(f"/api/orders/{order.pk}/poll-status").json()["data"]
    assert ready["orderStatus"] == "ready" and ready["readyAt"] and ready["readyExpiresAt"]


def test_an_unpaid_order_shows_its_commitment_deadline_and_a_cancellation(customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online")
    client = client_for(customer)
    data = client.get(f"/api/orders/{order.pk}/poll-status").json()["data"]
    assert (data["orderStatus"], data["paymentStatus"], data["isCommitmentConfirmed"]) == ("placed", "pending", False)
    assert data["commitmentDeadlineAt"]
    client.post(f"/api/orders/{order.pk}/cancel/", {"reason": "Changed my mind"}, format="json")
    data = client.get(f"/api/orders/{order.pk}/poll-status").json()["data"]
    assert (data["orderStatus"], data["cancellationReason"]) == ("cancelled", "Changed my mind")
    assert data["cancelledAt"] and data["commitmentDeadlineAt"] is None


def test_poll_status_errors_have_the_documented_body(customer, other_customer, menu):
    order = place_order(customer, menu["pizza"])
    for path in (f"/api/orders/{order.pk}/poll-status", "/api/orders/65f7a8b9c1234567890abcde/poll-status"):
        response = client_for(other_customer).get(path)
        assert (response.status_code, response.json()) == (404, {"success": False, "message": "Order not found."})
    anonymous = APIClient().get(f"/api/orders/{order.pk}/poll-status")
    assert anonymous.status_code == 401 and anonymous.json()["success"] is False


def test_a_cancel_refused_as_invalid_keeps_no_idempotency_key(customer, menu):
    """The three-status document, "Idempotency": a request refused for its own content (400) is
    not an outcome; the corrected request with the same key is acted on, not refused 422."""
    order = place_order(customer, menu["pizza"])
    client = client_for(customer)
    path = f"/v1/online-ordering/orders/{order.pk}/cancel"

    invalid = client.post(path, {"reason": "x" * 501}, format="json", HTTP_IDEMPOTENCY_KEY="k-400")
    corrected = client.post(path, {"reason": "Changed my mind"}, format="json", HTTP_IDEMPOTENCY_KEY="k-400")

    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "validation_error"
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["status"] == "CANCELLED" and "Idempotent-Replayed" not in corrected


def test_a_replayed_three_status_error_keeps_the_documents_envelope(customer, preparing_paid):
    client = client_for(customer)
    path = f"/v1/online-ordering/orders/{preparing_paid.pk}/cancel"

    first = client.post(path, {"reason": "late"}, format="json", HTTP_IDEMPOTENCY_KEY="k-409")
    again = client.post(path, {"reason": "late"}, format="json", HTTP_IDEMPOTENCY_KEY="k-409")

    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert set(again.json()) == {"error"} and again.json()["error"]["code"] == "invalid_transition"
