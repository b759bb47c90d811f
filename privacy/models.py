"""The audit trail of what was done with a person's data: who exported or erased whose, and when."""

from django.conf import settings
from django.db import models


class PrivacyAction(models.TextChoices):
    EXPORT = "export", "Export"
    ERASE = "erase", "Erasure"


class PrivacyAuditRecord(models.Model):
    """One export or erasure. `subject_id` is a plain number, not a foreign key: the record
    outlives what it is about, and names nobody."""

    action = models.CharField(max_length=16, choices=PrivacyAction.choices)
    subject_id = models.BigIntegerField(help_text="The id of the user whose data it was.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=16)
    at = models.DateTimeField()
    summary = models.JSONField(default=dict, blank=True, help_text="Counts only: what was exported or changed.")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["subject_id", "-at"], name="privacy_audit_subject_idx")]

    def __str__(self) -> str:
        return f"{self.action} of user {self.subject_id} at {self.at:%Y-%m-%d %H:%M}"
