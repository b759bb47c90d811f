"""Reads that encode who may see which order. The API, admin and sockets all use these."""

import math
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import (
    Exists,
    ExpressionWrapper,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from delivery.models import CourierProfile
from orders.actors import Actor
from orders.errors import OrderNotFound
from orders.models import (
    ActorRole,
    DeliveryType,
    Order,
    OrderItem,
    OrderItemCustomization,
    OrderStatus,
)
from restaurants.models import StaffMembership

# Delivery orders a courier may claim while no courier has them.
ASSIGNABLE_STATUSES = (
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
)


def staff_restaurant_ids(user) -> list:
    return list(user.restaurant_memberships.values_list("restaurant_id", flat=True))


def order_is_claimable(*, delivery_type: str, courier_id, status: str) -> bool:
    """Whether couriers may claim an order in this state: `orders_available_to_couriers`, per row."""
    return delivery_type == DeliveryType.DELIVERY and courier_id is None and status in ASSIGNABLE_STATUSES


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
        # The pool (with customers' names and addresses) is for couriers at work only.
        online = Exists(CourierProfile.objects.filter(user_id=actor.user_id, is_online=True))
        available = Q(pk__in=orders_available_to_couriers().values("pk")) & Q(online)
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
    "deadline_at",
)


def order_status_snapshot(*, actor: Actor, order_id, fields: tuple[str, ...] = STATUS_SNAPSHOT_FIELDS) -> dict:
    """The lean status of one order, read from the order row alone: what pollers and sockets get."""
    try:
        row = orders_visible_to(actor=actor).filter(pk=order_id).values(*fields).first()
    except (DjangoValidationError, ValueError, TypeError):
        row = None
    if row is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return row


# ---------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class OrderAccess:
    """A user's capacity towards one order, for endpoints that serve every role."""

    actor: Actor
    order_id: uuid.UUID
    delivery_type: str
    status: str


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def order_access(*, user, order_id=None, number: str | None = None) -> OrderAccess:
    """The role in which `user` acts on the order: its customer, staff of its restaurant,
    its courier (or a courier it is offered to), or a platform superuser. One query.

    An order the user has no relation to is missing, exactly like one that does not exist.
    """
    orders = Order.objects.all()
    if number is not None:
        orders = orders.filter(number=str(number)[:32])
    else:
        order_uuid = parse_uuid(order_id)
        if order_uuid is None:
            raise OrderNotFound("No order with this id is visible to you.")
        orders = orders.filter(pk=order_uuid)
    row = (
        orders.annotate(
            user_is_staff=Exists(
                StaffMembership.objects.filter(user_id=user.pk, restaurant_id=OuterRef("restaurant_id"))
            ),
            user_is_courier=Exists(CourierProfile.objects.filter(user_id=user.pk)),
            user_is_online=Exists(CourierProfile.objects.filter(user_id=user.pk, is_online=True)),
        )
        .values(
            "pk",
            "customer_id",
            "courier_id",
            "status",
            "delivery_type",
            "user_is_staff",
            "user_is_courier",
            "user_is_online",
        )
        .first()
    )
    role = _role_towards(user, row) if row else None
    if role is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return OrderAccess(
        actor=Actor(role, user), order_id=row["pk"], delivery_type=row["delivery_type"], status=row["status"]
    )


def _role_towards(user, row: dict) -> ActorRole | None:
    if row["customer_id"] == user.pk:
        return ActorRole.CUSTOMER
    if row["user_is_staff"]:
        return ActorRole.RESTAURANT
    if row["user_is_courier"]:
        if row["courier_id"] == user.pk:
            return ActorRole.COURIER
        claimable = order_is_claimable(
            delivery_type=row["delivery_type"], courier_id=row["courier_id"], status=row["status"]
        )
        if row["user_is_online"] and claimable:
            return ActorRole.COURIER
    if user.is_superuser:
        return ActorRole.ADMIN
    return None


def orders_related_to(*, user) -> QuerySet[Order]:
    """Every order the user is part of: placed, cooked by their restaurant, or delivered by them.

    Orders merely offered to a courier are listed by `orders_available_for_courier` instead.
    """
    if user.is_superuser:
        return Order.objects.all()
    return Order.objects.filter(
        Q(customer_id=user.pk)
        | Q(restaurant_id__in=StaffMembership.objects.filter(user_id=user.pk).values("restaurant_id"))
        | Q(courier_id=user.pk)
    )


# ---------------------------------------------------------------- shapes for lists and detail


def with_item_count(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate `items_quantity` (the number of individual items) without joining the lines."""
    quantities = (
        OrderItem.objects.filter(order_id=OuterRef("pk")).values("order_id").annotate(n=Sum("quantity")).values("n")
    )
    return orders.annotate(items_quantity=Coalesce(Subquery(quantities), 0))


def orders_for_summary(orders: QuerySet[Order]) -> QuerySet[Order]:
    return with_item_count(orders.select_related("restaurant"))


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.prefetch_related(
                Prefetch("customizations", queryset=OrderItemCustomization.objects.order_by("id"))
            ).order_by("id"),
        )
    )


DETAIL_INCLUDES = ("history", "payments")


def _one(orders: QuerySet[Order], order_id) -> Order:
    order_uuid = parse_uuid(order_id)
    order = orders.filter(pk=order_uuid).first() if order_uuid else None
    if order is None:
        raise OrderNotFound("No order with this id is visible to you.")
    return order


def order_detail(*, actor: Actor, order_id, include: tuple[str, ...] = ()) -> Order:
    """One visible order with everything its full view shows, in a fixed number of queries."""
    orders = _with_lines(
        with_item_count(
            orders_visible_to(actor=actor).select_related(
                "restaurant", "customer", "courier", "courier__courier_profile", "refund"
            )
        )
    )
    if "history" in include:
        orders = orders.prefetch_related("events")
    if "payments" in include:
        orders = orders.prefetch_related("payments")
    return _one(orders, order_id)


def order_with_events(*, actor: Actor, order_id) -> Order:
    return _one(orders_visible_to(actor=actor).prefetch_related("events"), order_id)


def order_for_eta(*, actor: Actor, order_id) -> Order:
    """The order with what its ETA reads: the restaurant and the courier's last position."""
    return _one(orders_visible_to(actor=actor).select_related("restaurant", "courier__courier_profile"), order_id)


# ---------------------------------------------------------------- tabs (seed 004)

_REFUNDED_AFTER_RETURN = Q(status=OrderStatus.REFUND_COMPLETED, returned_at__isnull=False)

# The customer app's tabs. A delivery order waiting for its courier is still "to ship";
# a self-pickup order that is ready is "to receive", like one on its way.
ORDER_TABS: dict[str, Q] = {
    "to_pay": Q(status=OrderStatus.PAYMENT_PENDING),
    "to_ship": Q(
        status__in=[
            OrderStatus.ORDER_PLACED,
            OrderStatus.PAYMENT_SUCCESS,
            OrderStatus.RESTAURANT_CONFIRMED,
            OrderStatus.PREPARING,
        ]
    )
    | Q(status=OrderStatus.READY_FOR_PICKUP, delivery_type=DeliveryType.DELIVERY),
    "to_receive": Q(status__in=[OrderStatus.ORDER_PICKED_UP, OrderStatus.OUT_FOR_DELIVERY])
    | Q(status=OrderStatus.READY_FOR_PICKUP, delivery_type=DeliveryType.PICKUP),
    "completed": Q(status__in=[OrderStatus.DELIVERED, OrderStatus.COMPLETED]),
    "cancelled": Q(status__in=[OrderStatus.CANCELLED, OrderStatus.RESTAURANT_REJECTED, OrderStatus.PAYMENT_FAILED])
    | Q(status=OrderStatus.REFUND_COMPLETED, returned_at__isnull=True),
    "returned": Q(status=OrderStatus.RETURNED) | _REFUNDED_AFTER_RETURN,
}


# ---------------------------------------------------------------- restaurant queue

# What the kitchen still has to act on: unpaid online orders are not the kitchen's yet,
# and orders a courier has picked up have left it.
KITCHEN_STATUSES = (
    OrderStatus.ORDER_PLACED,
    OrderStatus.PAYMENT_SUCCESS,
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
)


def restaurant_queue(*, actor: Actor, restaurant_id=None) -> QuerySet[Order]:
    """The staff member's restaurants' orders still in the kitchen, oldest first."""
    orders = orders_visible_to(actor=actor).filter(status__in=KITCHEN_STATUSES)
    if restaurant_id is not None:
        orders = orders.filter(restaurant_id=restaurant_id)
    return _with_lines(orders_for_summary(orders)).order_by("placed_at", "id")


# ---------------------------------------------------------------- couriers


def orders_available_for_courier(*, position: tuple | None = None, courier=None) -> QuerySet[Order]:
    """Delivery orders no courier has yet, nearest restaurant first when `position` (the
    courier's last, as (latitude, longitude)) is known, oldest first otherwise. Given
    `courier`, nothing unless that courier is online (the pool shows customers' addresses).

    Sorting uses the equirectangular approximation (exact enough to rank, and plain arithmetic
    on every database); distances shown to the courier are computed exactly.
    """
    orders = orders_for_summary(orders_available_to_couriers())
    if courier is not None:  # in the same query, so the page costs no extra round trip
        orders = orders.filter(Exists(CourierProfile.objects.filter(user_id=courier.pk, is_online=True)))
    if position is None:
        return orders.order_by("placed_at", "id")
    latitude, longitude = float(position[0]), float(position[1])
    scale = math.cos(math.radians(latitude))
    d_lat = Cast("restaurant__latitude", FloatField()) - Value(latitude)
    d_lon = (Cast("restaurant__longitude", FloatField()) - Value(longitude)) * Value(scale)
    return orders.annotate(
        proximity=ExpressionWrapper(d_lat * d_lat + d_lon * d_lon, output_field=FloatField())
    ).order_by("proximity", "placed_at", "id")
