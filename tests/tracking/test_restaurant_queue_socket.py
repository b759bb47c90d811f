"""The kitchen's queue socket (ws/restaurants/<id>/orders/): its own orders only, for its staff
and platform admins."""

import pytest
from channels.db import database_sync_to_async

from core.actors import Actor
from orders.services.transitions import order_transition
from tests import factories
from tests.factories import OrderFactory
from tests.tracking.conftest import close_code, open_socket, receive, receive_all, run_async, specific_type

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@run_async
async def test_the_kitchen_queue_gets_new_orders_and_every_change_of_its_own_only(
    restaurant, other_restaurant, menu, customer, staff_user, placed
):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    snapshot = await receive(queue)
    assert (snapshot["type"], [o["order_id"] for o in snapshot["orders"]]) == ("snapshot", [str(placed.pk)])
    elsewhere = await db(OrderFactory)(restaurant=other_restaurant)
    await db(order_transition)(order_id=elsewhere.pk, target="CANCELLED", actor=Actor.system())
    new = await db(factories.place_order)(customer, menu["salad"])
    await db(factories.confirm)(placed.pk, staff_user)
    messages = await receive_all(queue)
    assert [(m["order_id"], specific_type(m)) for m in messages] == [
        (str(new.pk), "order.placed"),
        (str(placed.pk), "order.status_changed"),
    ]
    await queue.disconnect()


@pytest.mark.parametrize(("who", "code"), [("other_staff_user", 4404), ("customer", 4404), ("courier_user", 4404)])
@run_async
async def test_the_kitchen_queue_is_only_for_its_staff(who, code, restaurant, request):
    communicator = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", await db(request.getfixturevalue)(who))
    assert await close_code(communicator) == code


@run_async
async def test_the_kitchen_queue_starts_from_the_same_orders_as_the_rest_queue(
    restaurant, menu, customer, staff_user, placed
):
    await db(factories.place_order)(customer, menu["salad"], payment_method="online")
    ready = await db(factories.place_order)(customer, menu["salad"])
    for step in (factories.confirm, factories.start_preparing, factories.mark_ready):
        await db(step)(ready.pk, staff_user)
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    snapshot = await receive(queue)
    # The unpaid online order is not the kitchen's yet.
    assert [(o["order_id"], o["status"]) for o in snapshot["orders"]] == [
        (str(placed.pk), "ORDER_PLACED"),
        (str(ready.pk), "READY_FOR_PICKUP"),
    ]
    await queue.disconnect()


@run_async
async def test_a_platform_admin_may_watch_any_kitchen_queue(restaurant, admin_user, placed):
    queue = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", admin_user)
    assert [o["order_id"] for o in (await receive(queue))["orders"]] == [str(placed.pk)]
    await queue.disconnect()
