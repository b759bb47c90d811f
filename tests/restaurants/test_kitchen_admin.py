"""The kitchen's status from the admin: an action calling the same service as the board and the API."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from restaurants.models import KitchenStatus
from restaurants.services import staff_group_ensure

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:restaurants_restaurant_changelist")


@pytest.fixture
def staff_client(client, staff_user):
    staff_user.groups.add(staff_group_ensure())
    client.force_login(staff_user)
    return client


def run(client, action, restaurant, **data):
    body = {"action": action, ACTION_CHECKBOX_NAME: [restaurant.pk], **data}
    return client.post(CHANGELIST, body, follow=True)


def test_staff_pause_their_kitchen_for_half_an_hour_from_the_admin(staff_client, restaurant):
    form = run(staff_client, "kitchen_pause", restaurant)
    assert form.status_code == 200
    assert b"until changed" in form.content  # the intermediate page asks for how long

    run(staff_client, "kitchen_pause", restaurant, apply="Paused", minutes="30")

    restaurant.refresh_from_db()
    assert restaurant.kitchen_status == KitchenStatus.PAUSED
    assert timedelta(minutes=29) < restaurant.kitchen_status_until - timezone.now() <= timedelta(minutes=30)
    listed = staff_client.get(CHANGELIST)
    assert b"paused until" in listed.content


def test_busy_from_the_admin_needs_its_minutes(staff_client, restaurant):
    page = run(staff_client, "kitchen_busy", restaurant, apply="Busy")
    assert b"Busy needs the extra minutes" in page.content
    run(staff_client, "kitchen_busy", restaurant, apply="Busy", busy_minutes="10")
    restaurant.refresh_from_db()
    assert (restaurant.kitchen_status, restaurant.busy_minutes) == (KitchenStatus.BUSY, 10)


def test_staff_cannot_pause_another_restaurant(staff_client, other_restaurant):
    run(staff_client, "kitchen_pause", other_restaurant, apply="Paused")
    other_restaurant.refresh_from_db()
    assert other_restaurant.kitchen_status == KitchenStatus.OPEN
