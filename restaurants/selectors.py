"""Reads of the catalogue (what a signed-in user may order from) and of who works where."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from core.errors import NotFound
from core.parsers import parse_uuid
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant, StaffMembership


def restaurants_open(*, search: str = "") -> QuerySet[Restaurant]:
    restaurants = Restaurant.objects.filter(is_open=True).prefetch_related("opening_hours", "opening_exceptions")
    if search:
        restaurants = restaurants.filter(name__icontains=search)
    return restaurants.order_by("name", "id")


def restaurant_menu(*, restaurant_id) -> Restaurant:
    """The restaurant with its available items, their customization groups and available choices."""
    restaurant_uuid = parse_uuid(restaurant_id)
    groups = CustomizationGroup.objects.order_by("position", "id").prefetch_related(
        Prefetch("choices", queryset=CustomizationChoice.objects.filter(is_available=True).order_by("position", "id"))
    )
    items = (
        MenuItem.objects.filter(is_available=True)
        .order_by("position", "name", "id")
        .prefetch_related(Prefetch("customization_groups", queryset=groups))
    )
    restaurant = (
        Restaurant.objects.filter(pk=restaurant_uuid).prefetch_related(Prefetch("menu_items", queryset=items)).first()
        if restaurant_uuid
        else None
    )
    if restaurant is None:
        raise NotFound("No restaurant with this id.", code="restaurant_not_found")
    return restaurant


def staff_restaurant_ids(user_id: Any) -> list[Any]:
    """The ids of the restaurants the user `user_id` works at (none for None), as values: a list
    filtered on them is served by the restaurant's index, where a join on memberships is not."""
    return list(StaffMembership.objects.filter(user_id=user_id).values_list("restaurant_id", flat=True))
