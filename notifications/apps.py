from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, webhooks and operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.publishing import subscribe
        from delivery.signals import handoff_code_resent
        from notifications.subscribers import count_event, notify_code_resent, notify_order_event
        from notifications.webhooks import webhooks_record_event

        subscribe(count_event)
        subscribe(webhooks_record_event)
        subscribe(notify_order_event)
        # A code sent again is not an order event: delivery announces it with a signal.
        handoff_code_resent.connect(notify_code_resent, dispatch_uid="notifications.notify_code_resent")
