"""One answer to "where may this actor move this order now": detail, refusals and admin agree."""

import pytest

from core.actors import Actor
from core.errors import InvalidTransition
from orders.lifecycle import next_statuses_for
from orders.models import OrderStatus
from orders.services.transitions import order_transition
from tests.api.support import problem
from tests.factories import advance, place_order

pytestmark = pytest.mark.django_db


def test_a_refusal_lists_what_the_detail_offers(kitchen, customer, staff_user, menu):
    order = advance(
        place_order(customer, menu["pizza"], delivery_type="pickup"),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
    )

    offered = kitchen.get(f"/api/orders/{order.pk}/").json()["next_statuses"]
    refusal = problem(
        kitchen.post(f"/api/orders/{order.pk}/status/", {"status_code": "DELIVERED"}, format="json"),
        400,
        "invalid_transition",
    )

    assert refusal["allowed_statuses"] == offered
    assert offered == ["PREPARING", "CANCELLED"]


def test_a_paid_only_change_is_not_offered_for_an_unpaid_order(customer, menu):
    order = place_order(customer, menu["pizza"])
    order = order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=Actor.customer(customer)).order

    with pytest.raises(InvalidTransition) as caught:
        order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=Actor.system())

    assert caught.value.extra["allowed_statuses"] == []
    assert next_statuses_for(order=order, role=Actor.system().role) == []
