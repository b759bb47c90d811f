"""Admin building blocks every app's admin uses, and the user admin's sign-out."""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from core.auth_tokens import refresh_tokens_revoke_all
from core.pagination import LongListPaginator

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class ReadOnlyAdminMixin(_AdminBase):
    """Rows written by services only: the admin shows them and changes nothing."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class SuperuserOnlyAdminMixin(_AdminBase):
    """Listed for platform operators only.

    Staff may hold the model's view permission to read these rows inside their own
    orders; the standalone list would show every restaurant's.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser


class EstimatedCountPaginator(LongListPaginator):
    """The admin's paginator for tables that grow without end (a year of orders): exact up to
    1,000 rows, PostgreSQL's estimate above (core.pagination.LongListPaginator); the admin shows
    "0 results" on a page past the end of a list, never an error."""


class SignOutUserAdmin(UserAdmin[User]):
    """Django's user admin, plus ending a user's sign-ins: "Sign out everywhere" revokes every
    refresh token they hold, as does deactivating them here (core/auth_tokens.py)."""

    actions = ["sign_out_everywhere"]

    @admin.action(description="Sign out everywhere (revoke every refresh token)", permissions=["change"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(refresh_tokens_revoke_all(user=user) for user in queryset)
        self.message_user(request, f"Signed out {len(queryset)} user(s); {revoked} refresh token(s) revoked.")

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[User], change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            refresh_tokens_revoke_all(user=obj)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), SignOutUserAdmin)
