"""Admin building blocks every app's admin uses, and the user admin's sign-out."""

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from core.auth_tokens import refresh_tokens_revoke_all

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


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]  # Django's Paginator takes no type arguments at run time
    """The admin's paginator for tables that grow without end (a year of orders).

    Counting a list exactly reads every row it holds, so a changelist page would cost more
    the longer the history. This paginator asks PostgreSQL's planner how many rows the list
    holds (EXPLAIN: statistics, no rows read); below `EXACT_BELOW` it counts them exactly, as a
    small or well-filtered list should be; above, the page links use the estimate, and the last
    pages of a huge list may come out empty (the admin shows "0 results" there, never an error).
    """

    EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        estimate = self._planner_estimate()
        if estimate is None or estimate < self.EXACT_BELOW:
            return super().count
        return estimate

    def _planner_estimate(self) -> int | None:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return None
        connection = connections[getattr(self.object_list, "db", "default")]
        if connection.vendor != "postgresql":
            return None
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # a list that cannot hold a row (`.none()`, `__in` an empty list)
            return 0
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


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
