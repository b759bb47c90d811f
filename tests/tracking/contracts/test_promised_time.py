"""An order's promised time in every contract: the native detail and events (`fulfill_at`,
`estimated_delivery_time`), the customer tracking API's `estimatedDeliveryTime` (status, detail,
hub), the webhook payload, and our own additions to the three-status, poll-status and mobile
orders documents (`promised_at` / `fulfillAt`, the quoted ready time and the delivery estimate,
in each document's casing; docs/contracts/)."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from core.timestamps import iso
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders.models import TrackingEvent
from orders.services.placing import OrderLine, order_place
from tests import factories
from tests.factories import place_order
from tests.orders.test_kitchen_races import order_for_later
from tracking.contracts import mobile_orders, poll_status, three_status
from tracking.contracts.mobile_orders import int_id, reference_id
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db

CONTRACT_PAGES = Path(__file__).resolve().parents[3] / "docs" / "contracts"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@freeze_time("2026-03-03 12:00:00")
def test_every_contract_shows_the_promised_time(customer, staff_user, menu):
    fulfill_at = timezone.now() + timedelta(hours=2)
    order = order_place(
        customer=customer,
        restaurant_id=menu["salad"].restaurant_id,
        lines=[OrderLine(menu_item_id=menu["salad"].pk, quantity=1)],
        delivery_type="delivery",
        payment_method="cod",
        address=factories.ADDRESS,
        fulfill_at=fulfill_at,
    )
    client = APIClient()
    client.force_authenticate(customer)

    native = client.get(f"/api/orders/{order.pk}/").json()
    assert parse(native["fulfill_at"]) == fulfill_at
    assert parse(native["estimated_delivery_time"]) == fulfill_at
    assert parse(client.get(f"/api/orders/{order.pk}/status/").json()["estimated_delivery_time"]) == fulfill_at

    assert parse(client.get(f"/api/v1/orders/{order.pk}/status").json()["estimatedDeliveryTime"]) == fulfill_at
    assert parse(client.get(f"/api/v1/orders/{order.pk}").json()["order"]["estimatedDeliveryTime"]) == fulfill_at

    placed = TrackingEvent.objects.select_related("order").get(order=order)
    payload = event_payload(placed)
    assert parse(payload["fulfill_at"]) == fulfill_at
    assert parse(payload["estimated_delivery_time"]) == fulfill_at

    for promised in promised_in_the_documents(client, order):
        assert parse(promised["promised"]) == fulfill_at
        assert parse(promised["delivery"]) == fulfill_at
        # Ready before it leaves: the promised time less the ride.
        assert parse(promised["ready"]) == order.estimated_ready_at < fulfill_at


@freeze_time("2026-03-03 12:00:00")
def test_an_order_for_now_shows_its_quote_and_no_promised_time(customer, menu):
    order = place_order(customer, menu["salad"])
    client = APIClient()
    client.force_authenticate(customer)
    for promised in promised_in_the_documents(client, order):
        assert promised["promised"] is None
        assert parse(promised["ready"]) == order.estimated_ready_at
        assert parse(promised["delivery"]) == order.estimated_delivery_at > order.estimated_ready_at


def promised_in_the_documents(client: APIClient, order) -> list[dict]:
    """The promised, ready and delivery times of `order` in each answer of the three-status,
    poll-status and mobile orders contracts that shows an order."""
    three_status = [
        client.get(f"/v1/online-ordering/orders/{order.pk}").json(),
        client.get("/v1/online-ordering/orders").json()["data"][0],
    ]
    poll = client.get(f"/api/orders/{order.pk}/poll-status").json()["data"]
    mobile = [
        client.get("/mobile/api/orders").json()["data"]["data"][0],
        client.get(f"/mobile/api/orders/{int_id(order.pk)}").json()["data"],
        client.get(f"/api/mobile/orders/{reference_id(order.number)}").json()["data"],
    ]
    found = [
        {
            "promised": body["promised_at"],
            "ready": body["estimated_ready_at"],
            "delivery": body["estimated_delivery_at"],
        }
        for body in three_status + mobile
    ]
    found.append(
        {"promised": poll["fulfillAt"], "ready": poll["estimatedReadyAt"], "delivery": poll["estimatedDeliveryAt"]}
    )
    assert len(found) == 6
    return found


@freeze_time("2026-03-03 12:00:00")
def test_the_webhook_of_an_order_for_later_carries_its_promised_time(
    customer, menu, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(name="kitchen tools", url="https://hooks.example.com/orders")
    fulfill_at = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for_later(customer, menu["salad"], fulfill_at=fulfill_at)
    delivery = WebhookDelivery.objects.get(order_id=order.pk)
    assert parse(delivery.payload["fulfill_at"]) == fulfill_at


@freeze_time("2026-03-03 12:00:00")
def test_the_tracking_page_shows_the_promised_time(customer, menu):
    fulfill_at = timezone.now() + timedelta(hours=2)
    order = order_for_later(customer, menu["salad"], fulfill_at=fulfill_at)
    html = Client().get(f"/track/{order.tracking_token}/").content.decode()
    assert f'Ordered for <time datetime="{iso(fulfill_at)}">' in html
    asap = order_place(
        customer=customer,
        restaurant_id=menu["salad"].restaurant_id,
        lines=[OrderLine(menu_item_id=menu["salad"].pk, quantity=1)],
        delivery_type="pickup",
        payment_method="cod",
    )
    assert "Ordered for" not in Client().get(f"/track/{asap.tracking_token}/").content.decode()


@pytest.mark.parametrize(
    ("page", "fields"),
    [
        ("three-status.md", three_status.PROMISED_TIME_FIELDS),
        ("poll-status.md", poll_status.PROMISED_TIME_FIELDS),
        ("mobile-orders.md", mobile_orders.PROMISED_TIME_FIELDS),
    ],
)
def test_each_contract_page_lists_the_added_fields(page, fields):
    lines = (CONTRACT_PAGES / page).read_text().splitlines()
    start = lines.index("| added field | from |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    assert tuple(rows) == fields
