"""The kitchen's intake under real PostgreSQL row locks: two sweeps racing to release an order
for later release it once; two customers racing for a slot's last place get one place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import SlotFull
from orders.models import EventType, Order, TrackingEvent
from orders.services.deadlines import orders_sweep_overdue
from orders.services.placing import OrderLine, order_place
from orders.services.transitions import order_release
from tests.factories import UserFactory
from tests.orders.test_simultaneous_actions_on_one_order import race

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def order_for_later(customer, item, *, fulfill_at) -> Order:
    """A self-pickup order of one `item`, to be ready at `fulfill_at`."""
    return order_place(
        customer=customer,
        restaurant_id=item.restaurant_id,
        lines=[OrderLine(menu_item_id=item.pk, quantity=1)],
        delivery_type="pickup",
        payment_method="cod",
        fulfill_at=fulfill_at,
    )


def _order_for_later(customer, menu, *, minutes_ahead: int) -> Order:
    return order_for_later(customer, menu["salad"], fulfill_at=timezone.now() + timedelta(minutes=minutes_ahead))


def test_two_sweeps_racing_release_an_order_for_later_once(customer, menu):
    orders = [_order_for_later(customer, menu, minutes_ahead=60) for _ in range(5)]
    due = max(order.release_at for order in orders) + timedelta(seconds=1)

    outcomes = race([lambda: orders_sweep_overdue(now=due), lambda: orders_sweep_overdue(now=due)])

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(report.enforced for _, report in outcomes) == 5
    for order in orders:
        releases = TrackingEvent.objects.filter(order=order, event_type=EventType.RELEASED)
        assert releases.count() == 1
        order.refresh_from_db()
        assert order.released_at is not None


def test_two_direct_releases_racing_write_one_event(customer, menu):
    order = _order_for_later(customer, menu, minutes_ahead=60)
    due = order.release_at + timedelta(seconds=1)

    outcomes = race([lambda: order_release(order_id=order.pk, now=due)] * 2)

    assert sorted(result is None for _, result in outcomes) == [False, True]
    assert TrackingEvent.objects.filter(order=order, event_type=EventType.RELEASED).count() == 1


def test_two_customers_racing_for_the_last_place_in_a_slot(restaurant, menu):
    restaurant.slot_capacity = 1
    restaurant.save()
    customers = [UserFactory(), UserFactory()]
    fulfill_at = timezone.now() + timedelta(hours=2)

    outcomes = race([lambda c=c: order_for_later(c, menu["salad"], fulfill_at=fulfill_at) for c in customers])

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    refused = next(result for kind, result in outcomes if kind == "error")
    assert isinstance(refused, SlotFull)
    assert refused.extra["next_free_slots"]
    assert Order.objects.filter(restaurant=restaurant).count() == 1
