"""A courier may claim only an order that is on offer; one already taken looks missing to them."""

import pytest

from core.errors import OrderNotFound
from delivery.services import order_assign_courier
from tests.orders.conftest import expect_refusal, order_row


@pytest.mark.django_db
def test_an_order_taken_before_the_courier_asked_is_missing_to_them(make_order, actors, other_courier_user):
    # Only a claim racing the winner (claimable when it came in) hears `already_assigned`; the
    # race itself is in tests/orders/test_simultaneous_actions_on_one_order.py.
    taken = make_order("PREPARING", courier=other_courier_user)
    expect_refusal(
        lambda: order_assign_courier(order_id=taken.pk, courier=actors["courier"].user, actor=actors["courier"]),
        OrderNotFound,
        "order_not_found",
    )
    assert order_row(taken)["courier_id"] == other_courier_user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "delivery_type"),
    [("ORDER_PICKED_UP", "delivery"), ("PREPARING", "pickup"), ("ORDER_PLACED", "delivery")],
)
def test_a_courier_cannot_claim_an_order_that_is_not_on_offer(
    status, delivery_type, make_order, actors, other_courier_user
):
    order = make_order(
        status, delivery_type=delivery_type, courier=other_courier_user if status == "ORDER_PICKED_UP" else None
    )
    before = order_row(order)
    expect_refusal(
        lambda: order_assign_courier(order_id=order.pk, courier=actors["courier"].user, actor=actors["courier"]),
        OrderNotFound,
        "order_not_found",
    )
    assert order_row(order) == before
