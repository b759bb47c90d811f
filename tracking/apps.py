from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from restaurants.hooks import on_kitchen_status_change
        from tracking.broadcast import broadcast_event, broadcast_kitchen_status

        subscribe(broadcast_event)
        on_kitchen_status_change(broadcast_kitchen_status)
