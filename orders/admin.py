from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from orders.models import TrackingEvent


@admin.register(TrackingEvent)
class TrackingEventAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin[TrackingEvent]):
    """Every order's history across restaurants, for operators; staff read it on their orders' pages."""

    list_display = (
        "order",
        "sequence",
        "event_type",
        "from_status",
        "to_status",
        "actor_role",
        "actor_name",
        "created_at",
    )
    list_filter = ("event_type", "actor_role")
    list_select_related = ("order",)
    search_fields = ("order__number", "actor_name", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
