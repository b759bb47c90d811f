"""Delivery's subscribers to committed order events (registered in `DeliveryConfig.ready`)."""

from delivery.models import CourierOffer, OfferState
from delivery.tasks import courier_offer_task
from orders.models import DeliveryType, EventType, OrderStatus, TrackingEvent


def offer_confirmed_orders(event: TrackingEvent) -> None:
    """A confirmed delivery order looks for a courier; an order that got one (or ended) stops."""
    confirmed = event.event_type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.RESTAURANT_CONFIRMED
    if (confirmed and event.order.delivery_type == DeliveryType.DELIVERY) or (
        event.event_type in (EventType.ASSIGNED, EventType.CANCELLED)
        and CourierOffer.objects.filter(order_id=event.order_id, state=OfferState.PENDING).exists()
    ):
        courier_offer_task.delay(str(event.order_id))
