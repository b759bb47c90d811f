"""The one table of allowed order status changes, and who may make each.

Everything that changes `Order.status` (API, admin, Celery jobs) goes through
`orders.services.transitions.order_transition`, which reads this table; the docs and the
tests read it too. Checkout is not a transition: it creates the order in
PAYMENT_PENDING (online) or ORDER_PLACED (cash on delivery).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.actors import ActorRole
from orders.models import DeliveryType, HandoffPurpose, Order, OrderStatus, PaymentStatus, RefundStatus

S = OrderStatus
R = ActorRole

# The order-process API spells two states two ways; input accepts both.
STATUS_ALIASES: dict[str, OrderStatus] = {
    "ORDER_CONFIRMED": S.RESTAURANT_CONFIRMED,
    "FOOD_BEING_PREPARED": S.PREPARING,
}

# Staff and platform admins act on the kitchen's side of the order.
KITCHEN = frozenset({R.RESTAURANT, R.ADMIN})


@dataclass(frozen=True)
class Rule:
    source: OrderStatus
    target: OrderStatus
    roles: frozenset[ActorRole]
    # Only for orders of this delivery type (None: both).
    delivery_type: DeliveryType | None = None
    # The handoff code that must be entered to make this change.
    handoff: HandoffPurpose | None = None
    # Roles that must give a reason.
    reason_required_for: frozenset[ActorRole] = frozenset()
    # Only for orders that were paid.
    requires_paid: bool = False
    # An order for later only once it has reached the kitchen (its release).
    requires_release: bool = False


def _rules(
    sources: Iterable[OrderStatus], target: OrderStatus, roles: Iterable[ActorRole], **conditions: Any
) -> list[Rule]:
    return [Rule(source, target, frozenset(roles), **conditions) for source in sources]


_CANCEL_ROLES_BY_SOURCE = {
    S.PAYMENT_PENDING: {R.CUSTOMER, R.SYSTEM, *KITCHEN},
    S.ORDER_PLACED: {R.CUSTOMER, R.SYSTEM, *KITCHEN},
    S.PAYMENT_SUCCESS: {R.CUSTOMER, R.SYSTEM, *KITCHEN},
    S.RESTAURANT_CONFIRMED: {R.CUSTOMER, R.SYSTEM, *KITCHEN},
    S.PREPARING: {R.SYSTEM, *KITCHEN},
    S.READY_FOR_PICKUP: {R.SYSTEM, *KITCHEN},
}

TRANSITIONS: tuple[Rule, ...] = (
    *_rules([S.PAYMENT_PENDING], S.PAYMENT_SUCCESS, {R.PAYMENT}),
    *_rules([S.PAYMENT_PENDING], S.PAYMENT_FAILED, {R.PAYMENT}),
    *_rules([S.ORDER_PLACED, S.PAYMENT_SUCCESS], S.RESTAURANT_CONFIRMED, KITCHEN, requires_release=True),
    *_rules([S.ORDER_PLACED, S.PAYMENT_SUCCESS], S.RESTAURANT_REJECTED, KITCHEN, reason_required_for=KITCHEN),
    *_rules([S.RESTAURANT_CONFIRMED], S.PREPARING, KITCHEN),
    *_rules([S.PREPARING], S.READY_FOR_PICKUP, KITCHEN),
    *_rules(
        [S.READY_FOR_PICKUP],
        S.ORDER_PICKED_UP,
        {R.COURIER},
        delivery_type=DeliveryType.DELIVERY,
        handoff=HandoffPurpose.PICKUP,
    ),
    *_rules(
        [S.READY_FOR_PICKUP],
        S.DELIVERED,
        KITCHEN,
        delivery_type=DeliveryType.PICKUP,
        handoff=HandoffPurpose.PICKUP,
    ),
    *_rules([S.ORDER_PICKED_UP], S.OUT_FOR_DELIVERY, {R.COURIER}),
    *_rules([S.OUT_FOR_DELIVERY], S.DELIVERED, {R.COURIER}, handoff=HandoffPurpose.DELIVERY),
    *_rules([S.DELIVERED], S.COMPLETED, {R.SYSTEM}),
    *_rules([S.DELIVERED], S.RETURNED, KITCHEN, reason_required_for=KITCHEN),
    *(
        Rule(source, S.CANCELLED, frozenset(roles), reason_required_for=KITCHEN)
        for source, roles in _CANCEL_ROLES_BY_SOURCE.items()
    ),
    *_rules([S.CANCELLED, S.RESTAURANT_REJECTED, S.RETURNED], S.REFUND_COMPLETED, {R.SYSTEM}, requires_paid=True),
)


@dataclass(frozen=True)
class Release:
    """An order for later reaching the kitchen: an event of the table, not a status change.

    It is accepted now (paid, codes as usual) and waits in `sources` until its release time,
    `fulfill_at` minus its preparation (and travel) time; the system then releases it, once, and
    its deadlines count from there. Until then the kitchen may not confirm it (`requires_release`).
    """

    sources: tuple[OrderStatus, ...]
    roles: frozenset[ActorRole]


RELEASE = Release(sources=(S.ORDER_PLACED, S.PAYMENT_SUCCESS), roles=frozenset({R.SYSTEM}))

RULES: dict[tuple[OrderStatus, OrderStatus], Rule] = {(rule.source, rule.target): rule for rule in TRANSITIONS}

TERMINAL_STATUSES = frozenset(
    status for status in OrderStatus if not any(rule.source == status for rule in TRANSITIONS)
)


# ---------------------------------------------------------------- status groups
#
# Every grouping of statuses the code base uses lives here, beside the table it follows from.

# Statuses in which the order is still moving towards the customer.
ACTIVE_STATUSES = frozenset(
    {
        S.PAYMENT_PENDING,
        S.ORDER_PLACED,
        S.PAYMENT_SUCCESS,
        S.RESTAURANT_CONFIRMED,
        S.PREPARING,
        S.READY_FOR_PICKUP,
        S.ORDER_PICKED_UP,
        S.OUT_FOR_DELIVERY,
    }
)

# What the kitchen still has to act on: unpaid online orders are not the kitchen's yet,
# and orders a courier has picked up have left it.
KITCHEN_STATUSES = (S.ORDER_PLACED, S.PAYMENT_SUCCESS, S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)

# A delivery order in these statuses may be given to a courier, and its courier is on the way
# to the restaurant.
ASSIGNABLE_STATUSES = (S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)
# The courier has the food.
CARRYING_STATUSES = (S.ORDER_PICKED_UP, S.OUT_FOR_DELIVERY)
# The food has reached the customer.
ARRIVED_STATUSES = (S.DELIVERED, S.COMPLETED, S.RETURNED)
# The order's delivery estimate still depends on the kitchen.
AWAITING_KITCHEN_STATUSES = (S.PAYMENT_PENDING, S.PAYMENT_SUCCESS, S.ORDER_PLACED, *ASSIGNABLE_STATUSES)

# Entering these statuses issues the code for the handoff that ends them.
ISSUES_HANDOFF: dict[OrderStatus, HandoffPurpose] = {
    S.READY_FOR_PICKUP: HandoffPurpose.PICKUP,
    S.OUT_FOR_DELIVERY: HandoffPurpose.DELIVERY,
}
# The status an order is in while a code is waiting to be entered.
HANDOFF_WAITING_STATUS: dict[HandoffPurpose, OrderStatus] = {
    purpose: status for status, purpose in ISSUES_HANDOFF.items()
}

# Entering these statuses opens a refund if the order was paid.
REFUNDABLE_STATUSES = frozenset({S.CANCELLED, S.RESTAURANT_REJECTED, S.RETURNED})
# Refund states after which nothing changes on its own (FAILED waits for a person).
SETTLED_REFUND_STATUSES = frozenset({RefundStatus.NONE, RefundStatus.COMPLETED, RefundStatus.FAILED})


# The order's end, as recorded by who ended it (`Order.cancelled_by`).
CANCELLING_STATUSES = (S.CANCELLED, S.RESTAURANT_REJECTED)


def order_is_final(*, status: str, refund_status: str) -> bool:
    """Whether no more live changes are expected for an order in this state.

    Live tracking ends at the door (DELIVERED: a later return is seen by polling or the
    history); a cancelled, rejected or returned order stays live while its refund moves.
    """
    if status in TERMINAL_STATUSES or status == S.DELIVERED:
        return True
    return status in REFUNDABLE_STATUSES and refund_status in SETTLED_REFUND_STATUSES


def normalise_status(value: str) -> OrderStatus | None:
    """The canonical status for `value` (aliases accepted), or None if it names none."""
    key = str(value).strip().upper()
    if key in STATUS_ALIASES:
        return STATUS_ALIASES[key]
    try:
        return OrderStatus(key)
    except ValueError:
        return None


def role_may_reach(role: ActorRole, target: OrderStatus) -> bool:
    """Whether `role` may move an order to `target` from at least one status."""
    return any(rule.target == target and role in rule.roles for rule in TRANSITIONS)


def order_awaits_release(order: Order) -> bool:
    """Whether this is an order for later that has not reached the kitchen yet."""
    return getattr(order, "release_at", None) is not None and getattr(order, "released_at", None) is None


def release_due(order: Order, *, now: datetime) -> bool:
    """Whether the system releases this order now (the table's RELEASE)."""
    return (
        order.status in RELEASE.sources
        and order_awaits_release(order)
        and order.release_at is not None
        and order.release_at <= now
    )


def rule_applies(rule: Rule, *, order: Order, role: ActorRole) -> bool:
    """Whether `rule` lets `role` make its change on this order (its delivery type, whether paid,
    whether an order for later has been released)."""
    return (
        role in rule.roles
        and rule.delivery_type in (None, order.delivery_type)
        and (not rule.requires_paid or order.payment_status == PaymentStatus.PAID)
        and (not rule.requires_release or not order_awaits_release(order))
    )


def next_statuses_for(*, order: Order, role: ActorRole | None) -> list[OrderStatus]:
    """The statuses `role` may move this order to now: what the API, the admin and refusals show."""
    if role is None:
        return []
    return [
        rule.target
        for rule in TRANSITIONS
        if rule.source == order.status and rule_applies(rule, order=order, role=role)
    ]


def markdown_table() -> str:
    """The table as Markdown, for docs/order-model.md (a test keeps the two equal)."""
    grouped: dict[tuple[Any, ...], list[str]] = {}
    for rule in TRANSITIONS:
        key = (
            rule.target,
            rule.roles,
            rule.delivery_type,
            rule.handoff,
            rule.reason_required_for,
            rule.requires_paid,
            rule.requires_release,
        )
        grouped.setdefault(key, []).append(rule.source)
    lines = ["| from | to | who | conditions |", "| --- | --- | --- | --- |"]
    for (
        target,
        roles,
        delivery_type,
        handoff,
        reason_roles,
        requires_paid,
        requires_release,
    ), sources in grouped.items():
        conditions = []
        if delivery_type:
            conditions.append(f"{delivery_type} orders only")
        if handoff:
            conditions.append(f"{handoff} code entered")
        if reason_roles:
            conditions.append("reason required from " + ", ".join(sorted(reason_roles)))
        if requires_paid:
            conditions.append("paid orders only")
        if requires_release:
            conditions.append("an order for later once released")
        lines.append(
            f"| {', '.join(sources)} | {target} | {', '.join(sorted(roles))} | {'; '.join(conditions) or '-'} |"
        )
    lines.append(
        f"| {', '.join(RELEASE.sources)} | (unchanged: released to the kitchen) | {', '.join(sorted(RELEASE.roles))} "
        "| orders for later only, once, at fulfill_at minus preparation (and travel) time |"
    )
    return "\n".join(lines)
