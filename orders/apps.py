from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from orders.snapshots import active_user_forget

        # A deactivated (or deleted) user's next poll reads the user row, and is refused. (A cache
        # kept in step with the user model, not an effect of an order event: those are in
        # config/effects.py.)
        post_save.connect(active_user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="orders.active_user")
        post_delete.connect(active_user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="orders.active_user")
