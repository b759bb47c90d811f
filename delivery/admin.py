from django.contrib import admin

from core.actors import Actor
from core.admin import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from delivery.models import CourierProfile, DeliveryDispute, HandoffCode
from delivery.services import delivery_dispute_open, delivery_dispute_resolve


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


@admin.register(DeliveryDispute)
class DeliveryDisputeAdmin(admin.ModelAdmin):
    """Open a dispute over a delivery (its courier track is then kept past retention); resolve it."""

    list_display = ("order", "reason", "opened_by", "opened_at", "resolved_at")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    list_select_related = ("order", "opened_by")
    search_fields = ("order__number",)
    raw_id_fields = ("order",)
    readonly_fields = ("opened_by", "opened_at", "resolved_at")
    actions = ["resolve"]

    def save_model(self, request, obj, form, change):
        dispute = delivery_dispute_open(order_id=obj.order_id, actor=Actor.admin(request.user), reason=obj.reason)
        obj.pk, obj.opened_at, obj.opened_by_id = dispute.pk, dispute.opened_at, dispute.opened_by_id

    @admin.action(description="Resolve the selected disputes")
    def resolve(self, request, queryset):
        for dispute in queryset:
            delivery_dispute_resolve(dispute_id=dispute.pk, actor=Actor.admin(request.user))
