from django.contrib import admin

from orders.selectors import staff_restaurant_ids
from restaurants.models import CustomizationChoice, CustomizationGroup, MenuItem, Restaurant, StaffMembership


class RestaurantScopedAdmin(admin.ModelAdmin):
    """Staff see (and may pick) only their own restaurants' rows; superusers see all."""

    # The lookup from this admin's model to its restaurant's id.
    restaurant_lookup = "restaurant_id"

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.restaurant_lookup}__in": staff_restaurant_ids(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = {
            "restaurant": (Restaurant.objects.all(), "pk"),
            "group": (CustomizationGroup.objects.select_related("menu_item"), "menu_item__restaurant_id"),
        }
        if db_field.name in choices:
            rows, lookup = choices[db_field.name]
            if not request.user.is_superuser:
                rows = rows.filter(**{f"{lookup}__in": staff_restaurant_ids(request.user)})
            kwargs["queryset"] = rows
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    fields = ("user", "role")
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Restaurant)
class RestaurantAdmin(RestaurantScopedAdmin):
    restaurant_lookup = "pk"
    list_display = ("name", "address", "is_open", "currency", "delivery_fee", "tax_rate", "average_prep_minutes")
    list_filter = ("is_open",)
    search_fields = ("name", "address")
    inlines = (StaffMembershipInline,)


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
