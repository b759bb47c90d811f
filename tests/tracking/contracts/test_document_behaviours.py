"""Behaviours the client documents state in their own text, each tested from that text (the
section is named in the test's docstring), not from our reading of the code."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus
from tests import factories
from tests.factories import advance, assign, place_order, to_ready
from tests.tracking.conftest import run_async
from tests.tracking.contracts.test_customer_tracking import open_hub
from tests.tracking.contracts.test_mobile_orders import paymongo_event, signed
from tracking.contracts.mobile_orders import reference_id

pytestmark = pytest.mark.django_db

db = database_sync_to_async


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ---------------------------------------------------------------- 000, customer tracking


@pytest.mark.django_db(transaction=True)
@run_async
async def test_unsubscribe_from_order_stops_the_events(customer, staff_user, menu):
    """000, "Sequence Diagram": `App-->>Hub: Unsubscribe (stop polling)` after
    `connection.invoke("SubscribeToOrder", orderId)`: once unsubscribed, the order's changes
    no longer arrive; the invocation completes like the subscription did."""
    order = await db(place_order)(customer, menu["pizza"])
    hub = await open_hub(customer)
    await hub.invoke("1", "SubscribeToOrder", str(order.pk))
    await db(factories.confirm)(order.pk, staff_user)
    assert (await hub.receive())["arguments"][0]["status"] == "Accepted"

    assert await hub.invoke("2", "UnsubscribeFromOrder", str(order.pk)) == {
        "type": 3,
        "invocationId": "2",
        "result": None,
    }
    await db(factories.start_preparing)(order.pk, staff_user)
    assert await hub.communicator.receive_nothing(timeout=0.5)
    await hub.communicator.disconnect()


def test_page_size_beyond_the_limit_still_answers_a_page(customer, menu):
    """000, "Recent Orders (History)": `pageSize` (integer, optional, default: 10). A larger
    size than we serve (over 100) is a page of at most 100, not an error."""
    for _ in range(3):
        place_order(customer, menu["pizza"])
    client = client_for(customer)

    big = client.get("/api/v1/orders/my", {"pageNumber": 1, "pageSize": 1000})

    assert big.status_code == 200, big.content
    body = big.json()
    assert (len(body["items"]), body["totalCount"], body["totalPages"], body["pageNumber"]) == (3, 3, 1, 1)
    assert body["items"] == client.get("/api/v1/orders/my", {"pageSize": 100}).json()["items"]


# ---------------------------------------------------------------- 002, three-status


def test_date_to_and_several_statuses_filter_the_list(customer, staff_user, menu):
    """002, "Available filters": `date_to` (date-time) "Orders created on or before this time";
    `fulfillment_status` (e.g. `PREPARING`, `READY_FOR_PICKUP`); "All filters are optional and
    combined with AND logic". Several words, comma-separated, are any of them."""
    old = place_order(customer, menu["pizza"])
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=2))
    preparing = advance(
        place_order(customer, menu["pizza"]),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
        OrderStatus.PREPARING,
    )
    ready = to_ready(place_order(customer, menu["pizza"]), staff_user)
    client = client_for(customer)

    def ids(**params):
        response = client.get("/v1/online-ordering/orders", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["data"]}

    assert ids(date_to=(timezone.now() - timedelta(days=1)).isoformat()) == {str(old.pk)}
    assert ids(fulfillment_status="PREPARING,READY_FOR_PICKUP") == {str(preparing.pk), str(ready.pk)}
    assert ids(fulfillment_status="PREPARING,READY_FOR_PICKUP", date_to=timezone.now().isoformat()) == {
        str(preparing.pk),
        str(ready.pk),
    }


# ---------------------------------------------------------------- 004, mobile orders


def test_filter_delivery_type_and_inactive_orders(customer, staff_user, menu):
    """004, "1. Get Orders List", "Query Parameters": `filter[delivery_type]=delivery` filters by
    delivery type; `filter[is_active]` (boolean) by active status, so `0` lists the ended ones."""
    delivery = place_order(customer, menu["pizza"])
    pickup = place_order(customer, menu["pizza"], delivery_type="pickup")
    ended = place_order(customer, menu["pizza"])
    factories.cancel(ended.pk, staff_user)
    client = client_for(customer)

    def rows(query):
        response = client.get(f"/mobile/api/orders?{query}")
        assert response.status_code == 200, response.content
        return response.json()["data"]["data"]

    assert sorted(row["delivery_type"] for row in rows("filter[delivery_type]=delivery")) == ["delivery", "delivery"]
    assert [row["delivery_type"] for row in rows("filter[delivery_type]=pickup")] == ["pickup"]
    inactive = rows("filter[is_active]=0")
    assert [(row["is_active"], row["order_status"]) for row in inactive] == [(False, "canceled")]
    active = rows("filter[is_active]=1")
    assert {row["is_active"] for row in active} == {True} and len(active) == 2
    assert {delivery.pk, pickup.pk, ended.pk} == set(Order.objects.values_list("pk", flat=True))


def test_include_user_adds_the_user_to_each_row(customer, menu):
    """004, "Available Includes": `user` - User information."""
    place_order(customer, menu["pizza"])
    client = client_for(customer)

    plain = client.get("/mobile/api/orders").json()["data"]["data"][0]
    with_user = client.get("/mobile/api/orders?include=user").json()["data"]["data"][0]

    assert "user" not in plain
    assert with_user["user"]["name"] == (customer.get_full_name() or customer.username)
    assert with_user["user"]["email"] == customer.email


@pytest.mark.parametrize("event_type", ["payment.paid", "checkout_session.payment.paid"])
def test_the_providers_paid_events_move_the_order_to_processing(customer, menu, event_type):
    """004, "Payment Webhook Flow": "Paymongo Sends Webhook to /api/paymongo/webhook" and
    "Order Created (placed) -> User Pays -> Webhook -> Order Updated (processing)"; a checkout
    session's payment is announced as `checkout_session.payment.paid`."""
    order = place_order(customer, menu["pizza"], payment_method="online")
    body = paymongo_event(order, event_type=event_type, event_id=f"evt_{event_type}")

    response = APIClient().post(
        "/api/paymongo/webhook", body, content_type="application/json", HTTP_PAYMONGO_SIGNATURE=signed(body)
    )

    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAYMENT_SUCCESS
    shown = client_for(customer).get(f"/api/mobile/orders/{reference_id(order.number)}").json()["data"]
    assert shown["order_status"] == "processing"


def test_a_failed_payment_event_fails_the_order(customer, menu):
    """004, "Payment Webhook Flow": the webhook reports the payment's outcome; `payment.failed`
    leaves the order unpaid and failed, never `processing`."""
    order = place_order(customer, menu["pizza"], payment_method="online")
    payload = json.loads(paymongo_event(order, event_type="payment.failed", event_id="evt_failed"))
    payload["data"]["attributes"]["data"]["attributes"]["status"] = "failed"
    body = json.dumps(payload).encode()

    response = APIClient().post(
        "/api/paymongo/webhook", body, content_type="application/json", HTTP_PAYMONGO_SIGNATURE=signed(body)
    )

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.PAYMENT_FAILED, "FAILED")


# ---------------------------------------------------------------- 001, order process


def test_nobody_cancels_after_pickup(customer, staff_user, courier_user, menu):
    """001, "Order Cancellation": the customer "Cannot cancel if order is being prepared or
    delivered"; the restaurant "Can cancel if order not yet picked up". After pickup both are
    refused the way "Handle 400: Invalid status transition" says."""
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(order, courier_user)
    factories.pick_up(order.pk, courier_user)

    by_customer = client_for(customer).post(f"/api/orders/{order.pk}/cancel/", {"reason": "late"}, format="json")
    by_kitchen = client_for(staff_user).post(
        f"/api/restaurants/orders/{order.pk}/cancel/", {"reason": "Burnt"}, format="json"
    )

    for refused in (by_customer, by_kitchen):
        assert refused.status_code == 400, refused.content
        assert (refused.json()["code"], refused.json()["current_status"]) == ("invalid_transition", "ORDER_PICKED_UP")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PICKED_UP
