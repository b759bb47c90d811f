"""Tracking-event subscribers (settings.ORDERFLOW_EVENT_SUBSCRIBERS), called after commit."""

from delivery.dispatch import OFFERS, dispatch_mode
from delivery.models import CourierOffer, OfferState
from orders.models import DeliveryType, OrderStatus
from tracking.models import EventType, TrackingEvent


def offer_confirmed_orders(event: TrackingEvent) -> None:
    """A confirmed delivery order gets its courier (assigned at once, or offered, by the dispatch
    mode); an order that got one (or ended) withdraws its open offer."""
    from delivery.tasks import courier_assign_task, courier_offer_task

    confirmed = event.event_type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.RESTAURANT_CONFIRMED
    if confirmed and event.order.delivery_type == DeliveryType.DELIVERY:
        task = courier_offer_task if dispatch_mode() == OFFERS else courier_assign_task
        task.delay(str(event.order_id))
    elif event.event_type in (EventType.ASSIGNED, EventType.CANCELLED) and CourierOffer.objects.filter(
        order_id=event.order_id, state=OfferState.PENDING
    ).exists():
        courier_offer_task.delay(str(event.order_id))
