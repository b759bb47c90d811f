"""Placing an order: prices from the menu, snapshots, the first event, and every bad input refused."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from core.errors import ValidationFailed
from orders.models import (
    DeadlineKind,
    Order,
    OrderItem,
    OrderItemCustomization,
    OrderStatus,
    PaymentStatus,
    TrackingEvent,
)
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from payments.models import Payment, PaymentRecordStatus
from tests.factories import CustomizationChoiceFactory, CustomizationGroupFactory, MenuItemFactory, RestaurantFactory

pytestmark = pytest.mark.django_db

ADDRESS = DeliveryAddress(
    street=" 500 Howard Street ",
    city="San Francisco",
    latitude=Decimal("37.787"),
    longitude=Decimal("-122.396"),
    postal_code="94105",
)


def place(customer, restaurant, lines, **overrides):
    kwargs = {
        "customer": customer,
        "restaurant_id": restaurant.pk,
        "lines": lines,
        "delivery_type": "delivery",
        "payment_method": "online",
        "address": ADDRESS,
    }
    kwargs.update(overrides)
    return order_place(**kwargs)


def pizza_line(menu, *choices, quantity=1, **fields):
    return OrderLine(
        menu_item_id=menu["pizza"].pk, quantity=quantity, choice_ids=[menu[name].pk for name in choices], **fields
    )


# ---------------------------------------------------------------- what a good order looks like


@pytest.mark.parametrize(
    ("delivery_type", "delivery_fee", "total"),
    # subtotal 2 x (12.00 + 3.00 + 1.25) + 9.00 = 41.50; tax 41.50 x 8.25% = 3.42375 -> 3.42; tip 5.00
    [("delivery", "2.99", "52.91"), ("pickup", "0.00", "49.92")],
)
def test_totals_come_from_the_menu(customer, restaurant, menu, delivery_type, delivery_fee, total):
    lines = [
        pizza_line(menu, "large", "olives", quantity=2),
        OrderLine(menu_item_id=menu["salad"].pk, quantity=1),
    ]
    order = place(customer, restaurant, lines, delivery_type=delivery_type, tip=Decimal("5.00"))
    order.refresh_from_db()
    assert (order.subtotal, order.discount, order.delivery_fee, order.tax, order.tip, order.total) == (
        Decimal("41.50"),
        Decimal("0.00"),
        Decimal(delivery_fee),
        Decimal("3.42"),
        Decimal("5.00"),
        Decimal(total),
    )
    assert order.currency == "USD"


def test_tax_is_rounded_half_up_to_the_cent(customer):
    restaurant = RestaurantFactory(tax_rate=Decimal("0.0825"), delivery_fee=Decimal("0.00"))
    ten = MenuItemFactory(restaurant=restaurant, price="10.00")
    order = place(customer, restaurant, [OrderLine(menu_item_id=ten.pk, quantity=1)], delivery_type="pickup")
    # 10.00 x 8.25% = 0.825
    assert order.tax == Decimal("0.83")
    assert order.total == Decimal("10.83")


def test_the_order_keeps_snapshots_of_what_was_ordered(customer, restaurant, menu):
    order = place(customer, restaurant, [pizza_line(menu, "small", "olives", "basil", quantity=3, notes=" no crust ")])
    item = OrderItem.objects.get(order=order)
    assert (item.menu_item, item.name, item.unit_price, item.quantity, item.line_total, item.notes) == (
        menu["pizza"],
        "Margherita",
        Decimal("14.00"),
        3,
        Decimal("42.00"),
        "no crust",
    )
    assert {(c.choice, c.group_name, c.choice_name, c.price_adjustment) for c in item.customizations.all()} == {
        (menu["small"], "Size", "Small", Decimal("0.00")),
        (menu["olives"], "Toppings", "Olives", Decimal("1.25")),
        (menu["basil"], "Toppings", "Basil", Decimal("0.75")),
    }
    order.refresh_from_db()
    assert (order.delivery_street, order.delivery_city, order.delivery_postal_code) == (
        "500 Howard Street",
        "San Francisco",
        "94105",
    )
    assert (order.delivery_latitude, order.delivery_longitude) == (Decimal("37.787000"), Decimal("-122.396000"))


def test_changing_the_menu_afterwards_does_not_change_the_order(customer, restaurant, menu):
    order = place(customer, restaurant, [pizza_line(menu, "large", quantity=2)])
    menu["pizza"].price = Decimal("99.00")
    menu["pizza"].name = "Margherita Deluxe"
    menu["pizza"].save()
    menu["large"].price_adjustment = Decimal("10.00")
    menu["large"].name = "Huge"
    menu["large"].save()
    restaurant.tax_rate = Decimal("0.5")
    restaurant.save()

    order.refresh_from_db()
    item = order.items.get()
    customization = item.customizations.get()
    assert (item.name, item.unit_price, item.line_total) == ("Margherita", Decimal("15.00"), Decimal("30.00"))
    assert (customization.choice_name, customization.price_adjustment) == ("Large", Decimal("3.00"))
    assert (order.subtotal, order.tax, order.total) == (Decimal("30.00"), Decimal("2.48"), Decimal("35.47"))


@freeze_time("2026-03-04 12:00:00")
def test_an_online_order_waits_for_its_payment(customer, restaurant, menu):
    order = place(customer, restaurant, [pizza_line(menu, "small")], payment_method="online")
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.payment_method) == ("PAYMENT_PENDING", "PENDING", "online")
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.amount, payment.currency, payment.provider) == (
        PaymentRecordStatus.PENDING,
        order.total,
        "USD",
        settings.ORDERFLOW_PAYMENT_PROVIDER,
    )
    assert order.deadline_kind == DeadlineKind.PAYMENT
    assert order.deadline_at == timezone.now() + timedelta(seconds=settings.ORDERFLOW_PAYMENT_TIMEOUT_SECONDS)


@freeze_time("2026-03-04 12:00:00")
def test_a_cash_order_goes_straight_to_the_restaurant(customer, restaurant, menu):
    order = place(customer, restaurant, [pizza_line(menu, "small")], payment_method="cod")
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.payment_method) == ("ORDER_PLACED", "PENDING", "cod")
    assert not Payment.objects.exists()
    assert order.deadline_kind == DeadlineKind.CONFIRMATION
    assert order.deadline_at == timezone.now() + timedelta(seconds=settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS)


@pytest.mark.parametrize(("payment_method", "status"), [("online", "PAYMENT_PENDING"), ("cod", "ORDER_PLACED")])
def test_placing_writes_the_first_event(customer, restaurant, menu, payment_method, status):
    order = place(customer, restaurant, [pizza_line(menu, "small")], payment_method=payment_method)
    event = TrackingEvent.objects.get(order=order)
    assert (event.sequence, event.event_type, event.from_status, event.to_status) == (1, "order.placed", "", status)
    assert (event.actor_role, event.actor_user) == ("customer", customer)
    assert Order.objects.get(pk=order.pk).sequence == 1


def test_order_numbers_are_readable_and_distinct(customer, restaurant, menu):
    numbers = {place(customer, restaurant, [pizza_line(menu, "small")]).number for _ in range(5)}
    assert len(numbers) == 5
    for number in numbers:
        assert re.fullmatch(r"ORD-\d{8}-[A-Z0-9]{6}", number)
        assert number[4:12] == timezone.now().strftime("%Y%m%d")


def test_a_pickup_order_needs_no_address_and_stores_none(customer, restaurant, menu):
    order = place(customer, restaurant, [pizza_line(menu, "small")], delivery_type="pickup", address=None)
    order.refresh_from_db()
    assert (order.delivery_type, order.delivery_fee, order.delivery_street, order.delivery_latitude) == (
        "pickup",
        Decimal("0.00"),
        "",
        None,
    )


def test_placing_costs_the_same_queries_for_one_line_or_ten(customer, restaurant, menu):
    def queries_for(lines):
        with CaptureQueriesContext(connection) as captured:
            place(customer, restaurant, lines)
        return len(captured.captured_queries)

    other_items = [MenuItemFactory(restaurant=restaurant, name=f"Side {n}") for n in range(9)]
    for item in other_items:
        group = CustomizationGroupFactory(menu_item=item, name="Sauce", min_choices=1, max_choices=2)
        CustomizationChoiceFactory(group=group, name="Ketchup")
        CustomizationChoiceFactory(group=group, name="Mayo")
    ten_lines = [pizza_line(menu, "large", "olives", "basil")] + [
        OrderLine(
            menu_item_id=item.pk,
            quantity=2,
            choice_ids=list(item.customization_groups.get().choices.values_list("pk", flat=True)),
        )
        for item in other_items
    ]

    queries_for([pizza_line(menu, "small")])  # the customer's saved address exists from now on
    one = queries_for([pizza_line(menu, "large", "olives", "basil")])
    ten = queries_for(ten_lines)
    assert OrderItemCustomization.objects.count() == 1 + 3 + 3 + 9 * 2
    assert ten == one


# ---------------------------------------------------------------- bad input
#
# What only the menu can tell is checked by `order_place`; the shape of the request (types,
# ranges, lengths, a delivery order's address) by `OrderPlaceSerializer`, before the service
# runs. Both kinds are refused with the field named, and nothing is written.


def _lines(menu, **line):
    return [OrderLine(**{"menu_item_id": menu["pizza"].pk, "quantity": 1, "choice_ids": [menu["small"].pk], **line})]


def _choice_ids(menu, *names):
    return [menu[name].pk for name in names]


def _unavailable_choice(menu):
    menu["olives"].is_available = False
    menu["olives"].save()
    return {"lines": _lines(menu, choice_ids=_choice_ids(menu, "small", "olives"))}


def _closed_restaurant(menu):
    restaurant = menu["pizza"].restaurant
    restaurant.is_open = False
    restaurant.save()
    return {}


def _another_restaurants_item(menu):
    stranger = MenuItemFactory(restaurant=RestaurantFactory(), name="Nigiri")
    return {"lines": [OrderLine(menu_item_id=stranger.pk, quantity=1)]}


UNKNOWN_ID = uuid.UUID("0b6c7f3e-1111-4a4a-8c8c-123456789abc")

MENU_REFUSALS = {
    "unknown restaurant": (
        lambda m: {"restaurant_id": uuid.UUID("5b0f0a52-47b4-4b43-9a8e-9d7c10c4bb0e")},
        "restaurant",
    ),
    "closed restaurant": (_closed_restaurant, "restaurant"),
    "unknown item": (lambda m: {"lines": _lines(m, menu_item_id=UNKNOWN_ID)}, "items[0].menu_item"),
    "item of another restaurant": (_another_restaurants_item, "items[0].menu_item"),
    "unavailable item": (
        lambda m: {"lines": [OrderLine(menu_item_id=m["sold_out"].pk, quantity=1)]},
        "items[0].menu_item",
    ),
    "choice of another item": (
        lambda m: {"lines": [OrderLine(menu_item_id=m["salad"].pk, quantity=1, choice_ids=[m["olives"].pk])]},
        "items[0].customizations",
    ),
    "unknown choice": (lambda m: {"lines": _lines(m, choice_ids=[m["small"].pk, 987654])}, "items[0].customizations"),
    "unavailable choice": (_unavailable_choice, "items[0].customizations"),
    "duplicate choice": (
        lambda m: {"lines": _lines(m, choice_ids=_choice_ids(m, "small", "olives", "olives"))},
        "items[0].customizations",
    ),
    "too many toppings": (
        lambda m: {"lines": _lines(m, choice_ids=_choice_ids(m, "small", "olives", "basil", "anchovies"))},
        "items[0].customizations",
    ),
    "two sizes": (
        lambda m: {"lines": _lines(m, choice_ids=_choice_ids(m, "small", "large"))},
        "items[0].customizations",
    ),
    "no size": (lambda m: {"lines": _lines(m, choice_ids=_choice_ids(m, "olives"))}, "items[0].customizations"),
    "bad second line": (
        lambda m: {
            "lines": [*_lines(m), OrderLine(menu_item_id=m["salad"].pk, quantity=1, choice_ids=[m["small"].pk])]
        },
        "items[1].customizations",
    ),
}


def _row_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Order, OrderItem, OrderItemCustomization, Payment, TrackingEvent)
    }


@pytest.mark.parametrize(("make_input", "field"), MENU_REFUSALS.values(), ids=MENU_REFUSALS.keys())
def test_what_the_menu_does_not_allow_is_refused_and_nothing_is_written(customer, restaurant, menu, make_input, field):
    place(customer, restaurant, _lines(menu))  # something already there, to show nothing is added
    counts = _row_counts()

    with pytest.raises(ValidationFailed) as caught:
        place(customer, restaurant, **{"lines": _lines(menu), **make_input(menu)})

    assert field in caught.value.errors, caught.value.errors
    assert all(caught.value.errors[field]), "each error says what is wrong"
    assert caught.value.code == "validation_error"
    assert caught.value.extra["errors"] == caught.value.errors
    assert _row_counts() == counts


def _body(menu, **changes):
    body = {
        "restaurant": str(menu["pizza"].restaurant_id),
        "items": [{"menu_item": str(menu["pizza"].pk), "quantity": 1, "customizations": [menu["small"].pk]}],
        "delivery_type": "delivery",
        "payment_method": "online",
        "delivery_address": {"street": "1 Main", "city": "SF", "latitude": 37, "longitude": -122},
    }
    body.update(changes)
    return body


def _item(menu, **changes):
    return [{"menu_item": str(menu["pizza"].pk), "quantity": 1, "customizations": [menu["small"].pk], **changes}]


def _address(**changes):
    return {"street": "1 Main", "city": "SF", "latitude": 37, "longitude": -122, **changes}


SHAPE_REFUSALS = {
    "restaurant id not a uuid": (lambda m: {"restaurant": "pizza-palace"}, "restaurant"),
    "restaurant id missing": (lambda m: {"restaurant": None}, "restaurant"),
    "no items": (lambda m: {"items": []}, "items"),
    "items not a list": (lambda m: {"items": "pizza"}, "items"),
    "too many lines": (lambda m: {"items": _item(m) * (settings.ORDERFLOW_MAX_ORDER_LINES + 1)}, "items"),
    "quantity 0": (lambda m: {"items": _item(m, quantity=0)}, "items[0].quantity"),
    "negative quantity": (lambda m: {"items": _item(m, quantity=-2)}, "items[0].quantity"),
    "huge quantity": (
        lambda m: {"items": _item(m, quantity=settings.ORDERFLOW_MAX_ITEM_QUANTITY + 1)},
        "items[0].quantity",
    ),
    "fractional quantity": (lambda m: {"items": _item(m, quantity=1.5)}, "items[0].quantity"),
    "quantity true": (lambda m: {"items": _item(m, quantity=True)}, "items[0].quantity"),
    "item id not a uuid": (lambda m: {"items": _item(m, menu_item="margherita")}, "items[0].menu_item"),
    "choice id not a number": (
        lambda m: {"items": _item(m, customizations=[m["small"].pk, "olives"])},
        "items[0].customizations[1]",
    ),
    "choices not a list": (lambda m: {"items": _item(m, customizations="small")}, "items[0].customizations"),
    "long item notes": (lambda m: {"items": _item(m, notes="x" * 301)}, "items[0].notes"),
    "no address for delivery": (lambda m: {"delivery_address": None}, "delivery_address"),
    "blank street": (lambda m: {"delivery_address": _address(street=" ")}, "delivery_address.street"),
    "blank city": (lambda m: {"delivery_address": _address(city="")}, "delivery_address.city"),
    "latitude above 90": (lambda m: {"delivery_address": _address(latitude="90.5")}, "delivery_address.latitude"),
    "latitude not a number": (
        lambda m: {"delivery_address": _address(latitude="north")},
        "delivery_address.latitude",
    ),
    "latitude missing": (lambda m: {"delivery_address": _address(latitude=None)}, "delivery_address.latitude"),
    "latitude nan": (lambda m: {"delivery_address": _address(latitude="NaN")}, "delivery_address.latitude"),
    "longitude below -180": (
        lambda m: {"delivery_address": _address(longitude=-180.01)},
        "delivery_address.longitude",
    ),
    "longitude infinite": (
        lambda m: {"delivery_address": _address(longitude="Infinity")},
        "delivery_address.longitude",
    ),
    "negative tip": (lambda m: {"tip": "-1.00"}, "tip"),
    "huge tip": (lambda m: {"tip": "1000.01"}, "tip"),
    "tip with three decimals": (lambda m: {"tip": "1.005"}, "tip"),
    "tip not a number": (lambda m: {"tip": "generous"}, "tip"),
    "tip true": (lambda m: {"tip": True}, "tip"),
    "unknown delivery type": (lambda m: {"delivery_type": "drone"}, "delivery_type"),
    "unknown payment method": (lambda m: {"payment_method": "card"}, "payment_method"),
    "payment method in capitals": (lambda m: {"payment_method": "ONLINE"}, "payment_method"),
    "long notes": (lambda m: {"notes": "x" * 501}, "notes"),
}


def _post(customer, body):
    client = APIClient()
    client.force_authenticate(customer)
    return client.post("/api/orders/", body, format="json")


@pytest.mark.parametrize(("make_changes", "field"), SHAPE_REFUSALS.values(), ids=SHAPE_REFUSALS.keys())
def test_a_malformed_request_is_refused_before_the_service_and_nothing_is_written(
    customer, restaurant, menu, make_changes, field
):
    place(customer, restaurant, _lines(menu))
    counts = _row_counts()

    response = _post(customer, _body(menu, **make_changes(menu)))

    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in problem["errors"], problem["errors"]
    assert all(problem["errors"][field]), "each error says what is wrong"
    assert _row_counts() == counts


def test_every_problem_is_reported_at_once(customer, restaurant, menu):
    body = _body(menu, items=_item(menu, quantity=0), tip="-5", payment_method="card", delivery_address=None)

    response = _post(customer, body)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"items[0].quantity", "tip", "payment_method", "delivery_address"}
    assert not Order.objects.exists()


@pytest.mark.parametrize("tip", ["0", 0, None, "1000.00", "2.5", 3])
def test_tips_within_the_limit_are_accepted(customer, restaurant, menu, tip):
    body = _body(menu) if tip is None else _body(menu, tip=tip)
    response = _post(customer, body)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.tip == Decimal(str(tip or 0))
    assert order.status == OrderStatus.PAYMENT_PENDING
    assert Order.objects.get(pk=order.pk).payment_status == PaymentStatus.PENDING
