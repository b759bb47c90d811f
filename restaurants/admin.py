"""The restaurant staff's admin: their restaurants (kitchen status, opening hours, staff
memberships) and menus.

Staff see only their own restaurants' rows. The order queue is `restaurants.order_admin`,
registered here because Django discovers only `admin.py`.
"""

from datetime import datetime, timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from core.errors import ApplicationError
from restaurants import order_admin  # noqa: F401  (registers the order admin)
from restaurants.admin_actions import action_form_page, error_text
from restaurants.hours import kitchen_status_payload
from restaurants.models import (
    CustomizationChoice,
    CustomizationGroup,
    KitchenStatus,
    MenuItem,
    OpeningException,
    OpeningHours,
    Restaurant,
    StaffMembership,
)
from restaurants.selectors import staff_restaurant_ids
from restaurants.services import restaurant_status_set


class RestaurantScopedAdmin(admin.ModelAdmin):
    """Staff see (and may pick) only their own restaurants' rows; superusers see all."""

    # The lookup from this admin's model to its restaurant's id.
    restaurant_lookup = "restaurant_id"

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.restaurant_lookup}__in": staff_restaurant_ids(request.user.pk)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = {
            "restaurant": (Restaurant.objects.all(), "pk"),
            "group": (CustomizationGroup.objects.select_related("menu_item"), "menu_item__restaurant_id"),
        }
        if db_field.name in choices:
            rows, lookup = choices[db_field.name]
            if not request.user.is_superuser:
                rows = rows.filter(**{f"{lookup}__in": staff_restaurant_ids(request.user.pk)})
            kwargs["queryset"] = rows
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    fields = ("user", "role")
    raw_id_fields = ("user",)
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    fields = ("weekday", "opens", "closes")
    extra = 0


class OpeningExceptionInline(admin.TabularInline):
    model = OpeningException
    fields = ("date", "opens", "closes", "note")
    extra = 0


class KitchenStatusForm(forms.Form):
    minutes = forms.TypedChoiceField(
        label="For",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "until changed"), (15, "15 minutes"), (30, "30 minutes"), (60, "1 hour"), (120, "2 hours")],
    )
    busy_minutes = forms.IntegerField(
        label="Busy: extra minutes", min_value=1, max_value=240, required=False, help_text="Only when marking busy."
    )


@admin.register(Restaurant)
class RestaurantAdmin(RestaurantScopedAdmin):
    restaurant_lookup = "pk"
    list_display = (
        "name",
        "address",
        "is_open",
        "kitchen_now",
        "currency",
        "delivery_fee",
        "tax_rate",
        "average_prep_minutes",
    )
    list_filter = ("is_open", "kitchen_status")
    search_fields = ("name", "address")
    inlines = (StaffMembershipInline, OpeningHoursInline, OpeningExceptionInline)
    actions = ("kitchen_pause", "kitchen_busy", "kitchen_open")

    @admin.display(description="Kitchen now")
    def kitchen_now(self, restaurant: Restaurant) -> str:
        state = kitchen_status_payload(restaurant, at=timezone.now())
        words = {"busy": f"busy +{state['busy_minutes']} min", "closed": "closed"}
        text = words.get(state["status"], state["status"])
        if state["until"]:
            text += f" until {timezone.localtime(datetime.fromisoformat(state['until'])):%H:%M}"
        return text

    def _set_kitchen_status(self, request, queryset, status: str, done: str):
        form = KitchenStatusForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            minutes = form.cleaned_data["minutes"]
            until = timezone.now() + timedelta(minutes=minutes) if minutes and status != KitchenStatus.OPEN else None
            busy = form.cleaned_data["busy_minutes"] if status == KitchenStatus.BUSY else None
            for restaurant in queryset:
                try:
                    restaurant_status_set(
                        user=request.user, restaurant_id=restaurant.pk, status=status, until=until, busy_minutes=busy
                    )
                except ApplicationError as exc:
                    self.message_user(request, f"{restaurant.name}: {error_text(exc)}", messages.ERROR)
                else:
                    self.message_user(request, f"{restaurant.name}: {done}.", messages.SUCCESS)
            return None
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title=f"Kitchen: {done}",
            submit_label=done.capitalize(),
            template="admin/restaurants/restaurant/kitchen_status_form.html",
        )

    @admin.action(description="Pause new orders", permissions=["view"])
    def kitchen_pause(self, request, queryset):
        return self._set_kitchen_status(request, queryset, KitchenStatus.PAUSED, "paused")

    @admin.action(description="Mark busy (longer quotes)", permissions=["view"])
    def kitchen_busy(self, request, queryset):
        return self._set_kitchen_status(request, queryset, KitchenStatus.BUSY, "busy")

    @admin.action(description="Open for orders", permissions=["view"])
    def kitchen_open(self, request, queryset):
        return self._set_kitchen_status(request, queryset, KitchenStatus.OPEN, "open")


class CustomizationGroupInline(admin.TabularInline):
    model = CustomizationGroup
    fields = ("name", "min_choices", "max_choices", "position")
    extra = 0


@admin.register(MenuItem)
class MenuItemAdmin(RestaurantScopedAdmin):
    list_display = ("name", "restaurant", "price", "is_available", "position")
    list_filter = (("restaurant", admin.RelatedOnlyFieldListFilter), "is_available")
    list_select_related = ("restaurant",)
    search_fields = ("name", "description")
    inlines = (CustomizationGroupInline,)


@admin.register(CustomizationChoice)
class CustomizationChoiceAdmin(RestaurantScopedAdmin):
    restaurant_lookup = "group__menu_item__restaurant_id"
    list_display = ("name", "group_name", "menu_item", "restaurant", "price_adjustment", "is_available", "position")
    list_filter = ("is_available",)
    list_select_related = ("group__menu_item__restaurant",)
    search_fields = ("name", "group__name", "group__menu_item__name")

    @admin.display(description="Group", ordering="group__name")
    def group_name(self, choice: CustomizationChoice) -> str:
        return choice.group.name

    @admin.display(description="Menu item", ordering="group__menu_item__name")
    def menu_item(self, choice: CustomizationChoice):
        return choice.group.menu_item

    @admin.display(description="Restaurant", ordering="group__menu_item__restaurant__name")
    def restaurant(self, choice: CustomizationChoice):
        return choice.group.menu_item.restaurant
