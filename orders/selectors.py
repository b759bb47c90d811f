"""Reads that encode who may see which order. The API, admin and sockets all use these."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet

from orders.actors import Actor
from orders.errors import OrderNotFound
from orders.models import ActorRole, DeliveryType, Order, OrderStatus

# Delivery orders a courier may claim while no courier has them.
ASSIGNABLE_STATUSES = (
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
)


def staff_restaurant_ids(user) -> list:
    return list(user.restaurant_memberships.values_list("restaurant_id", flat=True))


def orders_available_to_couriers() -> QuerySet[Order]:
    return Order.objects.filter(
        courier__isnull=True, delivery_type=DeliveryType.DELIVERY, status__in=ASSIGNABLE_STATUSES
    )


def orders_visible_to(*, actor: Actor) -> QuerySet[Order]:
    orders = Order.objects.all()
    if actor.role == ActorRole.CUSTOMER:
        return orders.filter(customer_id=actor.user_id)
    if actor.role == ActorRole.RESTAURANT:
        return orders.filter(restaurant__staff__user_id=actor.user_id)
    if actor.role == ActorRole.COURIER:
        available = Q(pk__in=orders_available_to_couriers().values("pk"))
        return orders.filter(Q(courier_id=actor.user_id) | available)
    if actor.role == ActorRole.ADMIN and not (actor.user and actor.user.is_superuser):
        return orders.none()
    return orders


def order_get_visible(*, actor: Actor, order_id, for_update: bool = False) -> Order:
    """The order if `actor` may see it; a missing and a hidden order look the same."""
    orders = orders_visible_to(actor=actor)
    if for_update:
        orders = orders.select_for_update(of=("self",))
    try:
        return orders.get(pk=order_id)
    except (Order.DoesNotExist, DjangoValidationError, ValueError, TypeError):
        raise OrderNotFound("No order with this id is visible to you.") from None


STATUS_SNAPSHOT_FIELDS = (
    "id",
    "number",
    "status",
    "payment_status",
    "delivery_status",
    "refund_status",
    "updated_at",
    "estimated_delivery_at",
    "sequence",
)


def order_status_snapshot(*, actor: Actor, order_id) -> dict:
    """The lean status of one order, read from the order row alone: what pollers and sockets get."""
    try:
        row = orders_visible_to(actor=actor).filter(pk=order_id).values(*STATUS_SNAPSHOT_FIELDS).first()
    except (DjangoValidationError, ValueError, TypeError):
        row = None
    if row is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return row
