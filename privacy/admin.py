"""The admin's side of personal data: erase a user (after a confirmation page), and the audit trail."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse

from core.actors import Actor
from core.admin import ReadOnlyAdminMixin, SignOutUserAdmin, SuperuserOnlyAdminMixin
from core.errors import ApplicationError
from privacy.models import PrivacyAuditRecord
from privacy.services import customer_erase

User = get_user_model()


@admin.register(PrivacyAuditRecord)
class PrivacyAuditRecordAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "action", "subject_id", "actor", "actor_role")
    list_filter = ("action",)
    search_fields = ("subject_id",)
    fields = ("at", "action", "subject_id", "actor", "actor_role", "summary")
    readonly_fields = fields


admin.site.unregister(User)


@admin.register(User)
class PersonalDataUserAdmin(SignOutUserAdmin):
    """The user admin of core (sign out everywhere), plus erasing a user's personal data."""

    actions = [*SignOutUserAdmin.actions, "erase_personal_data"]

    @admin.action(description="Erase personal data of the selected users", permissions=["change"])
    def erase_personal_data(self, request, queryset):
        if not request.user.is_superuser:
            self.message_user(request, "Only a superuser erases personal data.", messages.ERROR)
            return None
        if request.POST.get("confirm_erasure") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data?",
                "users": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "privacy/erase_confirm.html", context)
        for user in queryset:
            try:
                customer_erase(user_id=user.pk, actor=Actor.admin(request.user))
            except ApplicationError as exc:
                self.message_user(request, f"User {user.pk} not erased: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"User {user.pk}: personal data erased.", messages.SUCCESS)
        return None
