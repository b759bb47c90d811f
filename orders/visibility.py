"""Who may see an order, and what each may do with it: the one visibility policy.

Every entry point asks this module: the native API, the fast status poll, the sockets, the
client contracts, the pages, the admin, delivery and the privacy export. None decides on its
own (tests/test_visibility_policy.py keeps it so). The rules, as docs/visibility.md tabulates:

- a user's relation to an order is one of `Relation` (the strongest one counts, in
  `RELATION_PRECEDENCE`): its customer, staff of its restaurant, its assigned courier, a courier
  at work it is offered to (claimable), or a platform operator (a superuser);
- each relation acts in one `ActorRole` (the column of the transition table it uses) and is
  allowed what `ALLOWANCES` says;
- anyone else sees nothing: a hidden order looks exactly like a missing one (404).

The lists are built so that an index serves each branch (`orders_related_to`): a customer who is
nothing else is filtered by `customer_id` alone, a user in several capacities by one indexed
condition per relation.
"""

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.actors import Actor, ActorRole
from core.errors import OrderNotFound
from core.parsers import parse_uuid
from orders.lifecycle import ASSIGNABLE_STATUSES, CARRYING_STATUSES
from orders.models import DeliveryType, HandoffPurpose, Order
from restaurants.models import Restaurant, StaffMembership
from restaurants.selectors import staff_restaurant_ids

NOT_VISIBLE = "No order with this id is visible to you."


class Relation(enum.StrEnum):
    CUSTOMER = "customer"
    RESTAURANT_STAFF = "restaurant_staff"
    ASSIGNED_COURIER = "assigned_courier"
    CLAIMABLE_COURIER = "claimable_courier"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Allowance:
    """What a relation may do with the order."""

    role: ActorRole  # the capacity it acts in: its column of the transition table
    sees_customer: bool  # the customer's name, address, notes and exact drop-off (else the courier preview)
    reads_customer_tracking: bool  # the customer tracking contract and its hub
    listed: bool  # among "your orders" (`orders_related_to`)
    changes_status: bool  # moves the order on, as the transition table allows `role`
    manages_tracking_link: bool = False  # makes, renews and revokes the public tracking link


ALLOWANCES: Mapping[Relation, Allowance] = {
    Relation.CUSTOMER: Allowance(
        ActorRole.CUSTOMER, True, True, listed=True, changes_status=True, manages_tracking_link=True
    ),
    Relation.RESTAURANT_STAFF: Allowance(ActorRole.RESTAURANT, True, True, listed=True, changes_status=True),
    # Sees the customer only while delivering (`courier_sees_drop_off`); the preview before and after.
    Relation.ASSIGNED_COURIER: Allowance(ActorRole.COURIER, True, False, listed=True, changes_status=True),
    # Sees the preview, and may claim the order (delivery.services); the courier's list of orders
    # on offer is `GET /api/orders/available/`. Only the assigned courier acts as its courier.
    Relation.CLAIMABLE_COURIER: Allowance(ActorRole.COURIER, False, False, listed=False, changes_status=False),
    Relation.OPERATOR: Allowance(
        ActorRole.ADMIN, True, True, listed=True, changes_status=True, manages_tracking_link=True
    ),
}

RELATION_PRECEDENCE: tuple[Relation, ...] = (
    Relation.CUSTOMER,
    Relation.RESTAURANT_STAFF,
    Relation.ASSIGNED_COURIER,
    Relation.CLAIMABLE_COURIER,
    Relation.OPERATOR,
)

# The roles that read the customer tracking contract (the customer's side of the order).
CUSTOMER_TRACKING_ROLES: frozenset[ActorRole] = frozenset(
    allowance.role for allowance in ALLOWANCES.values() if allowance.reads_customer_tracking
)

# The roles that manage an order's public tracking link. Whoever holds the link (signed in or
# not) sees the public view of the order only (tracking.public): never the customer.
TRACKING_LINK_OWNER_ROLES: frozenset[ActorRole] = frozenset(
    allowance.role for allowance in ALLOWANCES.values() if allowance.manages_tracking_link
)

# Who is shown each handoff code (PRODUCT.md): the other side of the handoff types it in.
HANDOFF_CODE_READERS: Mapping[tuple[str, str], frozenset[ActorRole]] = {
    (HandoffPurpose.PICKUP, DeliveryType.DELIVERY): frozenset({ActorRole.RESTAURANT, ActorRole.ADMIN}),
    (HandoffPurpose.PICKUP, DeliveryType.PICKUP): frozenset({ActorRole.CUSTOMER}),
    (HandoffPurpose.DELIVERY, DeliveryType.DELIVERY): frozenset({ActorRole.CUSTOMER}),
}

# Who types each code in (and so may also ask for it to be sent again).
HANDOFF_CODE_ENTERERS: Mapping[tuple[str, str], frozenset[ActorRole]] = {
    (HandoffPurpose.PICKUP, DeliveryType.DELIVERY): frozenset({ActorRole.COURIER}),
    (HandoffPurpose.PICKUP, DeliveryType.PICKUP): frozenset({ActorRole.RESTAURANT, ActorRole.ADMIN}),
    (HandoffPurpose.DELIVERY, DeliveryType.DELIVERY): frozenset({ActorRole.COURIER}),
}


def may_read_handoff_code(*, role: str, purpose: str, delivery_type: str) -> bool:
    return role in HANDOFF_CODE_READERS.get((purpose, delivery_type), frozenset())


def may_enter_handoff_code(*, role: str, purpose: str, delivery_type: str) -> bool:
    return role in HANDOFF_CODE_ENTERERS.get((purpose, delivery_type), frozenset())


# ---------------------------------------------------------------- one order, one user


@dataclass(frozen=True)
class RelationFacts:
    """What the relation of a user to one order depends on: read in one query or from a snapshot."""

    user_id: Any
    is_superuser: bool
    customer_id: Any
    courier_id: Any
    status: str
    delivery_type: str
    is_restaurant_staff: bool
    is_courier: bool
    is_online_courier: bool


def order_is_claimable(*, delivery_type: str, courier_id: Any, status: str) -> bool:
    """Whether couriers may claim an order in this state: `orders_available_to_couriers`, per row."""
    return delivery_type == DeliveryType.DELIVERY and courier_id is None and status in ASSIGNABLE_STATUSES


def relations_of(facts: RelationFacts) -> list[Relation]:
    """Every relation the user has to the order, strongest first (`RELATION_PRECEDENCE`)."""
    found: list[Relation] = []
    if facts.customer_id == facts.user_id:
        found.append(Relation.CUSTOMER)
    if facts.is_restaurant_staff:
        found.append(Relation.RESTAURANT_STAFF)
    if facts.is_courier and facts.courier_id == facts.user_id:
        found.append(Relation.ASSIGNED_COURIER)
    claimable = order_is_claimable(delivery_type=facts.delivery_type, courier_id=facts.courier_id, status=facts.status)
    if facts.is_courier and facts.is_online_courier and claimable:
        found.append(Relation.CLAIMABLE_COURIER)
    if facts.is_superuser:
        found.append(Relation.OPERATOR)
    return sorted(found, key=RELATION_PRECEDENCE.index)


def relation_of(facts: RelationFacts) -> Relation | None:
    """The relation the user acts in towards the order (the strongest), or None: not visible."""
    found = relations_of(facts)
    return found[0] if found else None


@dataclass(frozen=True)
class OrderAccess:
    """A user's capacity towards one order, for endpoints that serve every role."""

    actor: Actor
    relation: Relation
    order_id: uuid.UUID
    delivery_type: str
    status: str


def parse_order_number(value: object) -> str | None:
    """An order number as given out (printable, at most 32 characters), or None: like a malformed
    id, anything else is simply a number no order has (and never reaches the database, which
    cannot compare text holding a NUL)."""
    text = str(value)
    return text if 0 < len(text) <= 32 and text.isprintable() else None


def courier_at_work(user_id: Any) -> Exists:
    """Whether the user is a courier at work: read through the user's `courier_profile`."""
    return Exists(get_user_model().objects.filter(pk=user_id, courier_profile__is_online=True))


def _one_order(*, order_id: object = None, number: object = None) -> QuerySet[Order]:
    if number is not None:
        parsed = parse_order_number(number)
        if parsed is None:
            raise OrderNotFound(NOT_VISIBLE)
        return Order.objects.filter(number=parsed)
    order_uuid = parse_uuid(order_id)
    if order_uuid is None:
        raise OrderNotFound(NOT_VISIBLE)
    return Order.objects.filter(pk=order_uuid)


def order_access(
    *, user: User, order_id: object = None, number: object = None, roles: frozenset[ActorRole] | None = None
) -> OrderAccess:
    """The relation in which `user` acts on the order, in one query. Given `roles`, only a
    relation acting in one of them counts (e.g. `CUSTOMER_TRACKING_ROLES`).

    An order the user has no (such) relation to is missing, exactly like one that does not exist.
    """
    row = (
        _one_order(order_id=order_id, number=number)
        .annotate(
            user_is_staff=Exists(
                StaffMembership.objects.filter(user_id=user.pk, restaurant_id=OuterRef("restaurant_id"))
            ),
            user_is_courier=Exists(get_user_model().objects.filter(pk=user.pk, courier_profile__isnull=False)),
            user_is_online=courier_at_work(user.pk),
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
    if row is None:
        raise OrderNotFound(NOT_VISIBLE)
    facts = RelationFacts(
        user_id=user.pk,
        is_superuser=bool(getattr(user, "is_superuser", False)),
        customer_id=row["customer_id"],
        courier_id=row["courier_id"],
        status=row["status"],
        delivery_type=row["delivery_type"],
        is_restaurant_staff=row["user_is_staff"],
        is_courier=row["user_is_courier"],
        is_online_courier=row["user_is_online"],
    )
    relation = next((found for found in relations_of(facts) if roles is None or ALLOWANCES[found].role in roles), None)
    if relation is None:
        raise OrderNotFound(NOT_VISIBLE)
    return OrderAccess(
        actor=Actor(ALLOWANCES[relation].role, user),
        relation=relation,
        order_id=row["pk"],
        delivery_type=row["delivery_type"],
        status=row["status"],
    )


def order_relation_holds(*, user: User, order_id: object, roles: frozenset[ActorRole] | None = None) -> bool:
    """Whether `user` still has a relation to the order (an open socket's re-check), from the
    database, which knows of a staff membership or a courier assignment that ended."""
    try:
        order_access(user=user, order_id=order_id, roles=roles)
    except OrderNotFound:
        return False
    return True


def _is_staff_of(user_id: Any, restaurant_id: Any) -> bool:
    return StaffMembership.objects.filter(user_id=user_id, restaurant_id=restaurant_id).exists()


def snapshot_reader_role(*, user_id: Any, snapshot: Mapping[str, Any]) -> ActorRole | None:
    """The role in which `user_id` reads an order's status snapshot (orders.snapshots), or None
    when the snapshot cannot tell: the same role `order_access` gives its customer, its
    restaurant's staff (one query: a membership can end without any change to the order) and
    its assigned courier. An operator, a courier the order is offered to and a stranger are for
    the database to decide (`order_access`)."""
    user_text = str(user_id)
    if user_text == str(snapshot["customer_id"]):
        return ActorRole.CUSTOMER
    if _is_staff_of(user_id, snapshot["restaurant_id"]):
        return ActorRole.RESTAURANT
    if user_text == str(snapshot["courier_id"]):
        return ActorRole.COURIER
    return None


def snapshot_readable_by(*, user_id: Any, snapshot: Mapping[str, Any]) -> bool:
    """Whether `user_id` may read the snapshot: `snapshot_reader_role` is not None, asking the
    database only when the user is neither the customer nor the courier (the fast poll)."""
    if str(user_id) in (str(snapshot["customer_id"]), str(snapshot["courier_id"])):
        return True
    return _is_staff_of(user_id, snapshot["restaurant_id"])


# ---------------------------------------------------------------- querysets


def orders_available_to_couriers() -> QuerySet[Order]:
    return Order.objects.filter(
        courier__isnull=True, delivery_type=DeliveryType.DELIVERY, status__in=ASSIGNABLE_STATUSES
    )


def orders_visible_to(*, actor: Actor) -> QuerySet[Order]:
    """The orders `actor` may see in the capacity it acts in (services lock through this)."""
    orders = Order.objects.all()
    if actor.role == ActorRole.CUSTOMER:
        return orders.filter(customer_id=actor.user_id)
    if actor.role == ActorRole.RESTAURANT:
        # Their restaurants as values, not a join on memberships: the restaurant's index then
        # reads the newest orders first and counts cheaply (the admin's list, its filters).
        restaurant_ids = staff_restaurant_ids(actor.user_id)
        return orders.filter(restaurant_id__in=restaurant_ids) if restaurant_ids else orders.none()
    if actor.role == ActorRole.COURIER:
        # The pool (with customers' names and addresses) is for couriers at work only.
        online = courier_at_work(actor.user_id)
        available = Q(pk__in=orders_available_to_couriers().values("pk")) & Q(online)
        return orders.filter(Q(courier_id=actor.user_id) | available)
    if actor.role == ActorRole.ADMIN and not (actor.user is not None and getattr(actor.user, "is_superuser", False)):
        return orders.none()
    return orders


def order_get_visible(*, actor: Actor, order_id: Any, for_update: bool = False) -> Order:
    """The order if `actor` may see it; a missing and a hidden order look the same."""
    orders = orders_visible_to(actor=actor)
    if for_update:
        orders = orders.select_for_update(of=("self",))
    try:
        return orders.get(pk=order_id)
    except (Order.DoesNotExist, DjangoValidationError, ValueError, TypeError):
        raise OrderNotFound(NOT_VISIBLE) from None


def orders_placed_by(*, user: User) -> QuerySet[Order]:
    """The orders `user` placed as a customer (their data export, their erasure)."""
    return Order.objects.filter(customer_id=user.pk)


def orders_related_to(*, user: User) -> QuerySet[Order]:
    """Every order the user is part of: placed, cooked by their restaurant, or delivered by them.

    Orders merely offered to a courier are listed by `orders_available_for_courier` instead.

    Built so that an index serves every branch: one query finds which relations the user has
    to any order. With one (the usual case: a customer and nothing else) the list is that branch
    alone, which its index reads newest first (order_customer_recent_idx,
    order_restaurant_recent_idx, order_courier_recent_idx). With several, `customer_id = me OR
    restaurant_id IN (their restaurants, as values) OR courier_id = me`, which PostgreSQL answers
    with one index scan per branch (a BitmapOr). A subquery in place of the restaurants' ids would
    make it read the whole table (scripts/explain_order_lists.py shows the plans).
    """
    if getattr(user, "is_superuser", False):
        return Order.objects.all()
    relations = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(
            placed=Exists(Order.objects.filter(customer_id=OuterRef("pk"))),
            staff=Exists(StaffMembership.objects.filter(user_id=OuterRef("pk"))),
            delivered=Exists(Order.objects.filter(courier_id=OuterRef("pk"))),
        )
        .first()
    ) or {"placed": False, "staff": False, "delivered": False}
    branches: list[Q] = []
    if relations["placed"]:
        branches.append(Q(customer_id=user.pk))
    if relations["staff"]:
        branches.append(Q(restaurant_id__in=staff_restaurant_ids(user.pk)))
    if relations["delivered"]:
        branches.append(Q(courier_id=user.pk))
    if not branches:
        return Order.objects.none()
    visible = branches[0]
    for branch in branches[1:]:
        visible |= branch
    return Order.objects.filter(visible)


def orders_assigned_to(*, courier_id: Any) -> QuerySet[Order]:
    """The orders given to the courier `courier_id` (any status): their deliveries."""
    return Order.objects.filter(courier_id=courier_id)


def orders_showing_customer_to(*, user: User) -> QuerySet[Order]:
    """`orders_related_to`, less the deliveries that have ended for their courier: for lists that
    show the customer's name and address (see `courier_sees_drop_off`)."""
    ended_delivery = (
        Q(courier_id=user.pk) & ~Q(customer_id=user.pk) & ~Q(status__in=(*ASSIGNABLE_STATUSES, *CARRYING_STATUSES))
    )
    return orders_related_to(user=user).exclude(ended_delivery)


# ---------------------------------------------------------------- what a relation sees of an order


def courier_sees_drop_off(*, order: Order, user_id: Any) -> bool:
    """Whether the courier `user_id` sees the customer and the exact drop-off of `order`: only
    while it is theirs to deliver (assigned, not yet delivered, cancelled or returned)."""
    return (
        user_id is not None
        and order.courier_id == user_id
        and order.status in (*ASSIGNABLE_STATUSES, *CARRYING_STATUSES)
    )


def actor_sees_customer(*, actor: Actor, order: Order) -> bool:
    """Whether `actor` is shown who the customer is and where the order goes: everyone the order is
    visible to, except a courier who does not (or no longer) deliver it."""
    return actor.role != ActorRole.COURIER or courier_sees_drop_off(order=order, user_id=actor.user_id)


def user_sees_customer_in_list(*, user_id: Any, order: Order) -> bool:
    """In a list of related orders: the customer is hidden from a courier whose delivery has ended."""
    delivered_only = user_id is not None and order.courier_id == user_id and order.customer_id != user_id
    return not delivered_only or courier_sees_drop_off(order=order, user_id=user_id)


def is_assigned_courier(*, actor: Actor, order: Order) -> bool:
    """Whether `actor` acts as the courier assigned to `order` (a claimable courier does not)."""
    return actor.role == ActorRole.COURIER and actor.user_id is not None and order.courier_id == actor.user_id


# ---------------------------------------------------------------- restaurants and the back office


def back_office_actor(user: User) -> Actor:
    """Superusers act as the platform in the admin; everyone else as restaurant staff."""
    return Actor.admin(user) if getattr(user, "is_superuser", False) else Actor.restaurant(user)


def restaurants_watched_by(*, user: User) -> QuerySet[Restaurant]:
    """The restaurants whose orders `user` may watch (kitchen boards): those they are staff of;
    every one for an operator, who watches as the platform, never as the kitchen."""
    if getattr(user, "is_superuser", False):
        return Restaurant.objects.all()
    return Restaurant.objects.filter(staff__user_id=user.pk)


def restaurant_orders_actor(*, user: User, restaurant_id: object) -> Actor | None:
    """The actor in which `user` may watch a restaurant's orders (its queue): its staff, or an
    operator; None for anyone else."""
    restaurant_uuid = parse_uuid(restaurant_id)
    if restaurant_uuid is not None and _is_staff_of(user.pk, restaurant_uuid):
        return Actor.restaurant(user)
    if getattr(user, "is_superuser", False):
        return Actor.admin(user)
    return None
