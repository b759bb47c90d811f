"""An order for later's promised time in every contract field able to carry it: the native
detail and events (`fulfill_at`, `estimated_delivery_time`), the customer tracking API's
`estimatedDeliveryTime` (status, detail, hub), and the webhook payload. The three-status, polled
status and mobile orders documents have no field for a time the customer asked for."""

from datetime import datetime, timedelta

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
from tests.orders.test_kitchen_races import order_for_later
from tracking.payloads import event_payload

pytestmark = pytest.mark.django_db


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
