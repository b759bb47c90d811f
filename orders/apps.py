from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from core.publishing import subscribe
        from orders.snapshots import active_user_forget, status_snapshot_on_event
        from orders.subscribers import log_event

        # First: a poll sees a transition no later than a socket does.
        subscribe(status_snapshot_on_event)
        subscribe(log_event)
        # A deactivated (or deleted) user's next poll reads the user row, and is refused.
        post_save.connect(active_user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="orders.active_user")
        post_delete.connect(active_user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="orders.active_user")
