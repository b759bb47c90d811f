"""Delivery's subscribers to committed order events (registered in `DeliveryConfig.ready`)."""

from delivery.models import CourierOffer, OfferState
from delivery.tasks import courier_offer_task
from orders.models import DeliveryType, EventType, OrderStatus, TrackingEvent


def offer_confirmed_orders(event: TrackingEvent) -> None:
    """A confirmed delivery order looks for a courier; an order that got one (or ended) stops."""
    offer_confirmed_orders_many([event])


def offer_confirmed_orders_many(events: list[TrackingEvent]) -> None:
    """The same for a batch of committed events (a sweep's cancellations): one query for all."""
    confirmed = {
        event.order_id
        for event in events
        if event.event_type == EventType.STATUS_CHANGED
        and event.to_status == OrderStatus.RESTAURANT_CONFIRMED
        and event.order.delivery_type == DeliveryType.DELIVERY
    }
    ended = {event.order_id for event in events if event.event_type in (EventType.ASSIGNED, EventType.CANCELLED)}
    with_open_offer = (
        set(
            CourierOffer.objects.filter(order_id__in=ended, state=OfferState.PENDING).values_list("order_id", flat=True)
        )
        if ended
        else set()
    )
    for event in events:
        if event.order_id in confirmed or event.order_id in with_open_offer:
            courier_offer_task.delay(str(event.order_id))


offer_confirmed_orders.many = offer_confirmed_orders_many
