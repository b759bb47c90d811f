"""Delivery's subscribers to committed order events (registered in `DeliveryConfig.ready`)."""

from delivery.dispatch import OFFERS, dispatch_mode
from delivery.models import CourierOffer, OfferState
from delivery.tasks import courier_assign_task, courier_offer_task
from orders.models import DeliveryType, EventType, OrderStatus, TrackingEvent


def offer_confirmed_orders(event: TrackingEvent) -> None:
    """A confirmed delivery order gets its courier (assigned at once, or offered, by the dispatch
    mode); an order that got one (or ended) withdraws its open offer."""
    offer_confirmed_orders_many([event])


def offer_confirmed_orders_many(events: list[TrackingEvent]) -> None:
    """The same for a batch of committed events (a sweep's cancellations): one query for all."""
    ending = (EventType.ASSIGNED, EventType.CANCELLED)
    ended = {event.order_id for event in events if event.event_type in ending}
    with_open_offer = (
        set(
            CourierOffer.objects.filter(order_id__in=ended, state=OfferState.PENDING).values_list("order_id", flat=True)
        )
        if ended
        else set()
    )
    for event in events:
        confirmed = event.event_type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.RESTAURANT_CONFIRMED
        if confirmed and event.order.delivery_type == DeliveryType.DELIVERY:
            task = courier_offer_task if dispatch_mode() == OFFERS else courier_assign_task
            task.delay(str(event.order_id))
        elif event.event_type in ending and event.order_id in with_open_offer:
            courier_offer_task.delay(str(event.order_id))


offer_confirmed_orders.many = offer_confirmed_orders_many  # type: ignore[attr-defined]  # the registry's batch hook (core.publishing)
