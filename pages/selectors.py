"""Reads behind the server-rendered pages. Who may see what is decided by orders.visibility and
tracking.selectors, the same reads as the API and the sockets."""

from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.utils import timezone

from core.actors import Actor, ActorRole
from core.geo import haversine_km
from orders.kitchen import slot_board
from orders.lifecycle import ACTIVE_STATUSES, CARRYING_STATUSES, KITCHEN_STATUSES, TRANSITIONS
from orders.models import DeadlineKind, Order, OrderStatus, RefundStatus, TrackingEvent
from orders.selectors import order_detail, restaurant_queue
from orders.visibility import orders_visible_to, restaurants_watched_by
from payments.models import Refund
from restaurants.hours import kitchen_status_payload
from restaurants.management.commands.seed_demo import ACCOUNTS
from restaurants.models import Restaurant
from tracking.selectors import restaurant_may_watch

# Statuses from which a customer may cancel (from the transition table, not a copy of it).
CUSTOMER_CANCELLABLE = [
    rule.source for rule in TRANSITIONS if rule.target == OrderStatus.CANCELLED and ActorRole.CUSTOMER in rule.roles
]

# The kitchen board's columns: (key, heading, statuses).
BOARD_COLUMNS = (
    # Orders for later not released yet (their status is a new order's; the ticket says so).
    ("scheduled", "Scheduled", ()),
    ("new", "New", (OrderStatus.ORDER_PLACED, OrderStatus.PAYMENT_SUCCESS)),
    ("confirmed", "Confirmed", (OrderStatus.RESTAURANT_CONFIRMED,)),
    ("preparing", "Preparing", (OrderStatus.PREPARING,)),
    ("ready", "Ready", (OrderStatus.READY_FOR_PICKUP,)),
)
# Checked on import: every kitchen status has its column (an assert, as in the tests).
assert {status for _, _, statuses in BOARD_COLUMNS for status in statuses} == set(KITCHEN_STATUSES)  # noqa: S101

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
    """The restaurants whose board the user may open: those they are staff of; every one for a
    platform admin (superuser), who watches a board as the admin, never as the kitchen."""
    return list(restaurants_watched_by(user=user).order_by("name"))


def kitchen_actor(*, user, restaurant_id) -> Actor | None:
    """Whom the board's reads are made as: the restaurant's staff, a platform admin, or nobody."""
    return restaurant_may_watch(user=user, restaurant_id=restaurant_id)


def kitchen_tickets(*, actor: Actor, restaurant_id) -> list[Order]:
    return list(restaurant_queue(actor=actor, restaurant_id=restaurant_id).select_related("courier__courier_profile"))


def kitchen_panel(*, restaurant_id) -> dict:
    """The board's head: the kitchen's status and the load of its next slots."""
    restaurant = Restaurant.objects.get(pk=restaurant_id)
    now = timezone.now()
    return {"kitchen": kitchen_status_payload(restaurant, at=now), "slots": slot_board(restaurant, now=now)}


def ticket_courier(order: Order) -> dict | None:
    """The courier coming for a delivery order, with their distance from the restaurant (as the
    crow flies, from their last reported position)."""
    if order.courier_id is None:
        return None
    profile = getattr(order.courier, "courier_profile", None)
    distance = None
    if profile is not None and profile.latitude is not None and profile.longitude is not None:
        distance = round(
            haversine_km(profile.latitude, profile.longitude, order.restaurant.latitude, order.restaurant.longitude), 1
        )
    courier = cast(User, order.courier)  # the caller shows a courier only for an order that has one
    return {"first_name": courier.first_name.strip() or courier.get_username(), "distance_km": distance}


def customer_orders(*, user, limit: int = 50) -> list[Order]:
    """The signed-in customer's latest orders, newest first (their "My orders")."""
    orders = orders_visible_to(actor=Actor.customer(user)).select_related("restaurant").order_by("-placed_at", "-id")
    return list(orders[:limit])


def order_refund(order: Order) -> Refund | None:
    return Refund.objects.filter(order=order).first()


def operator_summary(*, now=None) -> dict:
    """What an operator checks first: live orders by state, overdue ones, failed deliveries and
    refunds, and the last hour's throughput in six ten-minute buckets."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    day_ago = now - timedelta(days=1)
    by_state = dict(
        Order.objects.filter(status__in=ACTIVE_STATUSES).values_list("status").annotate(n=Count("id")).order_by()
    )
    states = [
        {"status": status.value, "label": status.label, "count": by_state.get(status.value, 0)}
        for status in OrderStatus
        if status in ACTIVE_STATUSES
    ]
    # Deliveries that failed in the last day: cancelled once the food was ready or on the road
    # (no courier came, the handoff never happened), or returned.
    failed_deliveries = (
        TrackingEvent.objects.filter(created_at__gte=day_ago)
        .filter(
            Q(to_status=OrderStatus.CANCELLED, from_status__in=[OrderStatus.READY_FOR_PICKUP, *CARRYING_STATUSES])
            | Q(to_status=OrderStatus.RETURNED)
        )
        .count()
    )
    placed = list(Order.objects.filter(placed_at__gte=hour_ago).values_list("placed_at", flat=True))
    delivered = list(
        TrackingEvent.objects.filter(created_at__gte=hour_ago, to_status=OrderStatus.DELIVERED).values_list(
            "created_at", flat=True
        )
    )
    buckets = []
    for index in range(6):
        start = hour_ago + timedelta(minutes=10 * index)
        end = start + timedelta(minutes=10)
        buckets.append(
            {
                "start": start,
                "end": end,
                "placed": sum(1 for at in placed if start <= at < end),
                "delivered": sum(1 for at in delivered if start <= at < end),
            }
        )
    return {
        "states": states,
        "active": sum(state["count"] for state in states),
        "overdue": Order.objects.filter(deadline_at__lt=now).exclude(deadline_kind=DeadlineKind.RETURN_WINDOW).count(),
        "failed_deliveries": failed_deliveries,
        "refunds_failed": Order.objects.filter(refund_status=RefundStatus.FAILED).count(),
        "refunds_pending": Order.objects.filter(
            refund_status__in=[RefundStatus.PENDING, RefundStatus.PROCESSING]
        ).count(),
        "placed_last_hour": len(placed),
        "delivered_last_hour": len(delivered),
        "buckets": buckets,
        "bucket_max": max([1, *(max(b["placed"], b["delivered"]) for b in buckets)]),
    }
