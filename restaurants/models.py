import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class KitchenStatus(models.TextChoices):
    """What the kitchen says about its intake; `closed` is never set, it follows from the hours."""

    OPEN = "open", "Open"
    PAUSED = "paused", "Paused"
    BUSY = "busy", "Busy"


class SlotCapacityUnit(models.TextChoices):
    ORDERS = "orders", "Orders"
    ITEMS = "items", "Items"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class Restaurant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")
    is_open = models.BooleanField(default=True)
    delivery_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.0000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Fraction of the discounted subtotal, e.g. 0.0825 for 8.25%.",
    )
    average_prep_minutes = models.PositiveIntegerField(default=20)
    # The kitchen's intake (docs/kitchen.md): its weekly hours are in this time zone.
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    kitchen_status = models.CharField(max_length=16, choices=KitchenStatus.choices, default=KitchenStatus.OPEN)
    # A pause or busy spell ends by itself at this time (None: until staff end it).
    kitchen_status_until = models.DateTimeField(null=True, blank=True)
    # Busy: every quote is this much longer.
    busy_minutes = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(240)])
    # At most this many orders (or items) per 15-minute slot; None: no limit.
    slot_capacity = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    slot_capacity_unit = models.CharField(
        max_length=8, choices=SlotCapacityUnit.choices, default=SlotCapacityUnit.ORDERS
    )
    # Orders cooked at once: the quote waits for a station when more orders than this are ahead.
    kitchen_stations = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"


class StaffMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="restaurant_memberships")
    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=16, choices=StaffRole.choices, default=StaffRole.STAFF)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "restaurant"], name="unique_staff_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.restaurant} ({self.role})"


class MenuItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="menu_items")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    is_available = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["restaurant", "position", "name"]

    def __str__(self) -> str:
        return self.name


class CustomizationGroup(models.Model):
    menu_item = models.ForeignKey(MenuItem, on_delete=models.CASCADE, related_name="customization_groups")
    name = models.CharField(max_length=100)
    min_choices = models.PositiveSmallIntegerField(default=0)
    max_choices = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["menu_item", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_choices__lte=models.F("max_choices")), name="group_min_not_above_max"
            )
        ]

    def __str__(self) -> str:
        return f"{self.menu_item.name}: {self.name}"


class CustomizationChoice(models.Model):
    group = models.ForeignKey(CustomizationGroup, on_delete=models.CASCADE, related_name="choices")
    name = models.CharField(max_length=100)
    price_adjustment = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    is_available = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["group", "position", "id"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One opening of a weekday, in the restaurant's time zone; `closes` at or before `opens`
    runs past midnight. A restaurant with no rows at all takes orders at any hour."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["restaurant", "weekday", "opens"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class OpeningException(models.Model):
    """A date whose hours differ from the week's: closed all day (no times), or these hours."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="opening_exceptions")
    date = models.DateField()
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["restaurant", "date", "opens"]
        indexes = [models.Index(fields=["restaurant", "date"], name="opening_exception_date_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens__isnull=True, closes__isnull=True)
                | models.Q(opens__isnull=False, closes__isnull=False),
                name="opening_exception_both_times_or_none",
            )
        ]

    def __str__(self) -> str:
        if self.opens is None:
            return f"{self.date}: closed"
        return f"{self.date}: {self.opens:%H:%M}-{self.closes:%H:%M}"
