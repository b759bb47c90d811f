"""What the restaurant and order admins' actions share: the intermediate page that asks for an
action's form, and a service's refusal as the text of an admin message."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from core.errors import ApplicationError


def action_form_page(
    model_admin: admin.ModelAdmin,
    request,
    queryset: QuerySet,
    *,
    form: forms.Form,
    title: str,
    submit_label: str,
    template: str,
) -> TemplateResponse:
    """The usual admin intermediate page of an action: the rows it acts on and its form."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "submit_label": submit_label,
        "form": form,
        "orders": queryset,
        "opts": model_admin.opts,
        "action_name": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, context)


def error_text(exc: ApplicationError) -> str:
    """A service's refusal in words, one line: each field's problems, or the problem's detail."""
    errors = getattr(exc, "errors", None)
    if errors:
        return " ".join(f"{field}: {' '.join(problems)}" for field, problems in errors.items())
    return exc.detail
