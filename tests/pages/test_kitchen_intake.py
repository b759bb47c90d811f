"""The kitchen board's intake controls, in Chromium against a daphne process: pausing with an end
time, busy +15, the slots' load, and an order for later that reaches the board's New column
when its release comes (a short clock: the release is seconds after placing)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from orders.services.deadlines import orders_sweep_overdue
from restaurants.models import KitchenStatus, Restaurant
from restaurants.services import restaurant_status_set, restaurants_status_expire
from tests.orders.test_kitchen_races import order_for_later
from tests.pages.conftest import DESKTOP
from tests.pages.test_kitchen_display import open_board

pytestmark = [
    pytest.mark.integration,
    pytest.mark.live_server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("offers_dispatch"),
]

RELEASE_WAIT_SECONDS = 30


def test_pause_with_an_end_time_then_busy_plus_15_and_back_live(server, tabs, restaurant, staff_user, admin_user):
    board = open_board(tabs, server, staff_user, restaurant, DESKTOP)
    status = board.page.locator("#kitchen-status")
    expect(status).to_have_attribute("data-status", "open")

    board.page.select_option("#status-for", "15")
    board.page.click('#kitchen-control button[data-set="paused"]')
    expect(status).to_have_attribute("data-status", "paused")
    expect(status).to_contain_text("Paused until")
    restaurant.refresh_from_db()
    assert restaurant.kitchen_status == KitchenStatus.PAUSED
    left = restaurant.kitchen_status_until - timezone.now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)

    board.page.select_option("#status-for", "")
    board.page.click('#kitchen-control button[data-set="busy"][data-minutes="15"]')
    expect(status).to_have_attribute("data-status", "busy")
    expect(status).to_contain_text("+15 min")
    restaurant.refresh_from_db()
    assert (restaurant.kitchen_status, restaurant.busy_minutes, restaurant.kitchen_status_until) == ("busy", 15, None)

    # Someone else (the admin, another screen) pauses it briefly: the board hears it live, and
    # the beat task's expiry opens it again on the board by itself.
    restaurant_status_set(
        user=admin_user,
        restaurant_id=restaurant.pk,
        status=KitchenStatus.PAUSED,
        until=timezone.now() + timedelta(seconds=2),
    )
    expect(status).to_have_attribute("data-status", "paused")
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while restaurants_status_expire() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    expect(status).to_have_attribute("data-status", "open")
    assert board.errors == []


def test_an_order_for_later_waits_in_scheduled_and_reaches_new_at_its_release(
    server, tabs, customer, restaurant, menu, staff_user
):
    Restaurant.objects.filter(pk=restaurant.pk).update(slot_capacity=4)
    # Released a few seconds after placing: its preparation time before the time asked for.
    fulfill_at = timezone.now() + timedelta(minutes=restaurant.average_prep_minutes, seconds=4)
    order = order_for_later(customer, menu["salad"], fulfill_at=fulfill_at)
    board = open_board(tabs, server, staff_user, restaurant, DESKTOP)
    scheduled = board.page.locator(f'[data-column="scheduled"] #order-{order.pk}')
    expect(scheduled).to_be_visible()
    expect(scheduled.locator(".scheduled-for")).to_contain_text("to the kitchen at")
    expect(scheduled.locator(".card-actions")).not_to_contain_text("Confirm")
    expect(board.page.locator("#slots .slot").first).to_be_visible()
    expect(board.page.locator('#slots .slot[data-load="1"]')).to_have_count(1)

    # The beat's sweep, as often as it runs, releases it once its time has come.
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while orders_sweep_overdue().enforced == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    fresh = board.page.locator(f'[data-column="new"] #order-{order.pk}')
    expect(fresh).to_be_visible()
    expect(fresh.locator(".card-actions")).to_contain_text("Confirm")
    assert Order.objects.get(pk=order.pk).released_at is not None
    assert board.errors == []
