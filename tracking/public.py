"""What a public tracking link shows: progress, times, ETA, the courier's first name and, while
the food is on the road, their position. Never the address, phone numbers, prices, the
customer's name or a handoff code.

Everything here is built from allow-lists (fields copied by name), so a field added to an
event, a snapshot or a position elsewhere never leaks through a link by accident.
"""

from core.timestamps import iso
from orders.lifecycle import CARRYING_STATUSES, order_is_final
from orders.models import DeliveryType, Order, OrderStatus, PaymentMethod
from orders.services.deadlines import sweep_overdue_on_read
from orders.tracking_links import order_for_tracking_token
from tracking.selectors import courier_location_for_order, event_payloads_after

PUBLIC_EVENT_FIELDS = (
    "event_type",
    "sequence",
    "order_number",
    "previous_status",
    "new_status",
    "status_name",
    "refund_status",
    "timestamp",
    "estimated_delivery_time",
    "actual_delivery_time",
)
PUBLIC_LOCATION_FIELDS = ("event_type", "latitude", "longitude", "recorded_at", "estimated_delivery_time")

# The steps of the timeline, in order: (key, label, statuses that reach the step).
# A step's label is the word the page's headline uses for its status (one word per state).
_PLACED = ("placed", OrderStatus.ORDER_PLACED.label, (OrderStatus.PAYMENT_PENDING, OrderStatus.ORDER_PLACED))
_PAID = ("paid", OrderStatus.PAYMENT_SUCCESS.label, (OrderStatus.PAYMENT_SUCCESS,))
_CONFIRMED = ("confirmed", OrderStatus.RESTAURANT_CONFIRMED.label, (OrderStatus.RESTAURANT_CONFIRMED,))
_PREPARING = ("preparing", OrderStatus.PREPARING.label, (OrderStatus.PREPARING,))
DELIVERY_STEPS = (
    _PLACED,
    _PAID,
    _CONFIRMED,
    _PREPARING,
    ("ready", OrderStatus.READY_FOR_PICKUP.label, (OrderStatus.READY_FOR_PICKUP,)),
    ("picked_up", OrderStatus.ORDER_PICKED_UP.label, (OrderStatus.ORDER_PICKED_UP,)),
    ("on_the_way", OrderStatus.OUT_FOR_DELIVERY.label, (OrderStatus.OUT_FOR_DELIVERY,)),
    ("delivered", OrderStatus.DELIVERED.label, (OrderStatus.DELIVERED, OrderStatus.COMPLETED)),
)
# A self-pickup order is collected, not delivered: its headline uses these words too.
PICKUP_STEPS = (
    _PLACED,
    _PAID,
    _CONFIRMED,
    _PREPARING,
    ("ready", "Ready to Collect", (OrderStatus.READY_FOR_PICKUP,)),
    ("delivered", "Collected", (OrderStatus.DELIVERED, OrderStatus.COMPLETED)),
)


def public_event(payload: dict, *, courier: dict | None = None) -> dict:
    """An event as a tracking link shows it, with the courier's first name when there is one."""
    return {**{name: payload[name] for name in PUBLIC_EVENT_FIELDS}, "courier": courier}


def public_location(location: dict) -> dict:
    return {name: location[name] for name in PUBLIC_LOCATION_FIELDS}


def tracking_steps(*, delivery_type: str, payment_method: str) -> list[dict]:
    steps = DELIVERY_STEPS if delivery_type == DeliveryType.DELIVERY else PICKUP_STEPS
    return [
        {"key": key, "label": label, "statuses": list(statuses)}
        for key, label, statuses in steps
        if key != "paid" or payment_method == PaymentMethod.ONLINE
    ]


def _courier(order: Order) -> dict | None:
    if order.courier is None:
        return None
    return {"first_name": order.courier.first_name.strip() or "Your courier"}


def _public_orders():
    return Order.objects.select_related("restaurant", "courier")


def _tracked_order(token) -> Order:
    """The order behind a link, once a deadline that has passed is carried out (as a poll of
    the order's status does): a link never shows an overdue order as still waiting."""
    order = order_for_tracking_token(token, queryset=_public_orders())
    if sweep_overdue_on_read(order_id=order.pk, deadline_at=order.deadline_at):
        order = order_for_tracking_token(token, queryset=_public_orders())
    return order


def public_status(order: Order) -> dict:
    """The lean status a tracking page polls: a few short fields from the order row."""
    return {
        "order_number": order.number,
        "status": order.status,
        "status_name": OrderStatus(order.status).label,
        "refund_status": order.refund_status,
        "final": order_is_final(status=order.status, refund_status=order.refund_status),
        "estimated_delivery_time": iso(order.estimated_delivery_at),
        "last_update": iso(order.updated_at),
        "sequence": order.sequence,
    }


def public_snapshot(order: Order) -> dict:
    """What a tracking socket starts with, and the page renders: the lean status, the restaurant,
    the courier's first name, and their position while the order is on the road."""
    on_the_road = order.status in CARRYING_STATUSES
    location = courier_location_for_order(order_id=order.pk) if on_the_road else None
    return {
        **public_status(order),
        "delivery_type": order.delivery_type,
        "restaurant": {
            "name": order.restaurant.name,
            "latitude": float(order.restaurant.latitude),
            "longitude": float(order.restaurant.longitude),
        },
        "courier": _courier(order),
        "courier_location": public_location(location) if location else None,
        # An order for later: the time the customer asked for.
        "fulfill_at": iso(order.fulfill_at),
    }


def tracked_order_status(token) -> dict:
    return public_status(_tracked_order(token))


def tracked_order_snapshot(token) -> tuple[str, dict]:
    """(order id, public snapshot) for a link; TrackingLinkNotFound if it opens nothing."""
    order = _tracked_order(token)
    return str(order.pk), public_snapshot(order)


def tracked_order_events(token, *, after: int = 0) -> list[dict]:
    order = order_for_tracking_token(token, queryset=_public_orders())
    courier = _courier(order)
    return [public_event(payload, courier=courier) for payload in event_payloads_after(order_id=order.pk, after=after)]


def tracked_order_page(token) -> dict:
    """Everything the tracking page renders: the snapshot, the steps and every event so far."""
    order = _tracked_order(token)
    courier = _courier(order)
    return {
        "order": order,
        "snapshot": public_snapshot(order),
        "steps": tracking_steps(delivery_type=order.delivery_type, payment_method=order.payment_method),
        "events": [
            public_event(payload, courier=courier) for payload in event_payloads_after(order_id=order.pk, after=0)
        ],
    }


def tracking_link_courier(*, token: str, order_id: str) -> tuple[bool, dict | None]:
    """(whether the link still opens this order, the courier's first name): a socket asks before
    each message it forwards, so a revoked link stops at once."""
    row = Order.objects.filter(pk=order_id, tracking_token=token).values("courier_id", "courier__first_name").first()
    if row is None:
        return False, None
    if row["courier_id"] is None:
        return True, None
    return True, {"first_name": (row["courier__first_name"] or "").strip() or "Your courier"}
