from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from delivery.services import handoff_code_follow_order_change, otp_check
        from delivery.subscribers import offer_confirmed_orders
        from orders import hooks

        hooks.on_order_change(handoff_code_follow_order_change)
        hooks.handoff_verifier(otp_check)
        subscribe(offer_confirmed_orders)
