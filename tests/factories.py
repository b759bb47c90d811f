"""The one place tests build actors, menus and orders.

Model factories put rows straight into any state; the functions below them place and move orders
through the real services, as a customer, the kitchen and a courier would.
"""

from collections.abc import Iterable
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.actors import Actor
from delivery.handoff import otp_code
from delivery.models import CourierProfile, HandoffCode
from delivery.services import order_assign_courier
from orders.models import (
    DeliveryType,
    HandoffPurpose,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_transition
from payments.services import payment_record_result
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant, StaffMembership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("pass-12345")


class RestaurantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restaurant

    name = factory.Sequence(lambda n: f"Restaurant {n}")
    address = "1 Market Street"
    latitude = Decimal("37.774900")
    longitude = Decimal("-122.419400")
    currency = "USD"
    delivery_fee = Decimal("2.99")
    tax_rate = Decimal("0.0825")
    average_prep_minutes = 20


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory, is_staff=True)
    restaurant = factory.SubFactory(RestaurantFactory)


class CourierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourierProfile

    user = factory.SubFactory(UserFactory)
    is_online = True
    latitude = Decimal("37.776000")
    longitude = Decimal("-122.417000")
    location_updated_at = factory.LazyFunction(timezone.now)


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuItem

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Dish {n}")
    price = Decimal("12.00")


class CustomizationGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomizationGroup

    menu_item = factory.SubFactory(MenuItemFactory)
    name = "Size"
    min_choices = 0
    max_choices = 1


class CustomizationChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomizationChoice

    group = factory.SubFactory(CustomizationGroupFactory)
    name = factory.Sequence(lambda n: f"Choice {n}")
    price_adjustment = Decimal("1.50")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order put straight into any state, for tests that start mid-lifecycle."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"ORD-20260101-T{n:05d}")
    customer = factory.SubFactory(UserFactory)
    restaurant = factory.SubFactory(RestaurantFactory)
    status = OrderStatus.ORDER_PLACED
    payment_method = PaymentMethod.COD
    payment_status = PaymentStatus.PENDING
    delivery_type = DeliveryType.DELIVERY
    currency = "USD"
    subtotal = Decimal("24.00")
    total = Decimal("26.99")
    delivery_fee = Decimal("2.99")
    delivery_street = "500 Howard Street"
    delivery_city = "San Francisco"
    delivery_latitude = Decimal("37.787000")
    delivery_longitude = Decimal("-122.396000")
    placed_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    name = "Dish"
    unit_price = Decimal("12.00")
    quantity = 2
    line_total = Decimal("24.00")


# ---------------------------------------------------------------- orders through the real services

ADDRESS = DeliveryAddress(
    street="500 Howard Street",
    city="San Francisco",
    state="CA",
    postal_code="94105",
    country="USA",
    latitude=Decimal("37.787"),
    longitude=Decimal("-122.396"),
)


def place_order(
    customer,
    item: MenuItem,
    *,
    quantity: int = 1,
    choices: Iterable[CustomizationChoice] | None = None,
    delivery_type: str = "delivery",
    payment_method: str = "cod",
    paid: bool = False,
    address: DeliveryAddress = ADDRESS,
) -> Order:
    """`customer` orders `quantity` of `item` at its restaurant through checkout; `paid` also
    records the provider's successful charge (online payment).

    Without `choices`, the item comes with the least its menu requires: the first choices of each
    group that needs some (a small margherita from the `menu` fixture).
    """
    if choices is None:
        choices = [
            choice
            for group in item.customization_groups.filter(min_choices__gt=0)
            for choice in group.choices.order_by("pk")[: group.min_choices]
        ]
    order = order_place(
        customer=customer,
        restaurant_id=item.restaurant_id,
        lines=[OrderLine(menu_item_id=item.pk, quantity=quantity, choice_ids=[choice.pk for choice in choices])],
        delivery_type=delivery_type,
        payment_method="online" if paid else payment_method,
        address=address if delivery_type == "delivery" else None,
    )
    return pay(order) if paid else order


def pay(order: Order) -> Order:
    return payment_record_result(order_id=order.pk, succeeded=True, provider_reference=f"sim_ch_{order.pk.hex}")


def move(order: Order, *targets: str, actor: Actor, **kwargs) -> Order:
    for target in targets:
        order = order_transition(order_id=order.pk, target=target, actor=actor, **kwargs).order
    return order


def advance(order: Order, staff, *targets: str) -> Order:
    return move(order, *targets, actor=Actor.restaurant(staff))


def to_ready(order: Order, staff) -> Order:
    return advance(order, staff, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)


def handoff_code(order_id, purpose: HandoffPurpose) -> str:
    return otp_code(HandoffCode.objects.get(order_id=order_id, purpose=purpose))


def assign(order: Order, courier) -> Order:
    return order_assign_courier(order_id=order.pk, courier=courier, actor=Actor.courier(courier))


def to_out_for_delivery(order: Order, courier) -> Order:
    """A ready order claimed by `courier`, picked up with the kitchen's code and on the road."""
    assign(order, courier)
    pick_up(order.pk, courier)
    return start_delivery(order.pk, courier).order


# One step of the lifecycle each, by order id, as the live-update tests take them.


def confirm(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff))


def start_preparing(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.PREPARING, actor=Actor.restaurant(staff))


def mark_ready(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.READY_FOR_PICKUP, actor=Actor.restaurant(staff))


def claim(order_id, courier):
    return order_assign_courier(order_id=order_id, courier=courier, actor=Actor.courier(courier))


def pick_up(order_id, courier):
    return order_transition(
        order_id=order_id,
        target=OrderStatus.ORDER_PICKED_UP,
        actor=Actor.courier(courier),
        otp=handoff_code(order_id, HandoffPurpose.PICKUP),
    )


def start_delivery(order_id, courier):
    return order_transition(order_id=order_id, target=OrderStatus.OUT_FOR_DELIVERY, actor=Actor.courier(courier))


def complete_delivery(order_id, courier):
    return order_transition(
        order_id=order_id,
        target=OrderStatus.DELIVERED,
        actor=Actor.courier(courier),
        otp=handoff_code(order_id, HandoffPurpose.DELIVERY),
    )


def on_the_road(order_id, staff, courier):
    """A just placed order confirmed, claimed by `courier` (couriers claim by offers), prepared,
    picked up and on its way."""
    confirm(order_id, staff)
    claim(order_id, courier)
    start_preparing(order_id, staff)
    mark_ready(order_id, staff)
    pick_up(order_id, courier)
    return start_delivery(order_id, courier)


def cancel(order_id, staff, reason="Out of dough"):
    return order_transition(
        order_id=order_id, target=OrderStatus.CANCELLED, actor=Actor.restaurant(staff), reason=reason
    )
