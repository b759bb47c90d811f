"""What the shared plumbing stores: Idempotency-Key records, revoked sign-ins, the outbox."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed for its repeats.

    Keyed by user and key (Stripe's rules): the same key with another request is refused,
    and a repeat while the first is still running is told to wait.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The rendered JSON, kept as text so a replay is byte-for-byte the first answer.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table was created by the orders app; moving the model kept it (core/migrations/0001).
        db_table = "orders_idempotencyrecord"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] ({self.state})"


class RevokedTokenFamily(models.Model):
    """A sign-in's refresh tokens (the first and every rotation of it), all revoked at once.

    Written when the sign-in ends (`POST /api/auth/logout/`) or when a refresh token that was
    already used is presented again (someone holds a copy): no token of the family refreshes any
    more. Kept until the family's last token would have expired.
    """

    family = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True)
    reason = models.CharField(max_length=16)
    revoked_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="revoked_family_expires_idx")]

    def __str__(self) -> str:
        return f"{self.family} ({self.reason})"


class PlatformOperations(models.Model):
    """No rows: holds the permissions of the platform's operators (auth's permission table needs a
    model). `view_metrics`: read /metrics (config/metrics.py), for a person; Prometheus uses
    ORDERFLOW_METRICS_TOKEN."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_metrics", "Can read the platform's metrics (/metrics)")]

    def __str__(self) -> str:
        return "platform operations"


class OutboxMessage(models.Model):
    """Something committed that must leave the process, written in the transaction that caused it.

    The relay (core/outbox.py) carries out every effect the registry (core/effects.py) lists for
    its `topic`, records each one in `done` as it goes and stamps `relayed_at` once all are:
    a crash between the commit and the last effect delays the rest, never loses them.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    # Names of the effects already carried out (a re-run skips them).
    done = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="outbox_unrelayed_idx", condition=models.Q(relayed_at__isnull=True)
            ),
            models.Index(
                fields=["relayed_at"], name="outbox_relayed_idx", condition=models.Q(relayed_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
