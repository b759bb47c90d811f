"""Each contract's status words, both ways: the word every canonical state shows (against the
document's own reading, written out here), and the orders each word filters (exactly those
that show it), on the database and through the contracts' list endpoints."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import DeliveryType, Order, OrderStatus
from tests.factories import OrderFactory, UserFactory
from tracking.contracts import customer_tracking, mobile_orders, poll_status, three_status

pytestmark = pytest.mark.django_db

S = OrderStatus
D, P = DeliveryType.DELIVERY, DeliveryType.PICKUP

# (status, delivery type, returned) -> the word each document uses for it.
EXPECTED = {
    "customer_tracking": {
        S.PAYMENT_PENDING: "AwaitingPayment",
        S.PAYMENT_FAILED: "Cancelled",
        S.PAYMENT_SUCCESS: "Placed",
        S.ORDER_PLACED: "Placed",
        S.RESTAURANT_CONFIRMED: "Accepted",
        S.RESTAURANT_REJECTED: "Rejected",
        S.PREPARING: "Preparing",
        S.READY_FOR_PICKUP: "ReadyForDelivery",
        S.ORDER_PICKED_UP: "ReadyForDelivery",
        S.OUT_FOR_DELIVERY: "ReadyForDelivery",
        S.DELIVERED: "Delivered",
        S.COMPLETED: "Delivered",
        S.RETURNED: "Delivered",
        S.CANCELLED: "Cancelled",
        S.REFUND_COMPLETED: "Cancelled",
    },
    "three_status": {
        S.PAYMENT_PENDING: "PENDING",
        S.PAYMENT_FAILED: "FAILED",
        S.PAYMENT_SUCCESS: "CONFIRMED",
        S.ORDER_PLACED: "PENDING",
        S.RESTAURANT_CONFIRMED: "CONFIRMED",
        S.RESTAURANT_REJECTED: "CANCELLED",
        S.PREPARING: "CONFIRMED",
        S.READY_FOR_PICKUP: "CONFIRMED",
        S.ORDER_PICKED_UP: "CONFIRMED",
        S.OUT_FOR_DELIVERY: "CONFIRMED",
        S.DELIVERED: "COMPLETED",
        S.COMPLETED: "COMPLETED",
        S.RETURNED: "COMPLETED",
        S.CANCELLED: "CANCELLED",
        (S.REFUND_COMPLETED, "returned"): "COMPLETED",
        S.REFUND_COMPLETED: "CANCELLED",
    },
    "fulfillment": {
        S.PAYMENT_PENDING: "PENDING",
        S.PAYMENT_FAILED: "CANCELLED",
        S.PAYMENT_SUCCESS: "PENDING",
        S.ORDER_PLACED: "PENDING",
        S.RESTAURANT_CONFIRMED: "IN_PROGRESS",
        S.RESTAURANT_REJECTED: "CANCELLED",
        S.PREPARING: "PREPARING",
        S.READY_FOR_PICKUP: "READY_FOR_PICKUP",
        S.ORDER_PICKED_UP: "READY_FOR_PICKUP",
        S.OUT_FOR_DELIVERY: "READY_FOR_PICKUP",
        (S.DELIVERED, P): "FULFILLED",
        S.DELIVERED: "DELIVERED",
        (S.COMPLETED, P): "FULFILLED",
        S.COMPLETED: "DELIVERED",
        S.RETURNED: "RETURNED",
        S.CANCELLED: "CANCELLED",
        (S.REFUND_COMPLETED, "returned"): "RETURNED",
        S.REFUND_COMPLETED: "CANCELLED",
    },
    "poll_status": {
        S.PAYMENT_PENDING: "placed",
        S.PAYMENT_FAILED: "cancelled",
        S.PAYMENT_SUCCESS: "placed",
        S.ORDER_PLACED: "placed",
        S.RESTAURANT_CONFIRMED: "accepted",
        S.RESTAURANT_REJECTED: "cancelled",
        S.PREPARING: "processing",
        S.READY_FOR_PICKUP: "ready",
        S.ORDER_PICKED_UP: "picked_up",
        S.OUT_FOR_DELIVERY: "picked_up",
        S.DELIVERED: "picked_up",
        S.COMPLETED: "picked_up",
        S.RETURNED: "picked_up",
        S.CANCELLED: "cancelled",
        (S.REFUND_COMPLETED, "returned"): "picked_up",
        S.REFUND_COMPLETED: "cancelled",
    },
    "mobile_orders": {
        S.PAYMENT_PENDING: "placed",
        S.PAYMENT_FAILED: "canceled",
        S.PAYMENT_SUCCESS: "processing",
        S.ORDER_PLACED: "processing",
        S.RESTAURANT_CONFIRMED: "processing",
        S.RESTAURANT_REJECTED: "canceled",
        S.PREPARING: "processing",
        (S.READY_FOR_PICKUP, P): "ready_for_pickup",
        S.READY_FOR_PICKUP: "processing",
        S.ORDER_PICKED_UP: "out_for_delivery",
        S.OUT_FOR_DELIVERY: "out_for_delivery",
        S.DELIVERED: "delivered",
        S.COMPLETED: "completed",
        S.RETURNED: "returned",
        S.CANCELLED: "canceled",
        (S.REFUND_COMPLETED, "returned"): "returned",
        S.REFUND_COMPLETED: "canceled",
    },
}

VOCABULARIES = {
    "customer_tracking": customer_tracking.STATUSES,
    "three_status": three_status.STATUSES,
    "fulfillment": three_status.FULFILLMENT_STATUSES,
    "poll_status": poll_status.STATUSES,
    "mobile_orders": mobile_orders.STATUSES,
}

# The words each document lists (all of them: none may go missing from a vocabulary).
DOCUMENT_WORDS = {
    "customer_tracking": {
        "AwaitingPayment",
        "Placed",
        "Accepted",
        "Preparing",
        "ReadyForDelivery",
        "Delivered",
        "Cancelled",
        "Rejected",
    },
    "three_status": {"PENDING", "CONFIRMED", "COMPLETED", "FAILED", "VOIDED", "CANCELLED"},
    "fulfillment": {
        "PENDING",
        "IN_PROGRESS",
        "PREPARING",
        "READY_FOR_PICKUP",
        "FULFILLED",
        "DELIVERED",
        "RETURNED",
        "CANCELLED",
    },
    "poll_status": {"placed", "accepted", "processing", "ready", "picked_up", "cancelled"},
    "mobile_orders": {
        "placed",
        "paid",
        "processing",
        "out_for_delivery",
        "ready_for_pickup",
        "delivered",
        "completed",
        "canceled",
        "returned",
    },
}

STATES = [(status, kind, returned) for status in S for kind in (D, P) for returned in (False, True)]


def expected_word(table: dict, status, kind, returned) -> str:
    for key in ((status, kind), (status, "returned") if returned else None, status):
        if key in table:
            return table[key]
    raise AssertionError(f"no expectation for {status}")


@pytest.fixture
def every_state():
    """One order in every (status, delivery type, returned or not) state, all one customer's."""
    customer = UserFactory(username="everyone")
    orders = {}
    for status, kind, returned in STATES:
        orders[(status, kind, returned)] = OrderFactory(
            customer=customer,
            status=status,
            delivery_type=kind,
            returned_at=timezone.now() - timedelta(hours=1) if returned else None,
        )
    return customer, orders


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_canonical_state_shows_the_documented_word(name, every_state):
    _, orders = every_state
    vocabulary = VOCABULARIES[name]
    for (status, kind, returned), order in orders.items():
        assert vocabulary.word_for(order) == expected_word(EXPECTED[name], status, kind, returned), (
            status,
            kind,
            returned,
        )


@pytest.mark.parametrize("name", VOCABULARIES)
def test_each_word_filters_exactly_the_orders_that_show_it(name, every_state):
    _, orders = every_state
    vocabulary = VOCABULARIES[name]
    assert set(vocabulary.words) == DOCUMENT_WORDS[name]
    for word in vocabulary.words:
        filtered = set(Order.objects.filter(vocabulary.q_for(word)).values_list("pk", flat=True))
        showing = {order.pk for order in orders.values() if vocabulary.word_for(order) == word}
        assert filtered == showing, word
    assert sum(Order.objects.filter(vocabulary.q_for(word)).count() for word in vocabulary.words) == len(orders)


def test_the_three_status_list_filters_by_both_vocabularies(every_state):
    customer, orders = every_state
    client = APIClient()
    client.force_authenticate(customer)
    for name, field in (("three_status", "status"), ("fulfillment", "fulfillment_status")):
        for word in VOCABULARIES[name].words:
            response = client.get("/v1/online-ordering/orders", {field: word, "limit": 100})
            assert response.status_code == 200, response.content
            listed = response.json()["data"]
            expected = [o for o in orders.values() if VOCABULARIES[name].word_for(o) == word]
            assert {row["id"] for row in listed} == {str(o.pk) for o in expected}, (field, word)
            assert all(row[field] == word for row in listed)


def test_the_mobile_list_filters_by_its_tab_words(every_state):
    customer, orders = every_state
    client = APIClient()
    client.force_authenticate(customer)
    for word in mobile_orders.STATUSES.words:
        seen, page = set(), 1
        while True:
            response = client.get("/mobile/api/orders", {"filter[order_status]": word, "page": page})
            assert response.status_code == 200, response.content
            data = response.json()["data"]
            seen |= {row["order_reference_id"] for row in data["data"]}
            assert all(row["order_status"] == word for row in data["data"])
            if data["meta"]["current_page"] >= data["meta"]["last_page"]:
                break
            page += 1
        expected = {
            mobile_orders.reference_id(o.number) for o in orders.values() if mobile_orders.STATUSES.word_for(o) == word
        }
        assert seen == expected, word


def test_the_customer_tracking_and_poll_status_reads_show_the_word(every_state):
    customer, orders = every_state
    client = APIClient()
    client.force_authenticate(customer)
    for (status, kind, returned), order in list(orders.items())[::3]:
        tracking = client.get(f"/api/v1/orders/{order.pk}/status").json()
        assert tracking["status"] == expected_word(EXPECTED["customer_tracking"], status, kind, returned)
        polled = client.get(f"/api/orders/{order.pk}/poll-status").json()["data"]
        assert polled["orderStatus"] == expected_word(EXPECTED["poll_status"], status, kind, returned)
