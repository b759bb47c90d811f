from datetime import datetime, timedelta
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import NotFound, ValidationFailed
from core.outbox import outbox_write
from core.parsers import parse_uuid
from restaurants.models import (
    KitchenStatus,
    OpeningException,
    OpeningHours,
    Restaurant,
    StaffMembership,
    validate_time_zone,
)

STAFF_GROUP_NAME = "Restaurant staff"

# What restaurant staff need in the admin: act on their orders (through the admin
# actions, which need "change"), read the rest. Which rows they see is decided by
# the admin's querysets (orders.visibility), not by these model permissions.
STAFF_GROUP_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "order"): ("view", "change"),
    ("orders", "orderitem"): ("view",),
    ("orders", "trackingevent"): ("view",),
    ("payments", "payment"): ("view",),
    ("payments", "refund"): ("view",),
    ("restaurants", "restaurant"): ("view",),
    ("restaurants", "staffmembership"): ("view",),
    ("restaurants", "menuitem"): ("view",),
    ("restaurants", "customizationgroup"): ("view",),
    ("restaurants", "customizationchoice"): ("view",),
}


def _create_model_permissions(app_label: str, apps: Apps) -> None:
    # Django creates permissions after the last migration (post_migrate); a data
    # migration on a fresh database runs before that, so create them here.
    app_config = apps.get_app_config(app_label)
    historical = not getattr(app_config, "models_module", None)
    if historical:
        app_config.models_module = True  # type: ignore[assignment]  # "has models", as Django reads it
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        if historical:
            app_config.models_module = None


def staff_group_ensure(*, apps: Apps = global_apps):
    """The "Restaurant staff" group with (at least) the permissions above; safe to call again.

    `apps` is the registry to use: a data migration passes its historical one.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_label in {app_label for app_label, _ in STAFF_GROUP_PERMISSIONS}:
        _create_model_permissions(app_label, apps)
    wanted = Q(pk__in=[])
    for (app_label, model), actions in STAFF_GROUP_PERMISSIONS.items():
        wanted |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP_NAME)
    group.permissions.add(*Permission.objects.filter(wanted))
    return group


# ---------------------------------------------------------------- the kitchen's status

MAX_STATUS_SPELL = timedelta(days=7)

# The outbox topic of a kitchen whose status or hours changed, `{"restaurant_id"}`
# (config/effects.py lists what it sets off: the board and the listing hear of it).
KITCHEN_STATUS_TOPIC = "restaurant.kitchen_status"
MAX_BUSY_MINUTES = 240


def _staff_restaurant(*, user: AbstractBaseUser, restaurant_id: Any, for_update: bool = True) -> Restaurant:
    """The restaurant (locked, for a write) if `user` works there or is a platform admin; else 404."""
    restaurant_uuid = parse_uuid(restaurant_id)
    restaurant = None
    if restaurant_uuid is not None and user.is_authenticated:
        rows = Restaurant.objects.filter(pk=restaurant_uuid)
        if not getattr(user, "is_superuser", False):
            rows = rows.filter(pk__in=StaffMembership.objects.filter(user_id=user.pk).values("restaurant_id"))
        restaurant = (rows.select_for_update() if for_update else rows).first()
    if restaurant is None:
        raise NotFound("No restaurant with this id is yours.", code="restaurant_not_found")
    return restaurant


def _kitchen_status_changed(restaurant_id: Any) -> None:
    """Record, in the change's transaction, that the kitchen's screens must hear of it."""
    outbox_write(topic=KITCHEN_STATUS_TOPIC, payload={"restaurant_id": str(restaurant_id)})


def restaurant_status_set(
    *,
    user: AbstractBaseUser,
    restaurant_id: Any,
    status: str,
    until: datetime | None = None,
    busy_minutes: int | None = None,
    now: datetime | None = None,
) -> Restaurant:
    """Open, pause (no new orders) or mark busy (quotes longer by `busy_minutes`) a kitchen,
    optionally until a time; the board and the listing hear of it after the commit."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if status not in KitchenStatus.values:
        errors["status"] = [f"One of {', '.join(KitchenStatus.values)}."]
    if until is not None and status == KitchenStatus.OPEN:
        errors["until"] = ["Only a pause or a busy spell has an end time."]
    elif until is not None and not now < until <= now + MAX_STATUS_SPELL:
        errors["until"] = [f"A time in the future, at most {MAX_STATUS_SPELL.days} days ahead."]
    if status == KitchenStatus.BUSY:
        if busy_minutes is None or not 1 <= busy_minutes <= MAX_BUSY_MINUTES:
            errors["busy_minutes"] = [f"Busy needs the extra minutes, from 1 to {MAX_BUSY_MINUTES}."]
    elif busy_minutes:
        errors["busy_minutes"] = ["Only a busy kitchen adds minutes."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        restaurant = _staff_restaurant(user=user, restaurant_id=restaurant_id)
        restaurant.kitchen_status = status
        restaurant.kitchen_status_until = until
        restaurant.busy_minutes = busy_minutes or 0
        restaurant.save(update_fields=["kitchen_status", "kitchen_status_until", "busy_minutes"])
        _kitchen_status_changed(restaurant.pk)
    return restaurant


def restaurants_status_expire(*, now: datetime | None = None) -> int:
    """Clear the pauses and busy spells whose end time has passed, and tell the screens.

    Reads never need this (the effective status reads `until`); it is what makes the board and
    the listing change by themselves. A conditional UPDATE per restaurant: two runs at once
    clear (and announce) each spell once.
    """
    now = now or timezone.now()
    expired = Restaurant.objects.exclude(kitchen_status=KitchenStatus.OPEN).filter(kitchen_status_until__lte=now)
    cleared = 0
    for restaurant_id in list(expired.values_list("pk", flat=True)):
        with transaction.atomic():
            updated = Restaurant.objects.filter(pk=restaurant_id, kitchen_status_until__lte=now).update(
                kitchen_status=KitchenStatus.OPEN, kitchen_status_until=None, busy_minutes=0
            )
            if updated:
                _kitchen_status_changed(restaurant_id)
                cleared += 1
    return cleared


def restaurant_hours_set(
    *,
    user: AbstractBaseUser,
    restaurant_id: Any,
    time_zone: str,
    weekly: list[dict],
    exceptions: list[dict],
) -> Restaurant:
    """Replace the restaurant's weekly hours and exceptions (each a dict of the model's fields)."""
    errors: dict[str, list[str]] = {}
    try:
        validate_time_zone(time_zone)
    except DjangoValidationError as exc:
        errors["time_zone"] = list(exc.messages)
    for index, row in enumerate(weekly):
        if row["opens"] == row["closes"]:
            errors[f"weekly[{index}]"] = ["Opens and closes at the same time."]
    for index, row in enumerate(exceptions):
        if (row.get("opens") is None) != (row.get("closes") is None):
            errors[f"exceptions[{index}]"] = ["Give both times, or neither for a day closed."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        restaurant = _staff_restaurant(user=user, restaurant_id=restaurant_id)
        restaurant.time_zone = time_zone
        restaurant.save(update_fields=["time_zone"])
        OpeningHours.objects.filter(restaurant=restaurant).delete()
        OpeningException.objects.filter(restaurant=restaurant).delete()
        OpeningHours.objects.bulk_create(OpeningHours(restaurant=restaurant, **row) for row in weekly)
        OpeningException.objects.bulk_create(OpeningException(restaurant=restaurant, **row) for row in exceptions)
        _kitchen_status_changed(restaurant.pk)
    return restaurant


def restaurant_for_staff(*, user: AbstractBaseUser, restaurant_id: Any) -> Restaurant:
    """The restaurant if `user` works there (or is a platform admin); else 404."""
    return _staff_restaurant(user=user, restaurant_id=restaurant_id, for_update=False)
