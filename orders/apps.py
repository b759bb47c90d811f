from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from orders.subscribers import log_event

        subscribe(log_event)
