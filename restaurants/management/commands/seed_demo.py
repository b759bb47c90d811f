"""Demo restaurants, accounts and orders, created once; running it again changes nothing.

The demo orders run out of time as real ones would (the worker cancels those nobody confirms or
collects); `--reset` deletes the demo customers' orders and places a fresh set.

The orders go through the same services as the API and the admin (placing, paying,
confirming, courier claims, handoffs with their real codes), so each one has the
history it would have in production.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.actors import Actor
from delivery.handoff import otp_reveal
from delivery.models import CourierProfile
from delivery.services import order_assign_courier
from orders.models import DeliveryType, HandoffPurpose, Order, OrderStatus, PaymentMethod
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_cancel, order_transition
from payments.models import Refund
from payments.services import payment_record_result
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant, StaffMembership, StaffRole
from restaurants.services import staff_group_ensure

S = OrderStatus


@dataclass(frozen=True)
class Account:
    username: str
    first_name: str
    last_name: str
    role: str
    is_staff: bool = False
    is_superuser: bool = False


ACCOUNTS = (
    Account("admin", "Ada", "Admin", "platform superuser: every restaurant's orders", True, True),
    Account("alice", "Alice", "Nguyen", "customer"),
    Account("carol", "Carol", "Okafor", "customer"),
    Account("pizza_staff", "Paolo", "Rossi", "staff of Pizza Palace", is_staff=True),
    Account("sushi_staff", "Sakura", "Tanaka", "staff of Sushi Bar", is_staff=True),
    Account("dave", "Dave", "Miller", "courier"),
    Account("erin", "Erin", "Walsh", "courier"),
    Account("frank", "Frank", "Lopez", "courier"),
)

STAFF = {"pizza_staff": "Pizza Palace", "sushi_staff": "Sushi Bar"}

# Couriers wait near the restaurants, all in San Francisco.
COURIERS = {
    "dave": ("+1 415 555 0101", "37.776100", "-122.417800"),
    "erin": ("+1 415 555 0102", "37.786900", "-122.406200"),
    "frank": ("+1 415 555 0103", "37.781200", "-122.411000"),
}

ADDRESSES = {
    "alice": DeliveryAddress(
        street="2 Embarcadero Center",
        city="San Francisco",
        state="CA",
        postal_code="94111",
        country="US",
        latitude=Decimal("37.795000"),
        longitude=Decimal("-122.398600"),
    ),
    "carol": DeliveryAddress(
        street="700 Valencia Street",
        city="San Francisco",
        state="CA",
        postal_code="94110",
        country="US",
        latitude=Decimal("37.760300"),
        longitude=Decimal("-122.421600"),
    ),
}


@dataclass(frozen=True)
class OptionGroup:
    name: str
    min_choices: int
    max_choices: int
    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Dish:
    name: str
    description: str
    price: str
    groups: tuple[OptionGroup, ...] = ()


@dataclass(frozen=True)
class Menu:
    restaurant: str
    address: str
    latitude: Decimal
    longitude: Decimal
    delivery_fee: str
    tax_rate: str
    average_prep_minutes: int
    dishes: tuple[Dish, ...]


PIZZA_SIZE = OptionGroup("Size", 1, 1, (('Small 10"', "0.00"), ('Medium 12"', "3.00"), ('Large 16"', "6.00")))
PIZZA_TOPPINGS = OptionGroup(
    "Extra toppings",
    0,
    3,
    (
        ("Extra mozzarella", "1.50"),
        ("Mushrooms", "1.25"),
        ("Pepperoni", "2.00"),
        ("Kalamata olives", "1.00"),
        ("Fresh basil", "0.75"),
    ),
)
PIZZA_OPTIONS = (PIZZA_SIZE, PIZZA_TOPPINGS)
ROLL_SIZE = OptionGroup("Size", 1, 1, (("6 pieces", "0.00"), ("8 pieces", "3.00")))
ROLL_EXTRAS = OptionGroup(
    "Extras", 0, 3, (("Avocado", "1.50"), ("Spicy mayo", "0.50"), ("Tobiko", "2.00"), ("Soy paper wrap", "1.00"))
)
ROLL_OPTIONS = (ROLL_SIZE, ROLL_EXTRAS)

MENUS = (
    Menu(
        restaurant="Pizza Palace",
        address="1455 Market Street, San Francisco, CA 94103",
        latitude=Decimal("37.774929"),
        longitude=Decimal("-122.419416"),
        delivery_fee="2.99",
        tax_rate="0.0863",
        average_prep_minutes=20,
        dishes=(
            Dish("Margherita", "San Marzano tomato, fior di latte, basil, olive oil.", "12.50", PIZZA_OPTIONS),
            Dish("Pepperoni", "Tomato, mozzarella, spicy pepperoni.", "14.00", PIZZA_OPTIONS),
            Dish("Quattro Formaggi", "Mozzarella, gorgonzola, fontina, parmigiano.", "15.50", PIZZA_OPTIONS),
            Dish(
                "Caesar Salad",
                "Romaine, parmigiano, croutons, anchovy dressing.",
                "9.00",
                (OptionGroup("Add protein", 0, 1, (("Grilled chicken", "3.50"), ("Shrimp", "4.50"))),),
            ),
            Dish("Garlic Knots", "Six knots with garlic butter and marinara.", "6.00"),
            Dish("Tiramisu", "Mascarpone, espresso, cocoa.", "7.50"),
            Dish("San Pellegrino", "Sparkling water, 500 ml.", "3.00"),
        ),
    ),
    Menu(
        restaurant="Sushi Bar",
        address="345 Stockton Street, San Francisco, CA 94108",
        latitude=Decimal("37.788300"),
        longitude=Decimal("-122.406800"),
        delivery_fee="3.49",
        tax_rate="0.0863",
        average_prep_minutes=15,
        dishes=(
            Dish("California Roll", "Crab, avocado, cucumber, sesame.", "9.00", ROLL_OPTIONS),
            Dish("Spicy Tuna Roll", "Tuna, chili oil, scallion, cucumber.", "11.00", ROLL_OPTIONS),
            Dish("Dragon Roll", "Shrimp tempura, eel, avocado, unagi sauce.", "15.00", ROLL_OPTIONS),
            Dish("Salmon Nigiri", "Two pieces of Atlantic salmon over rice.", "6.50"),
            Dish("Miso Soup", "Tofu, wakame, scallion.", "4.00"),
            Dish("Edamame", "Steamed, with sea salt.", "5.00"),
            Dish("Green Tea Ice Cream", "Two scoops of matcha ice cream.", "5.50"),
        ),
    ),
)


class Command(BaseCommand):
    help = "Create the demo restaurants, accounts (password: settings.ORDERFLOW_DEMO_PASSWORD) and orders, once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo customers' orders (expired or not) and place a fresh set.",
        )

    def handle(self, *args, **options):
        if not settings.ORDERFLOW_ALLOW_DEMO_DATA:
            raise CommandError("Demo data is not allowed with these settings (ORDERFLOW_ALLOW_DEMO_DATA is False).")
        with transaction.atomic():
            staff_group = staff_group_ensure()
            users = {account.username: self._user(account) for account in ACCOUNTS}
            restaurants = {menu.restaurant: self._restaurant(menu) for menu in MENUS}
            for username, restaurant_name in STAFF.items():
                StaffMembership.objects.get_or_create(
                    user=users[username], restaurant=restaurants[restaurant_name], defaults={"role": StaffRole.STAFF}
                )
                users[username].groups.add(staff_group)
            for username, (phone, latitude, longitude) in COURIERS.items():
                CourierProfile.objects.get_or_create(
                    user=users[username],
                    defaults={
                        "phone": phone,
                        "is_online": True,
                        "latitude": Decimal(latitude),
                        "longitude": Decimal(longitude),
                    },
                )
            customers = [users["alice"], users["carol"]]
            if options.get("reset"):
                self._delete_orders(customers)
            if Order.objects.filter(customer__in=customers).exists():
                placed = 0
            else:
                placed = DemoOrders(users, restaurants).place_all()
        self._summary(placed)

    def _delete_orders(self, customers) -> None:
        """Demo data only: the demo customers' orders go, with their history, payments and refunds
        (a refund protects its payment, so refunds go first)."""
        orders = Order.objects.filter(customer__in=customers)
        Refund.objects.filter(order__in=orders).delete()
        deleted = orders.count()
        orders.delete()
        self.stdout.write(f"Deleted {deleted} demo orders.")

    def _user(self, account: Account):
        user, created = get_user_model().objects.get_or_create(
            username=account.username,
            defaults={
                "first_name": account.first_name,
                "last_name": account.last_name,
                "email": f"{account.username}@example.com",
                "is_staff": account.is_staff,
                "is_superuser": account.is_superuser,
            },
        )
        if created:
            user.set_password(settings.ORDERFLOW_DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _restaurant(self, menu: Menu) -> Restaurant:
        restaurant, _ = Restaurant.objects.get_or_create(
            name=menu.restaurant,
            defaults={
                "address": menu.address,
                "latitude": Decimal(menu.latitude),
                "longitude": Decimal(menu.longitude),
                "currency": "USD",
                "delivery_fee": Decimal(menu.delivery_fee),
                "tax_rate": Decimal(menu.tax_rate),
                "average_prep_minutes": menu.average_prep_minutes,
            },
        )
        for position, dish in enumerate(menu.dishes):
            item, _ = MenuItem.objects.get_or_create(
                restaurant=restaurant,
                name=dish.name,
                defaults={"description": dish.description, "price": Decimal(dish.price), "position": position},
            )
            for group_position, spec in enumerate(dish.groups):
                group, _ = CustomizationGroup.objects.get_or_create(
                    menu_item=item,
                    name=spec.name,
                    defaults={
                        "min_choices": spec.min_choices,
                        "max_choices": spec.max_choices,
                        "position": group_position,
                    },
                )
                for choice_position, (name, adjustment) in enumerate(spec.choices):
                    CustomizationChoice.objects.get_or_create(
                        group=group,
                        name=name,
                        defaults={"price_adjustment": Decimal(adjustment), "position": choice_position},
                    )
        return restaurant

    def _summary(self, placed: int) -> None:
        password = settings.ORDERFLOW_DEMO_PASSWORD
        self.stdout.write(f"Demo accounts (password: {password}):")
        width = max(len(account.username) for account in ACCOUNTS)
        for account in ACCOUNTS:
            self.stdout.write(f"  {account.username:<{width}}  {account.role}")
        if placed:
            self.stdout.write(f"Placed {placed} demo orders.")
        else:
            self.stdout.write("Demo orders already exist; none placed.")


class DemoOrders:
    """One order in each interesting state, each reached the way production reaches it."""

    def __init__(self, users: dict, restaurants: dict[str, Restaurant]):
        self.users = users
        self.restaurants = restaurants
        self.placed = 0
        self.kitchen = {
            "Pizza Palace": Actor.restaurant(users["pizza_staff"]),
            "Sushi Bar": Actor.restaurant(users["sushi_staff"]),
        }

    def place_all(self) -> int:
        pizza, sushi = "Pizza Palace", "Sushi Bar"
        margherita = [self._line(pizza, "Margherita", 'Large 16"', "Fresh basil"), self._line(pizza, "Garlic Knots")]
        pepperoni = [self._line(pizza, "Pepperoni", 'Medium 12"', "Mushrooms", quantity=2)]
        rolls = [
            self._line(sushi, "Spicy Tuna Roll", "8 pieces", "Avocado"),
            self._line(sushi, "Miso Soup", quantity=2),
        ]
        nigiri = [self._line(sushi, "Salmon Nigiri", quantity=3), self._line(sushi, "Edamame")]

        # Placed, waiting for the restaurant.
        self._place("alice", pizza, margherita, PaymentMethod.COD)
        # Paid online and confirmed.
        order = self._place("carol", sushi, rolls, PaymentMethod.ONLINE)
        self._kitchen(order, S.RESTAURANT_CONFIRMED)
        # In the kitchen.
        order = self._place("alice", sushi, nigiri, PaymentMethod.COD)
        self._kitchen(order, S.RESTAURANT_CONFIRMED, S.PREPARING)
        # Ready, a courier on the way to collect it.
        order = self._place("carol", pizza, pepperoni, PaymentMethod.ONLINE)
        self._kitchen(order, S.RESTAURANT_CONFIRMED, S.PREPARING)
        self._claim(order, "dave")
        self._kitchen(order, S.READY_FOR_PICKUP)
        # On its way to the customer.
        order = self._place("alice", pizza, margherita, PaymentMethod.COD)
        self._kitchen(order, S.RESTAURANT_CONFIRMED, S.PREPARING)
        self._claim(order, "erin")
        self._kitchen(order, S.READY_FOR_PICKUP)
        self._pick_up(order, "erin")
        # Delivered with the customer's code.
        order = self._place("carol", sushi, rolls, PaymentMethod.ONLINE)
        self._kitchen(order, S.RESTAURANT_CONFIRMED, S.PREPARING)
        self._claim(order, "frank")
        self._kitchen(order, S.READY_FOR_PICKUP)
        self._pick_up(order, "frank")
        code, _ = otp_reveal(order_id=order.pk, purpose=HandoffPurpose.DELIVERY, actor=Actor.customer(order.customer))
        order_transition(order_id=order.pk, target=S.DELIVERED, actor=Actor.courier(self.users["frank"]), otp=code)
        # Paid, then cancelled by the restaurant: a refund is opened.
        order = self._place("alice", sushi, nigiri, PaymentMethod.ONLINE)
        self._kitchen(order, S.RESTAURANT_CONFIRMED)
        order_cancel(order_id=order.pk, actor=self.kitchen[sushi], reason="Out of salmon for today, sorry.")
        # Self-pickup, ready at the counter: the customer holds the code.
        order = self._place("carol", pizza, pepperoni, PaymentMethod.COD, delivery_type=DeliveryType.PICKUP)
        self._kitchen(order, S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)
        return self.placed

    def _line(self, restaurant: str, dish: str, *choices: str, quantity: int = 1) -> OrderLine:
        item = MenuItem.objects.get(restaurant=self.restaurants[restaurant], name=dish)
        choice_ids = [CustomizationChoice.objects.get(group__menu_item=item, name=name).pk for name in choices]
        return OrderLine(menu_item_id=item.pk, quantity=quantity, choice_ids=choice_ids)

    def _place(
        self,
        username: str,
        restaurant: str,
        lines: list[OrderLine],
        payment_method: str,
        delivery_type: str = DeliveryType.DELIVERY,
    ) -> Order:
        order = order_place(
            customer=self.users[username],
            restaurant_id=self.restaurants[restaurant].pk,
            lines=lines,
            delivery_type=delivery_type,
            payment_method=payment_method,
            address=ADDRESSES[username] if delivery_type == DeliveryType.DELIVERY else None,
            tip=Decimal("3.00") if delivery_type == DeliveryType.DELIVERY else Decimal("0"),
        )
        if payment_method == PaymentMethod.ONLINE:
            payment_record_result(order_id=order.pk, succeeded=True, provider_reference=f"demo-{order.number}")
        self.placed += 1
        return order

    def _kitchen(self, order: Order, *targets: OrderStatus) -> None:
        actor = self.kitchen[order.restaurant.name]
        for target in targets:
            order_transition(order_id=order.pk, target=target, actor=actor)

    def _claim(self, order: Order, courier: str) -> None:
        user = self.users[courier]
        order_assign_courier(order_id=order.pk, courier=user, actor=Actor.courier(user))

    def _pick_up(self, order: Order, courier: str) -> None:
        # Staff read the pickup code out; the courier types it in.
        code, _ = otp_reveal(
            order_id=order.pk, purpose=HandoffPurpose.PICKUP, actor=self.kitchen[order.restaurant.name]
        )
        actor = Actor.courier(self.users[courier])
        order_transition(order_id=order.pk, target=S.ORDER_PICKED_UP, actor=actor, otp=code)
        order_transition(order_id=order.pk, target=S.OUT_FOR_DELIVERY, actor=actor)
