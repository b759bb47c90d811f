"""A customer's data as one JSON document (GET /api/me/export/): their account, their orders
with lines, history, payments and refund, and the notifications sent to them."""

from django.db.models import Prefetch

from core.timestamps import iso
from notifications.models import Notification, NotificationPreference
from orders.models import Order, OrderItem, OrderItemCustomization, TrackingEvent
from orders.visibility import orders_placed_by


def _money(value) -> str | None:
    return None if value is None else str(value)


def _coordinate(value) -> str | None:
    return None if value is None else str(value)


def _account(user) -> dict:
    return {
        "id": user.pk,
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined": iso(user.date_joined),
        "last_login": iso(user.last_login),
    }


def _preferences(user) -> dict | None:
    preference = NotificationPreference.objects.filter(user=user).first()
    if preference is None:
        return None
    return {
        "email_enabled": preference.email_enabled,
        "sms_enabled": preference.sms_enabled,
        "phone": preference.phone,
        "phone_verified": preference.phone_verified,
        "milestones": preference.milestones,
    }


def _item(item: OrderItem) -> dict:
    return {
        "name": item.name,
        "quantity": item.quantity,
        "unit_price": _money(item.unit_price),
        "line_total": _money(item.line_total),
        "notes": item.notes,
        "customizations": [
            {"group": c.group_name, "choice": c.choice_name, "price_adjustment": _money(c.price_adjustment)}
            for c in item.customizations.all()
        ],
    }


def _event(event: TrackingEvent) -> dict:
    return {
        "sequence": event.sequence,
        "event_type": event.event_type,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "actor_role": event.actor_role,
        "actor_name": event.actor_name,
        "reason": event.reason,
        "metadata": event.metadata,
        "created_at": iso(event.created_at),
    }


def _order(order: Order) -> dict:
    refund = getattr(order, "refund", None)
    return {
        "id": str(order.pk),
        "number": order.number,
        "restaurant": order.restaurant.name,
        "status": order.status,
        "payment_status": order.payment_status,
        "payment_method": order.payment_method,
        "delivery_type": order.delivery_type,
        "delivery_status": order.delivery_status,
        "refund_status": order.refund_status,
        "currency": order.currency,
        "subtotal": _money(order.subtotal),
        "discount": _money(order.discount),
        "delivery_fee": _money(order.delivery_fee),
        "tip": _money(order.tip),
        "tax": _money(order.tax),
        "total": _money(order.total),
        "delivery_address": {
            "title": order.delivery_title,
            "street": order.delivery_street,
            "city": order.delivery_city,
            "state": order.delivery_state,
            "postal_code": order.delivery_postal_code,
            "country": order.delivery_country,
            "latitude": _coordinate(order.delivery_latitude),
            "longitude": _coordinate(order.delivery_longitude),
        },
        "notes": order.notes,
        "placed_at": iso(order.placed_at),
        "delivered_at": iso(order.delivered_at),
        "cancelled_at": iso(order.cancelled_at),
        "cancellation_reason": order.cancellation_reason,
        "items": [_item(item) for item in order.items.all()],
        "events": [_event(event) for event in order.events.all()],
        "payments": [
            {
                "provider": payment.provider,
                "status": payment.status,
                "amount": _money(payment.amount),
                "currency": payment.currency,
                "created_at": iso(payment.created_at),
            }
            for payment in order.payments.all()
        ],
        "refund": None
        if refund is None
        else {
            "status": refund.status,
            "amount": _money(refund.amount),
            "currency": refund.currency,
            "created_at": iso(refund.created_at),
            "completed_at": iso(refund.completed_at),
        },
    }


def _notification(notification: Notification) -> dict:
    return {
        "kind": notification.kind,
        "channel": notification.channel,
        "recipient": notification.recipient,
        "subject": notification.subject,
        # A code is never stored: its place in the text is marked, not filled.
        "body": notification.body,
        "state": notification.state,
        "created_at": iso(notification.created_at),
        "sent_at": iso(notification.sent_at),
    }


def customer_data(*, user) -> dict:
    """Everything the service holds about `user` as a customer, in a fixed number of queries."""
    orders = (
        orders_placed_by(user=user)
        .select_related("restaurant", "refund")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=OrderItem.objects.prefetch_related(
                    Prefetch("customizations", queryset=OrderItemCustomization.objects.order_by("id"))
                ).order_by("id"),
            ),
            Prefetch("events", queryset=TrackingEvent.objects.order_by("sequence")),
            "payments",
        )
        .order_by("placed_at")
    )
    notifications = Notification.objects.filter(user=user).order_by("created_at")
    return {
        "account": _account(user),
        "notification_preferences": _preferences(user),
        "orders": [_order(order) for order in orders],
        "notifications": [_notification(notification) for notification in notifications],
    }
