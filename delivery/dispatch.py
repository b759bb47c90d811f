"""Courier dispatch: how a confirmed delivery order gets its courier (`ORDERFLOW_COURIER_DISPATCH`).

`auto` (the default, as the order-process API documents it: "automatically assigned when order
confirmed") gives the order to the nearest free online courier at once; when nobody is free it
waits in the available list, and the beat task assigns it as soon as a courier is free. `offers`
offers it to one courier at a time (`delivery.services.courier_offer_next`). In both modes any
online courier may still claim a waiting order (`POST /api/orders/{id}/accept/`).

`ORDERFLOW_COURIER_DISPATCH_TIMING` says when `auto` assigns: `confirmation` (at once) or
`ready`: when the nearest free courier's ride to the restaurant ends at the quoted ready time
(docs/kitchen.md), so the courier does not wait at the counter and the food not on the pass;
until then the order waits and the beat pass assigns it once its moment has come.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.geo import travel_minutes
from delivery.models import CourierProfile
from delivery.services import courier_offers_renew, nearest_free_courier, order_assign_courier, order_wants_courier
from orders.lifecycle import ACTIVE_STATUSES
from orders.models import Order
from orders.visibility import orders_assigned_to, orders_available_to_couriers

logger = logging.getLogger(__name__)

OFFERS = "offers"
# When `auto` assigns: at confirmation, or timed to the quoted ready time.
CONFIRMATION = "confirmation"
READY = "ready"


def dispatch_mode() -> str:
    return settings.ORDERFLOW_COURIER_DISPATCH


def dispatch_due(order: Order, *, distance_km: float, now: datetime) -> bool:
    """Whether a courier this far from the restaurant should set off now (timed dispatch)."""
    if settings.ORDERFLOW_COURIER_DISPATCH_TIMING != READY or order.estimated_ready_at is None:
        return True
    return now >= order.estimated_ready_at - timedelta(minutes=travel_minutes(distance_km))


def courier_assign_nearest(*, order_id: Any) -> Order | None:
    """Give a delivery order that needs a courier to the nearest free online one; safe to repeat.

    Returns the order once assigned, or None when it needs no courier or nobody is free. The
    chosen courier's profile is locked and checked again, so two orders confirmed at once do
    not land on one courier.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("restaurant").filter(pk=order_id).first()
        if order is None or not order_wants_courier(order):
            return None
        found = nearest_free_courier(order)
        if found is None:
            logger.info("no free courier for order %s; it waits in the available list", order.pk)
            return None
        candidate, distance = found
        if not dispatch_due(order, distance_km=distance, now=timezone.now()):
            return None
        profile = CourierProfile.objects.select_for_update().select_related("user").get(pk=candidate.pk)
        busy = orders_assigned_to(courier_id=profile.user_id).filter(status__in=ACTIVE_STATUSES).exists()
        if busy or not profile.is_online:
            return None
        assigned = order_assign_courier(order_id=order.pk, courier=profile.user, actor=Actor.system("dispatch"))
    logger.info("order %s assigned to courier %s (%.2f km)", assigned.pk, profile.user_id, distance)
    return assigned


def couriers_dispatch_waiting(*, limit: int = 100) -> int:
    """The periodic pass: in `auto` mode assign waiting orders, oldest confirmation first; in
    `offers` mode renew expired and missing offers. Returns how many orders it moved on."""
    if dispatch_mode() == OFFERS:
        return courier_offers_renew(limit=limit)
    waiting = list(orders_available_to_couriers().order_by("confirmed_at").values_list("pk", flat=True)[:limit])
    return sum(1 for order_id in waiting if courier_assign_nearest(order_id=order_id) is not None)
