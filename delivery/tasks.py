"""Courier offers. Tasks take ids and call services; running one twice is harmless."""

from celery import shared_task

from delivery.services import courier_offer_next, courier_offers_renew


@shared_task
def courier_offer_task(order_id: str) -> int | None:
    offer = courier_offer_next(order_id=order_id)
    return offer.pk if offer else None


@shared_task
def courier_offers_renew_task() -> int:
    return courier_offers_renew()
