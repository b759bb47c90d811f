from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, webhooks and operations"

    def ready(self) -> None:
        # A code sent again is not a tracking event: delivery announces it with a signal.
        from delivery.signals import handoff_code_resent
        from notifications.subscribers import notify_code_resent

        handoff_code_resent.connect(notify_code_resent, dispatch_uid="notifications.notify_code_resent")
