"""A transition's events leave only after its transaction commits, in order; a rolled-back or
refused one publishes nothing."""

import pytest
from django.db import transaction

from core.errors import InvalidTransition
from orders.models import TrackingEvent
from orders.services.transitions import order_cancel, order_transition
from payments.models import Refund
from tests.orders.conftest import HISTORY_LENGTH, order_row

PUBLISHED: list[tuple[str, int, str]] = []


def record_published(events):
    PUBLISHED.extend((str(event.order_id), event.sequence, event.event_type) for event in events)


@pytest.fixture
def published(order_event_effects):
    PUBLISHED.clear()
    order_event_effects([record_published])
    yield PUBLISHED
    PUBLISHED.clear()


@pytest.mark.django_db
def test_events_are_published_only_after_commit(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("ORDER_PLACED")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_transition(order_id=order.pk, target="RESTAURANT_CONFIRMED", actor=actors["restaurant"])
        assert published == []
    assert published == []
    for callback in callbacks:
        callback()
    assert published == [(str(order.pk), HISTORY_LENGTH + 1, "order.status_changed")]


@pytest.mark.django_db
def test_a_cancellation_with_refund_publishes_both_events_in_order(
    make_order, actors, published, django_capture_on_commit_callbacks
):
    order = make_order("PAYMENT_SUCCESS")
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, actor=actors["customer"])
    # The refund opened by the cancellation is then processed (tasks run inline in tests),
    # which publishes its own events after these two.
    assert published[:2] == [
        (str(order.pk), HISTORY_LENGTH + 1, "order.cancelled"),
        (str(order.pk), HISTORY_LENGTH + 2, "order.refund_updated"),
    ]
    assert [sequence for _, sequence, _ in published] == list(
        range(HISTORY_LENGTH + 1, HISTORY_LENGTH + 1 + len(published))
    )


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_transition_publishes_nothing(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("PAYMENT_SUCCESS")
    before = order_row(order)
    # The block raises on purpose after the call, to roll it back.
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():  # noqa: PT012
        order_cancel(order_id=order.pk, actor=actors["customer"])
        raise Boom
    assert callbacks == []
    assert published == []
    assert order_row(order) == before
    assert not TrackingEvent.objects.filter(order=order).exists()
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_a_refused_transition_publishes_nothing(make_order, actors, published, django_capture_on_commit_callbacks):
    order = make_order("PREPARING")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(InvalidTransition):
        order_cancel(order_id=order.pk, actor=actors["customer"])
    assert callbacks == []
    assert published == []
