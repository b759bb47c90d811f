import pytest
from channels_redis.core import RedisChannelLayer
from django.db import transaction

from config.settings.services import redis_channel_layer
from orders.models import DeliveryType, OrderStatus
from orders.visibility import order_is_claimable, orders_available_to_couriers
from tests import factories
from tests.factories import OrderFactory
from tracking.broadcast import event_messages
from tracking.groups import AVAILABLE_ORDERS_GROUP

pytestmark = pytest.mark.django_db


def test_a_channel_layer_that_is_down_does_not_undo_the_transition(
    placed, staff_user, settings, caplog, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]},
        }
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = factories.confirm(placed.pk, staff_user)
    assert callbacks, "the broadcast runs after commit"
    assert result.order.status == OrderStatus.RESTAURANT_CONFIRMED
    placed.refresh_from_db()
    assert (placed.status, placed.sequence) == (OrderStatus.RESTAURANT_CONFIRMED, 2)
    assert f"broadcast of 1 events of 1 orders failed for order.{placed.pk}" in caplog.text
    assert "clients recover it by sequence" in caplog.text


def test_the_redis_layer_waits_for_its_blocking_receive_instead_of_timing_out():
    layer = RedisChannelLayer(**redis_channel_layer("redis://127.0.0.1:6379/0")["CONFIG"])
    assert layer.hosts[0]["socket_timeout"] > layer.brpop_timeout


def test_a_rolled_back_transition_broadcasts_nothing(placed, staff_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 -- the raise is what rolls the transaction back
            factories.confirm(placed.pk, staff_user)
            raise RuntimeError
    assert callbacks == []


SENT: list[tuple[int, list[tuple[str, str]]]] = []


def record(events):
    """An effect that keeps where each committed event would be sent, when it is relayed."""
    SENT.extend(
        (event.sequence, [(group, message["type"]) for group, message in event_messages(event)]) for event in events
    )


@pytest.fixture
def sent(order_event_effects):
    order_event_effects([record])
    SENT.clear()
    return SENT


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a step and its after-commit work, as a request would."""

    def run(step, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return step(*args, **kwargs)

    return run


def test_each_event_goes_to_the_order_the_restaurant_the_courier_and_the_offers(
    sent, commit, placed, staff_user, courier_user, restaurant
):
    order, rest, courier = f"order.{placed.pk}", f"restaurant.{restaurant.pk}", f"courier.{courier_user.pk}"
    commit(factories.confirm, placed.pk, staff_user)
    commit(factories.claim, placed.pk, courier_user)
    commit(factories.start_preparing, placed.pk, staff_user)
    assert sent == [
        (2, [(order, "order.event"), (rest, "order.event"), (AVAILABLE_ORDERS_GROUP, "order.available")]),
        (
            3,
            [
                (order, "order.event"),
                (rest, "order.event"),
                (courier, "order.event"),
                (AVAILABLE_ORDERS_GROUP, "order.unavailable"),
            ],
        ),
        (4, [(order, "order.event"), (rest, "order.event"), (courier, "order.event")]),
    ]


def test_placing_goes_to_the_order_and_the_restaurant_only(sent, commit, customer, restaurant, menu):
    order = commit(factories.place_order, customer, menu["salad"])
    assert sent == [(1, [(f"order.{order.pk}", "order.event"), (f"restaurant.{restaurant.pk}", "order.event")])]


def test_cancelling_an_offered_order_withdraws_the_offer(sent, commit, placed, staff_user):
    commit(factories.confirm, placed.pk, staff_user)
    commit(factories.cancel, placed.pk, staff_user)
    assert sent[-1][0] == 3 and sent[-1][1][-1] == (AVAILABLE_ORDERS_GROUP, "order.unavailable")


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("delivery_type", list(DeliveryType))
@pytest.mark.parametrize("assigned", [False, True])
def test_offers_follow_the_selector_of_available_orders(status, delivery_type, assigned, courier_user):
    order = OrderFactory(status=status, delivery_type=delivery_type, courier=courier_user if assigned else None)
    expected = orders_available_to_couriers().filter(pk=order.pk).exists()
    assert order_is_claimable(delivery_type=delivery_type, courier_id=order.courier_id, status=status) is expected
