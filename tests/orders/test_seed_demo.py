from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from delivery.models import CourierProfile
from orders.models import DeliveryType, EventType, Order, OrderStatus, PaymentStatus, RefundStatus, TrackingEvent
from payments.models import Payment, Refund
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant, StaffMembership
from restaurants.services import STAFF_GROUP_NAME

S = OrderStatus
USERNAMES = ["admin", "alice", "carol", "pizza_staff", "sushi_staff", "dave", "erin", "frank"]
SEEDED_MODELS: list[Any] = [
    get_user_model(),
    Restaurant,
    StaffMembership,
    MenuItem,
    CustomizationGroup,
    CustomizationChoice,
    CourierProfile,
    Order,
    TrackingEvent,
    Payment,
    Refund,
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def test_creates_the_demo_accounts_with_the_demo_password(db):
    output = seed()

    for username in USERNAMES:
        assert authenticate(username=username, password=settings.ORDERFLOW_DEMO_PASSWORD) is not None, username
        assert username in output
    assert settings.ORDERFLOW_DEMO_PASSWORD in output
    users = {user.username: user for user in get_user_model().objects.all()}
    assert users["admin"].is_superuser
    for username, restaurant in [("pizza_staff", "Pizza Palace"), ("sushi_staff", "Sushi Bar")]:
        staff = users[username]
        assert staff.is_staff and not staff.is_superuser
        assert list(staff.restaurant_memberships.values_list("restaurant__name", flat=True)) == [restaurant]
        assert staff.groups.filter(name=STAFF_GROUP_NAME).exists()
        assert staff.has_perm("orders.change_order")
    for username in ("dave", "erin", "frank"):
        assert users[username].courier_profile.is_online
        assert users[username].courier_profile.latitude is not None


def test_menus_have_a_required_size_and_optional_priced_toppings(db):
    seed()

    for restaurant in Restaurant.objects.all():
        assert restaurant.currency == "USD"
        assert restaurant.delivery_fee > 0 and restaurant.tax_rate > 0
        groups = CustomizationGroup.objects.filter(menu_item__restaurant=restaurant)
        assert groups.filter(name="Size", min_choices=1, max_choices=1).exists()
        optional = groups.filter(min_choices=0, max_choices__gt=1)
        assert CustomizationChoice.objects.filter(group__in=optional, price_adjustment__gt=0).exists()
    assert sorted(Restaurant.objects.values_list("name", flat=True)) == ["Pizza Palace", "Sushi Bar"]


def test_running_twice_creates_nothing_new(db):
    seed()
    first = counts()

    output = seed()

    assert counts() == first
    assert "none placed" in output


def test_demo_orders_cover_the_lifecycle_with_real_gapless_histories(db):
    seed()

    orders = list(Order.objects.all())
    statuses = {(order.status, order.delivery_type) for order in orders}
    assert {
        (S.ORDER_PLACED, DeliveryType.DELIVERY),
        (S.RESTAURANT_CONFIRMED, DeliveryType.DELIVERY),
        (S.PREPARING, DeliveryType.DELIVERY),
        (S.READY_FOR_PICKUP, DeliveryType.DELIVERY),
        (S.OUT_FOR_DELIVERY, DeliveryType.DELIVERY),
        (S.DELIVERED, DeliveryType.DELIVERY),
        (S.CANCELLED, DeliveryType.DELIVERY),
        (S.READY_FOR_PICKUP, DeliveryType.PICKUP),
    } <= statuses
    for order in orders:
        events = list(order.events.order_by("sequence"))
        assert [event.sequence for event in events] == list(range(1, order.sequence + 1)), order.number
        assert events[0].event_type == EventType.PLACED
        assert events[-1].to_status == order.status
    ready = Order.objects.get(status=S.READY_FOR_PICKUP, delivery_type=DeliveryType.DELIVERY)
    assert ready.courier is not None
    cancelled = Order.objects.get(status=S.CANCELLED)
    assert cancelled.payment_status == PaymentStatus.PAID
    assert cancelled.refund_status == RefundStatus.PENDING
    assert Refund.objects.filter(order=cancelled).exists()


def test_staff_see_their_restaurants_demo_orders_in_the_admin(db):
    seed()
    client = Client()
    assert client.login(username="pizza_staff", password=settings.ORDERFLOW_DEMO_PASSWORD)

    response = client.get(reverse("admin:orders_order_changelist"))

    shown = list(response.context["cl"].result_list)
    assert shown and {order.restaurant.name for order in shown} == {"Pizza Palace"}
    assert len(shown) == Order.objects.filter(restaurant__name="Pizza Palace").count()


def test_refuses_to_run_where_demo_data_is_not_allowed(db, settings):
    settings.ORDERFLOW_ALLOW_DEMO_DATA = False

    with pytest.raises(CommandError, match="ORDERFLOW_ALLOW_DEMO_DATA"):
        seed()

    assert get_user_model().objects.count() == 0
    assert Restaurant.objects.count() == 0


def test_reset_replaces_the_demo_orders_with_fresh_ones(db):
    seed()
    before = set(Order.objects.values_list("pk", flat=True))
    # The demo has run for a while: the worker cancelled what nobody confirmed.
    waiting = Order.objects.filter(status=S.ORDER_PLACED)
    Order.objects.filter(pk__in=waiting.values("pk")).update(status=S.CANCELLED)
    out = StringIO()
    call_command("seed_demo", "--reset", stdout=out)
    after = set(Order.objects.values_list("pk", flat=True))
    assert len(after) == len(before) and not after & before
    assert Order.objects.filter(status=S.ORDER_PLACED).exists()
    assert "Deleted" in out.getvalue() and "Placed" in out.getvalue()
    assert Refund.objects.filter(order__pk__in=before).count() == 0
