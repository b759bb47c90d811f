"""Admin building blocks every app's admin uses, and the user admin's sign-out."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from core.auth_tokens import refresh_tokens_revoke_all


class ReadOnlyAdminMixin:
    """Rows written by services only: the admin shows them and changes nothing."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuperuserOnlyAdminMixin:
    """Listed for platform operators only.

    Staff may hold the model's view permission to read these rows inside their own
    orders; the standalone list would show every restaurant's.
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class SignOutUserAdmin(UserAdmin):
    """Django's user admin, plus ending a user's sign-ins: "Sign out everywhere" revokes every
    refresh token they hold, as does deactivating them here (core/auth_tokens.py)."""

    actions = ["sign_out_everywhere"]

    @admin.action(description="Sign out everywhere (revoke every refresh token)", permissions=["change"])
    def sign_out_everywhere(self, request, queryset):
        revoked = sum(refresh_tokens_revoke_all(user=user) for user in queryset)
        self.message_user(request, f"Signed out {len(queryset)} user(s); {revoked} refresh token(s) revoked.")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            refresh_tokens_revoke_all(user=obj)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), SignOutUserAdmin)
