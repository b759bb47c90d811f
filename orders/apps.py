from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from orders.snapshots import status_snapshot_on_event
        from orders.subscribers import log_event

        # First: a poll sees a transition no later than a socket does.
        subscribe(status_snapshot_on_event)
        subscribe(log_event)
