from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from tracking.broadcast import broadcast_event

        subscribe(broadcast_event)
