"""Reads behind the server-rendered pages. Who may see what is decided by orders.selectors and
tracking.selectors, the same reads as the API and the sockets."""

from django.conf import settings

from core.actors import Actor, ActorRole
from orders.models import Order, OrderStatus
from orders.selectors import order_detail
from orders.transitions import CARRYING_STATUSES, KITCHEN_STATUSES, TRANSITIONS
from restaurants.management.commands.seed_demo import ACCOUNTS
from restaurants.models import Restaurant
from restaurants.selectors import staff_restaurant_ids

# Statuses from which a customer may cancel (from the transition table, not a copy of it).
CUSTOMER_CANCELLABLE = [
    rule.source for rule in TRANSITIONS if rule.target == OrderStatus.CANCELLED and ActorRole.CUSTOMER in rule.roles
]

# The kitchen board's columns: (key, heading, statuses).
BOARD_COLUMNS = (
    ("new", "New", (OrderStatus.ORDER_PLACED, OrderStatus.PAYMENT_SUCCESS)),
    ("confirmed", "Confirmed", (OrderStatus.RESTAURANT_CONFIRMED,)),
    ("preparing", "Preparing", (OrderStatus.PREPARING,)),
    ("ready", "Ready", (OrderStatus.READY_FOR_PICKUP,)),
)
assert {status for _, _, statuses in BOARD_COLUMNS for status in statuses} == set(KITCHEN_STATUSES)

DEMO_CUSTOMERS = tuple(account.username for account in ACCOUNTS if account.role == "customer")


def demo_tracking_token() -> str | None:
    """A demo order's tracking token for the landing page: one on the road if there is one."""
    if not settings.ORDERFLOW_ALLOW_DEMO_DATA:
        return None
    orders = Order.objects.filter(customer__username__in=DEMO_CUSTOMERS, tracking_token__isnull=False)
    order = orders.filter(status__in=CARRYING_STATUSES).order_by("-placed_at").first() or orders.first()
    return order.tracking_token if order else None


def customer_order(*, user, order_id) -> Order:
    """The signed-in customer's own order in full; anyone else's is OrderNotFound (a 404 page)."""
    return order_detail(actor=Actor.customer(user), order_id=order_id)


def kitchen_restaurants(*, user) -> list[Restaurant]:
    """The restaurants whose board the user may open: those they are staff of."""
    return list(Restaurant.objects.filter(pk__in=staff_restaurant_ids(user)).order_by("name"))
