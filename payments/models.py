import uuid

from django.db import models


class PaymentRecordStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="payments")
    provider = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentRecordStatus.choices, default=PaymentRecordStatus.PENDING)
    raw_payload = models.JSONField(default=dict, blank=True)
    # When `raw_payload` was cut down to PAYLOAD_KEPT_FIELDS (payments.services.payment_payloads_reduce).
    payload_reduced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                name="unique_provider_reference",
                condition=~models.Q(provider_reference=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"


class RefundRecordStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"


class Refund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One refund per order: whatever is retried, an order is paid back at most once.
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="refund")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=RefundRecordStatus.choices, default=RefundRecordStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} ({self.status})"


class PaymentWebhookEvent(models.Model):
    """A provider event that has been applied; its id is never applied twice.

    Written in the same transaction as the event's effect, so a delivery either did
    everything (and is remembered) or nothing (and may be delivered again).
    """

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=40)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="payment_webhook_events"
    )
    outcome = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="unique_provider_event"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} ({self.event_type})"


class SimulatedOperationKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class SimulatedProviderOperation(models.Model):
    """The simulated payment provider's own books (payments/providers.py).

    A real provider keeps these at its end; the simulation keeps them here so that they
    outlive processes and can be inspected: one row per operation that moved money,
    however many times it was asked for with the same idempotency key (`calls`).
    """

    kind = models.CharField(max_length=16, choices=SimulatedOperationKind.choices)
    idempotency_key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=100, unique=True)
    source_reference = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    calls = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.amount} {self.currency}"
