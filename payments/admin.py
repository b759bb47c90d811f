from django.contrib import admin

from orders.admin import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from payments.models import Payment, Refund


@admin.register(Payment)
class PaymentAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "provider", "provider_reference", "amount", "currency", "status", "created_at")
    list_filter = ("status", "provider")
    list_select_related = ("order",)
    search_fields = ("order__number", "provider_reference")
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "amount", "currency", "status", "attempts", "last_error", "created_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("order",)
    search_fields = ("order__number", "provider_reference")
    date_hierarchy = "created_at"
