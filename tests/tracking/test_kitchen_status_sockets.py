"""A kitchen's status reaches its board's socket and the restaurants' listing socket, live."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from core.timestamps import iso
from restaurants.models import KitchenStatus
from restaurants.services import restaurant_status_set
from tests.tracking.conftest import close_code, open_socket, receive, run_async, socket

pytestmark = pytest.mark.django_db(transaction=True)


@run_async
async def test_pausing_reaches_the_board_and_the_listing(restaurant, staff_user, customer):
    board = await open_socket(f"ws/restaurants/{restaurant.pk}/orders/", staff_user)
    snapshot = await receive(board)
    assert snapshot["kitchen"]["status"] == "open"
    listing = await open_socket("ws/restaurants/", customer)

    until = timezone.now() + timedelta(minutes=20)
    await database_sync_to_async(restaurant_status_set)(
        user=staff_user, restaurant_id=restaurant.pk, status=KitchenStatus.PAUSED, until=until
    )

    for communicator in (board, listing):
        message = await receive(communicator)
        assert message["type"] == "kitchen_status"
        assert (message["restaurant_id"], message["status"]) == (str(restaurant.pk), "paused")
        assert message["until"] == iso(until)  # the one wire format: UTC with a Z
        await communicator.disconnect()


@run_async
async def test_the_listing_socket_needs_a_signed_in_user():
    communicator = socket("ws/restaurants/")
    await communicator.connect()
    assert await close_code(communicator) == 4401
