"""Effects of committed order events and of a handoff code sent again (listed in config/effects.py).

Each is idempotent by the event: a message's dedupe key names the event (or the code's send
count), so the relay running it again after a crash queues nothing twice."""

import uuid

from delivery.models import HandoffCode
from notifications import metrics
from notifications.models import Milestone, Notification, NotificationKind, NotificationPreference
from notifications.services import notify_user, preference_wants_milestone
from orders.models import DeliveryType, EventType, HandoffPurpose, Order, OrderStatus, TrackingEvent
from restaurants.models import StaffMembership

CODE = Notification.CODE_PLACEHOLDER

# The milestone a committed status change is, for the customer.
MILESTONES: dict[str, Milestone] = {
    OrderStatus.RESTAURANT_CONFIRMED: Milestone.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP: Milestone.READY,
    OrderStatus.OUT_FOR_DELIVERY: Milestone.OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: Milestone.DELIVERED,
    OrderStatus.CANCELLED: Milestone.CANCELLED,
    OrderStatus.RESTAURANT_REJECTED: Milestone.CANCELLED,
    OrderStatus.REFUND_COMPLETED: Milestone.REFUNDED,
}

MILESTONE_TEXT = {
    Milestone.CONFIRMED: "{restaurant} has confirmed your order {number}.",
    Milestone.READY: "Your order {number} is ready at {restaurant}.",
    Milestone.OUT_FOR_DELIVERY: "Your order {number} is on its way.",
    Milestone.DELIVERED: "Your order {number} has been delivered. Enjoy your meal!",
    Milestone.CANCELLED: "Your order {number} from {restaurant} has been cancelled.",
    Milestone.REFUNDED: "The payment for your order {number} has been refunded.",
}

# The code an order waits for in a status, and what its message says (the code filled in when sent).
CODE_MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    (HandoffPurpose.DELIVERY, DeliveryType.DELIVERY): (
        "Your delivery code for order {number}",
        f"Your order {{number}} is on its way. Give the courier this code at the door: {CODE}",
    ),
    (HandoffPurpose.PICKUP, DeliveryType.PICKUP): (
        "Your pickup code for order {number}",
        f"Your order {{number}} is ready at {{restaurant}}. Show this code when you collect it: {CODE}",
    ),
    (HandoffPurpose.PICKUP, DeliveryType.DELIVERY): (
        "Pickup code for order {number}",
        f"Order {{number}} is ready. The courier who collects it will give this code: {CODE}",
    ),
}


def _code_recipients(order: Order, purpose: str) -> list:
    """Whoever is shown the code: the customer, or the restaurant's staff for a courier's pickup."""
    if purpose == HandoffPurpose.PICKUP and order.delivery_type == DeliveryType.DELIVERY:
        return [
            membership.user
            for membership in StaffMembership.objects.filter(restaurant_id=order.restaurant_id, user__is_active=True)
            .select_related("user")
            .order_by("user_id")
        ]
    return [order.customer]


def _send_code(order: Order, purpose: str, dedupe_key: str) -> bool:
    handoff = HandoffCode.objects.filter(order=order, purpose=purpose).first()
    template = CODE_MESSAGES.get((purpose, order.delivery_type))
    if handoff is None or template is None:
        return False
    context = {"number": order.number, "restaurant": order.restaurant.name}
    subject, body = template[0].format(**context), template[1].replace(CODE, "\0").format(**context).replace("\0", CODE)
    sent = False
    for user in _code_recipients(order, purpose):
        sent |= bool(
            notify_user(
                user=user,
                kind=NotificationKind.HANDOFF_CODE,
                subject=subject,
                body=body,
                order=order,
                code_purpose=purpose,
                code_sends=handoff.sends,
                dedupe_key=f"{dedupe_key}:{handoff.sends}",
            )
        )
    return sent


def notify_order_events(events: list[TrackingEvent]) -> None:
    """The code a new status waits for, to whoever reads it; milestones to the customer. Orders and
    preferences are read once for a batch (a sweep's)."""
    orders = Order.objects.select_related("customer", "restaurant").in_bulk({event.order_id for event in events})
    preferences = {
        preference.user_id: preference
        for preference in NotificationPreference.objects.filter(
            user_id__in={order.customer_id for order in orders.values()}
        )
    }
    for event in events:
        order = orders.get(event.order_id)
        if order is not None:
            _notify(event, order, preferences.get(order.customer_id))


def _notify(event: TrackingEvent, order: Order, preference: NotificationPreference | None) -> None:
    code_told = False
    if event.event_type == EventType.OUT_FOR_DELIVERY:
        code_told = _send_code(order, HandoffPurpose.DELIVERY, f"code:{event.pk}")
    elif event.event_type == EventType.READY_FOR_PICKUP:
        code_told = _send_code(order, HandoffPurpose.PICKUP, f"code:{event.pk}")
        # The restaurant was told its pickup code; the customer still hears the order is ready.
        code_told = code_told and order.delivery_type == DeliveryType.PICKUP
    if event.event_type == EventType.REFUND_UPDATED or event.from_status == event.to_status:
        return
    milestone = MILESTONES.get(event.to_status)
    # A code message to the customer already says the order is ready or on its way.
    if milestone is None or code_told or not preference_wants_milestone(preference, milestone):
        return
    text = MILESTONE_TEXT[milestone].format(number=order.number, restaurant=order.restaurant.name)
    notify_user(
        user=order.customer,
        kind=NotificationKind.MILESTONE,
        subject=f"Order {order.number}: {milestone.label}",
        body=text,
        order=order,
        dedupe_key=f"milestone:{event.pk}",
        preference=preference,
    )


def notify_codes_resent(resends: list[dict]) -> None:
    """Codes replaced at someone's request (`{"order_id", "purpose", "sends"}`): each new one goes
    to whoever reads it (once per send count)."""
    orders = Order.objects.select_related("customer", "restaurant").in_bulk({resend["order_id"] for resend in resends})
    for resend in resends:
        order = orders.get(uuid.UUID(resend["order_id"]))
        if order is not None:
            _send_code(order, resend["purpose"], f"code-resent:{order.pk}:{resend['purpose']}")


def count_events(events: list[TrackingEvent]) -> None:
    """The counters behind /metrics, in one statement for a batch. Not idempotent by itself: the
    relay commits them together with its record that this effect ran."""
    changes = []
    for event in events:
        changes.append((metrics.EVENTS, {"event_type": event.event_type}, 1.0))
        if event.event_type == EventType.REFUND_UPDATED:
            status = event.metadata.get("refund_status")
            if status in ("COMPLETED", "FAILED"):
                changes.append((metrics.REFUND_OUTCOMES, {"outcome": status.lower()}, 1.0))
        elif event.to_status and event.to_status != event.from_status:
            changes.append((metrics.TRANSITIONS, {"status": event.to_status}, 1.0))
    metrics.metric_add_many(changes)
