from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from delivery.models import CourierProfile, HandoffCode


@admin.register(CourierProfile)
class CourierProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "phone", "is_online", "latitude", "longitude", "location_updated_at")
    list_filter = ("is_online",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "phone")
    raw_id_fields = ("user",)
    readonly_fields = ("location_updated_at",)


@admin.register(HandoffCode)
class HandoffCodeAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Why a handoff is stuck (expired, locked, resent too often), for operators.

    The code is never stored, and the counter it is derived from is never shown.
    """

    fields = ("order", "purpose", "expires_at", "attempts_left", "verified_at", "sends", "last_sent_at", "created_at")
    readonly_fields = fields
    list_display = ("order", "purpose", "expires_at", "attempts_left", "verified_at", "sends", "last_sent_at")
    list_filter = ("purpose",)
    list_select_related = ("order",)
    search_fields = ("order__number",)
