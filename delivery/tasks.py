"""Courier dispatch. Tasks take ids and call services; running one twice is harmless."""

from celery import shared_task

from delivery.dispatch import courier_assign_nearest, couriers_dispatch_waiting
from delivery.services import courier_offer_next


@shared_task
def courier_offer_task(order_id: str) -> int | None:
    offer = courier_offer_next(order_id=order_id)
    return offer.pk if offer else None


@shared_task
def courier_assign_task(order_id: str) -> int | None:
    order = courier_assign_nearest(order_id=order_id)
    return order.courier_id if order else None


@shared_task
def courier_offers_renew_task() -> int:
    """The beat pass of whichever dispatch mode is set (`delivery.dispatch`)."""
    return couriers_dispatch_waiting()
