"""Delivery's subscribers to committed order events (registered in `DeliveryConfig.ready`)."""

from delivery.dispatch import OFFERS, dispatch_mode
from delivery.models import CourierOffer, OfferState
from delivery.tasks import courier_assign_task, courier_offer_task
from orders.models import DeliveryType, EventType, OrderStatus, TrackingEvent


def offer_confirmed_orders(event: TrackingEvent) -> None:
    """A confirmed delivery order gets its courier (assigned at once, or offered, by the dispatch
    mode); an order that got one (or ended) withdraws its open offer."""
    confirmed = event.event_type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.RESTAURANT_CONFIRMED
    if confirmed and event.order.delivery_type == DeliveryType.DELIVERY:
        task = courier_offer_task if dispatch_mode() == OFFERS else courier_assign_task
        task.delay(str(event.order_id))
    elif (
        event.event_type in (EventType.ASSIGNED, EventType.CANCELLED)
        and CourierOffer.objects.filter(order_id=event.order_id, state=OfferState.PENDING).exists()
    ):
        courier_offer_task.delay(str(event.order_id))
