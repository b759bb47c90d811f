from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from delivery.models import CourierProfile
from orders.models import DeliveryType, Order, OrderItem, OrderStatus, PaymentMethod, PaymentStatus
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
