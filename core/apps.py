from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing every app uses; it imports no domain app."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
