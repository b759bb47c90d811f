from django.conf import settings
from django.db import models

from orders.models import HandoffPurpose


class CourierProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="courier_profile")
    phone = models.CharField(max_length=32, blank=True)
    is_online = models.BooleanField(default=False)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["is_online"], name="courier_online_idx")]

    def __str__(self) -> str:
        return f"courier {self.user}"


class CourierLocation(models.Model):
    courier = models.ForeignKey(CourierProfile, on_delete=models.CASCADE, related_name="locations")
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["courier", "-recorded_at"], name="courier_location_recent_idx"),
            models.Index(fields=["recorded_at"], name="courier_location_age_idx"),
        ]

    def __str__(self) -> str:
        return f"courier {self.courier_id} at {self.latitude},{self.longitude}"


class HandoffCode(models.Model):
    """A one-time code for handing an order over.

    The code itself is never stored: it is the HOTP value of a key derived from the
    server secret and the order, at `counter`. A database dump therefore reveals no
    working code, while the service can still show it to whoever may read it.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="handoff_codes")
    purpose = models.CharField(max_length=16, choices=HandoffPurpose.choices)
    counter = models.BigIntegerField()
    expires_at = models.DateTimeField()
    attempts_left = models.PositiveSmallIntegerField()
    verified_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveSmallIntegerField(default=1)
    last_sent_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "purpose"], name="one_code_per_order_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.order_id}"


class OfferState(models.TextChoices):
    PENDING = "pending", "Waiting for the courier"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class CourierOffer(models.Model):
    """An order offered to one courier, who may accept it until `expires_at`.

    An order has at most one pending offer, and is offered to each courier at most once.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="courier_offers")
    courier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="courier_offers")
    distance_km = models.DecimalField(max_digits=8, decimal_places=3)
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=OfferState.choices, default=OfferState.PENDING)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "offered_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "courier"], name="one_offer_per_order_courier"),
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(state="pending"), name="one_pending_offer_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="offer_pending_expiry_idx", condition=models.Q(state="pending")),
            models.Index(fields=["courier", "state"], name="offer_courier_state_idx"),
        ]

    def __str__(self) -> str:
        return f"offer of {self.order_id} to {self.courier_id} ({self.state})"


class DeliveryDispute(models.Model):
    """A delivery someone questions (never arrived, wrong door): while it is open, the courier's
    track of that delivery is kept past the retention limit for locations."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="delivery_dispute")
    reason = models.CharField(max_length=500)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dispute over {self.order_id}"
