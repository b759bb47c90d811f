from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import hooks
        from payments.services import payments_follow_order_change

        hooks.on_order_change(payments_follow_order_change)
