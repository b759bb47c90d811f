"""What leaves the system on its own: outbound webhooks, notifications, and the counters behind /metrics."""

import secrets

from django.conf import settings
from django.db import models

from orders.models import Order
from payments.models import Refund


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class EndpointState(models.TextChoices):
    ACTIVE = "active", "Active"
    # The circuit breaker opened: events are still recorded and wait for a person to re-enable it.
    PAUSED = "paused", "Paused after sustained failure"
    # Switched off by a person: nothing is recorded for it.
    DISABLED = "disabled", "Disabled"


class WebhookEndpoint(models.Model):
    """A subscription: every committed order event of the chosen types is POSTed to `url`.

    Platform-wide when `restaurant` is empty, else for that restaurant's orders only.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    restaurant = models.ForeignKey(
        "restaurants.Restaurant", on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_endpoints"
    )
    event_types = models.JSONField(default=list, blank=True, help_text="Event types to send; empty sends all.")
    secret = models.CharField(max_length=200, default=new_webhook_secret)
    # The secret before the last rotation: deliveries carry both signatures until it is cleared.
    previous_secret = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=EndpointState.choices, default=EndpointState.ACTIVE)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one endpoint, attempted until the endpoint answers 2xx or attempts run out.

    `event_id` is the same on every attempt (and in the body): receivers dedupe on it.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    tracking_event = models.ForeignKey(
        "orders.TrackingEvent", on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_deliveries"
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    sequence = models.PositiveIntegerField(default=0)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while a worker is posting it; a lease left by a worker that died runs out.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "tracking_event"],
                name="one_delivery_per_endpoint_event",
                condition=models.Q(tracking_event__isnull=False),
            )
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "order", "sequence"],
                name="webhook_pending_queue_idx",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["next_attempt_at"], name="webhook_pending_due_idx", condition=models.Q(state="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.sequence} to {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=32)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class NotificationKind(models.TextChoices):
    HANDOFF_CODE = "handoff_code", "Handoff code"
    PHONE_VERIFICATION = "phone_code", "Phone verification code"
    MILESTONE = "milestone", "Status milestone"
    OPERATOR = "operator", "Operator alert"


class Milestone(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    READY = "ready", "Ready"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


def all_milestones() -> list[str]:
    return list(Milestone.values)


class NotificationPreference(models.Model):
    """How a user wants to hear from orderflow; a user without a row gets the defaults (email, every milestone)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_enabled = models.BooleanField(default=True)
    sms_enabled = models.BooleanField(default=False)
    phone = models.CharField(max_length=32, blank=True)
    # When `phone` was proven to be the user's (a code sent to it typed back); no SMS goes to it before.
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    milestones = models.JSONField(default=all_milestones, blank=True)

    def __str__(self) -> str:
        return f"preferences of {self.user}"

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone) and self.phone_verified_at is not None


class PhoneVerification(models.Model):
    """The code that proves a user holds `phone`.

    Like a handoff code, the code is never stored: it is the HOTP value of a key derived from
    the server secret, the user and the number, at `counter`.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_verification")
    phone = models.CharField(max_length=32)
    counter = models.BigIntegerField()
    expires_at = models.DateTimeField()
    attempts_left = models.PositiveSmallIntegerField()
    sends = models.PositiveSmallIntegerField(default=1)
    last_sent_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"phone verification of {self.user_id}"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # A code message whose code was replaced (or used) before it could be sent.
    SUPERSEDED = "superseded", "Superseded"


class Notification(models.Model):
    """The outbox: one message for one recipient on one channel, and what became of it.

    A handoff code is never stored: `body` holds the placeholder CODE_PLACEHOLDER, filled in
    from the order's current code (delivery.HandoffCode) at the moment of sending.
    """

    CODE_PLACEHOLDER = "{code}"

    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient = models.CharField(max_length=254)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    code_purpose = models.CharField(max_length=16, blank=True)
    # HandoffCode.sends when the message was queued: a later resend supersedes it.
    code_sends = models.PositiveSmallIntegerField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while a worker is sending it; a lease left by a worker that died runs out.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="notification_due_idx", condition=models.Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} to {self.recipient}"


class SimulatedSmsMessage(models.Model):
    """The simulated SMS provider's books (the phone network's side): one row per message it accepted."""

    reference = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    to = models.CharField(max_length=32)
    text = models.TextField()
    calls = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"SMS {self.reference}"


class MetricSample(models.Model):
    """A counter shared by every process (web servers and workers), read by /metrics."""

    name = models.CharField(max_length=100)
    labels = models.CharField(max_length=300, blank=True)
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="one_metric_sample")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} = {self.value}"


class OverdueOrder(Order):
    """Orders whose deadline has passed and that the sweep has not carried out yet."""

    class Meta:
        proxy = True
        verbose_name = "order past its deadline"
        verbose_name_plural = "orders past their deadline"


class RefundNeedingAttention(Refund):
    """Refunds FAILED, or PROCESSING for too long."""

    class Meta:
        proxy = True
        verbose_name = "refund needing attention"
        verbose_name_plural = "refunds needing attention"
