"""Thin tasks: take ids, call a service. Every one is safe to run twice."""

from celery import shared_task

from notifications.services import notification_send, notifications_dispatch_due
from notifications.webhooks import webhook_deliver_queue, webhooks_dispatch_due


@shared_task
def webhook_deliver_task(endpoint_id: int, order_id: str | None) -> int:
    return webhook_deliver_queue(endpoint_id=endpoint_id, order_id=order_id)


@shared_task
def webhooks_dispatch_due_task() -> int:
    return webhooks_dispatch_due()


@shared_task
def notification_send_task(notification_id: int) -> str | None:
    notification = notification_send(notification_id=notification_id)
    return notification.state if notification else None


@shared_task
def notifications_dispatch_due_task() -> int:
    return notifications_dispatch_due()
