"""The transition table, walked cell by cell against PRODUCT.md's (tests/orders/product_table.py):
every (from, to, role), allowed and refused, and the conditions the product puts on some cells."""

import itertools

import pytest

from core.errors import Forbidden, InvalidTransition, OrderNotFound
from orders.lifecycle import TERMINAL_STATUSES, TRANSITIONS
from orders.models import DeliveryType, Order, TrackingEvent
from orders.services.transitions import order_transition
from tests.orders.conftest import HISTORY_LENGTH, expect_refusal, issue_code, order_row
from tests.orders.product_table import (
    DELIVERY_ORDERS_ONLY,
    EXPECTED_CELLS,
    HANDOFF_CODE,
    PAID_ONLY,
    PICKUP_ORDERS_ONLY,
    REASON_FROM_KITCHEN,
    ROLES,
    STATUSES,
)


def test_the_code_table_is_the_product_table():
    assert {value for value, _ in Order._meta.get_field("status").choices} == set(STATUSES)
    derived = {(rule.source, rule.target, role) for rule in TRANSITIONS for role in rule.roles}
    assert derived == EXPECTED_CELLS


def test_the_code_table_has_the_product_conditions():
    rules = {(rule.source, rule.target): rule for rule in TRANSITIONS}
    assert len(rules) == len(TRANSITIONS), "one rule per (from, to) pair"
    for (source, target), rule in rules.items():
        pair = (source, target)
        expected_type = "pickup" if pair in PICKUP_ORDERS_ONLY else "delivery" if pair in DELIVERY_ORDERS_ONLY else None
        assert rule.delivery_type == expected_type, pair
        assert rule.handoff == HANDOFF_CODE.get(pair), pair
        expected_reason_roles = {"restaurant", "admin"} if target in REASON_FROM_KITCHEN else set()
        assert set(rule.reason_required_for) == expected_reason_roles, pair
        assert rule.requires_paid == (target in PAID_ONLY), pair


def test_terminal_statuses_are_the_dead_ends_of_the_product_table():
    sources = {source for source, _, _ in EXPECTED_CELLS}
    assert set(TERMINAL_STATUSES) == set(STATUSES) - sources == {"PAYMENT_FAILED", "COMPLETED", "REFUND_COMPLETED"}


def _role_may_ever_reach(role, target):
    return any(cell_target == target and cell_role == role for _, cell_target, cell_role in EXPECTED_CELLS)


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), list(itertools.product(STATUSES, STATUSES)), ids=lambda status: status)
def test_every_cell_of_the_table(source, target, make_order, actors):
    pair = (source, target)
    delivery_type = DeliveryType.PICKUP if pair in PICKUP_ORDERS_ONLY else DeliveryType.DELIVERY
    for role in ROLES:
        order = make_order(source, delivery_type=delivery_type)
        otp = issue_code(order, HANDOFF_CODE[pair]) if pair in HANDOFF_CODE else None
        before = order_row(order)

        def attempt():
            return order_transition(
                order_id=order.pk, target=target, actor=actors[role], reason="walking the table", otp=otp
            )

        if (source, target, role) in EXPECTED_CELLS:
            result = attempt()
            order.refresh_from_db()
            assert order.status == target == result.order.status, role
            assert result.previous_status == source
            event = TrackingEvent.objects.get(order=order, sequence=HISTORY_LENGTH + 1)
            assert event == result.event
            assert (event.from_status, event.to_status, event.actor_role) == (source, target, role)
            assert event.actor_user_id == actors[role].user_id
            assert event.reason == "walking the table"
            assert order.sequence == TrackingEvent.objects.filter(order=order).count() + HISTORY_LENGTH
            continue

        if not _role_may_ever_reach(role, target):
            expect_refusal(attempt, Forbidden, "transition_forbidden")
        elif role == "courier" and delivery_type == DeliveryType.PICKUP:
            # A courier never sees a self-pickup order: it does not exist for them.
            expect_refusal(attempt, OrderNotFound, "order_not_found")
        else:
            error = expect_refusal(attempt, InvalidTransition, "invalid_transition")
            assert error.status_code == 400
            assert error.extra["current_status"] == source
        assert order_row(order) == before, role
        assert not TrackingEvent.objects.filter(order=order).exists(), role
