from django.contrib import admin, messages

from core.actors import Actor
from core.admin import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from core.errors import ApplicationError
from payments.models import Payment, PaymentWebhookEvent, Refund, RefundRecordStatus
from payments.services import refund_retry


@admin.register(Payment)
class PaymentAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "provider", "provider_reference", "amount", "currency", "status", "created_at")
    list_filter = ("status", "provider")
    list_select_related = ("order",)
    search_fields = ("order__number", "provider_reference")
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(SuperuserOnlyAdminMixin, admin.ModelAdmin):
    """Read-only rows; the one thing an operator does here is send failed refunds round again."""

    list_display = ("order", "amount", "currency", "status", "attempts", "last_error", "created_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("order",)
    search_fields = ("order__number", "provider_reference")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Refund._meta.fields]
    actions = ["retry_refunds"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected failed refunds", permissions=["change"])
    def retry_refunds(self, request, queryset):
        actor = Actor.admin(request.user)
        retried = 0
        for refund_id in queryset.filter(status=RefundRecordStatus.FAILED).values_list("pk", flat=True):
            try:
                refund_retry(refund_id=refund_id, actor=actor)
                retried += 1
            except ApplicationError as exc:
                self.message_user(request, f"Refund {refund_id}: {exc.detail}", messages.ERROR)
        skipped = queryset.count() - retried
        self.message_user(request, f"{retried} refund(s) queued again; {skipped} not failed, left as they are.")


@admin.register(PaymentWebhookEvent)
class PaymentWebhookEventAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "provider", "event_type", "order", "outcome", "received_at")
    list_filter = ("provider", "event_type", "outcome")
    list_select_related = ("order",)
    search_fields = ("event_id", "order__number")
