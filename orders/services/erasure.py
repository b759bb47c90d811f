"""Erasing a customer's personal data from their orders while the money records stay.

What identifies or locates the customer goes: the delivery address and its coordinates (the
order's copy, and the saved addresses it was placed to with their titles), the notes they wrote
(order and lines), the reasons they gave, their name on the order's history and the public
tracking link. What the books need stays: numbers, items, amounts, taxes, statuses and times.
"""

from typing import Any

from django.db import transaction

from core.actors import ActorRole
from orders.lifecycle import ACTIVE_STATUSES
from orders.models import CustomerAddress, Order, OrderItem, TrackingEvent

ERASED_NAME = "Erased customer"
# Event metadata a customer or courier may have written in their own words.
FREE_TEXT_METADATA = ("delivery_notes", "notes", "reason", "comment")


def customer_active_order_numbers(*, customer_id: int) -> list[str]:
    """Orders still on their way: erasure waits until they have ended."""
    return list(
        Order.objects.filter(customer_id=customer_id, status__in=ACTIVE_STATUSES)
        .order_by("placed_at")
        .values_list("number", flat=True)
    )


def customer_orders_anonymise(*, customer_id: int) -> list[Any]:
    """Anonymise every order of the customer; returns their ids. The caller holds a transaction."""
    with transaction.atomic():
        order_ids = list(Order.objects.select_for_update().filter(customer_id=customer_id).values_list("pk", flat=True))
        Order.objects.filter(pk__in=order_ids).update(
            delivery_street="",
            delivery_city="",
            delivery_state="",
            delivery_postal_code="",
            delivery_country="",
            delivery_latitude=None,
            delivery_longitude=None,
            delivery_address=None,
            delivery_title="",
            notes="",
            tracking_token=None,
        )
        Order.objects.filter(pk__in=order_ids, cancelled_by=ActorRole.CUSTOMER).update(cancellation_reason="")
        OrderItem.objects.filter(order_id__in=order_ids).exclude(notes="").update(notes="")
        events = TrackingEvent.objects.filter(order_id__in=order_ids)
        events.filter(actor_role=ActorRole.CUSTOMER).update(actor_name=ERASED_NAME, actor_user=None, reason="")
        for event in events.exclude(metadata={}).only("pk", "metadata"):
            kept = {key: value for key, value in event.metadata.items() if key not in FREE_TEXT_METADATA}
            if kept != event.metadata:
                TrackingEvent.objects.filter(pk=event.pk).update(metadata=kept)
        CustomerAddress.objects.filter(customer_id=customer_id).delete()
    return order_ids


def user_events_anonymise(*, user_id: int) -> int:
    """The user's name on events they made in any role (e.g. as staff of a restaurant)."""
    return TrackingEvent.objects.filter(actor_user_id=user_id).update(actor_name=ERASED_NAME, actor_user=None)
