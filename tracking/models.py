import uuid

from django.conf import settings
from django.db import models

from orders.models import ActorRole


class EventType(models.TextChoices):
    PLACED = "order.placed"
    STATUS_CHANGED = "order.status_changed"
    PAYMENT_SUCCEEDED = "order.payment_succeeded"
    PAYMENT_FAILED = "order.payment_failed"
    ASSIGNED = "order.assigned"
    READY_FOR_PICKUP = "order.ready_for_pickup"
    PICKED_UP = "order.picked_up"
    OUT_FOR_DELIVERY = "order.out_for_delivery"
    DELIVERED = "order.delivered"
    CANCELLED = "order.cancelled"
    REFUND_UPDATED = "order.refund_updated"


class TrackingEvent(models.Model):
    """One immutable entry in an order's history; `sequence` counts from 1 per order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=16, choices=ActorRole.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The order's delivery estimate when the event happened: payloads are snapshots.
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "sequence"]
        constraints = [models.UniqueConstraint(fields=["order", "sequence"], name="unique_event_sequence")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.sequence} {self.event_type}"
