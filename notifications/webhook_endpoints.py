"""What a person does to webhook endpoints and deliveries, from the admin or the API.

Enable an endpoint (closing the breaker; its pending queues go out again in order) or disable
it, send it a `webhook.test` event, send one delivery again, or replay every order event of a
time range. Recording and delivering are `notifications.webhooks`; these only queue work for it.
"""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, NotFound, ValidationFailed
from notifications.models import DeliveryState, EndpointState, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import TEST_EVENT_TYPE, delivery_of, orderless_delivery, queue_after_commit
from orders.models import TrackingEvent

logger = logging.getLogger(__name__)


def webhook_endpoint_enable(*, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    """A person closes the breaker (or switches a disabled endpoint back on): pending events go out in order."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
        endpoint.state = EndpointState.ACTIVE
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.paused_at = None
        endpoint.paused_reason = ""
        endpoint.save(update_fields=["state", "consecutive_failures", "failing_since", "paused_at", "paused_reason"])
        now = timezone.now()
        queues = (
            WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING)
            .values_list("order_id", flat=True)
            .distinct()
        )
        for order_id in set(queues):
            WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING, order_id=order_id).update(
                next_attempt_at=now
            )
            queue_after_commit(endpoint.pk, order_id)
    logger.info("webhook endpoint %s enabled by %s", endpoint.pk, actor.display_name)
    return endpoint


def webhook_endpoint_disable(*, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    updated = WebhookEndpoint.objects.filter(pk=endpoint_id).update(state=EndpointState.DISABLED)
    if not updated:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    logger.info("webhook endpoint %s disabled by %s", endpoint_id, actor.display_name)
    return WebhookEndpoint.objects.get(pk=endpoint_id)


def webhook_endpoint_send_test(*, endpoint_id: int, actor: Actor) -> WebhookDelivery:
    """Queue a `webhook.test` event (no order) to the endpoint, signed like any other."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    if endpoint.state != EndpointState.ACTIVE:
        raise Conflict("Enable the endpoint before sending it a test event.", code="webhook_endpoint_not_active")
    with transaction.atomic():
        return orderless_delivery(
            endpoint,
            event_id=uuid.uuid4(),
            event_type=TEST_EVENT_TYPE,
            now=timezone.now(),
            metadata={"endpoint": endpoint.name},
            updated_by=actor.display_name,
        )


def webhook_delivery_resend(*, delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send a delivery again (same event id and body), whatever became of it."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such webhook delivery.", code="webhook_delivery_not_found")
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["state", "next_attempt_at"])
        if delivery.endpoint.state == EndpointState.ACTIVE:
            queue_after_commit(delivery.endpoint_id, delivery.order_id)
    logger.info("webhook delivery %s resent by %s", delivery.pk, actor.display_name)
    return delivery


def webhook_endpoint_replay(*, endpoint_id: int, since: datetime, until: datetime, actor: Actor) -> int:
    """Send the endpoint again every order event committed from `since` up to `until` that it
    takes (its restaurant, its event types): each with its own event id and body, a delivery
    not made yet written now. Returns how many deliveries were queued."""
    if since >= until:
        raise ValidationFailed({"until": ["Must be after since."]})
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
        if endpoint.state != EndpointState.ACTIVE:
            raise Conflict("Enable the endpoint before replaying events to it.", code="webhook_endpoint_not_active")
        events = TrackingEvent.objects.filter(created_at__gte=since, created_at__lt=until)
        if endpoint.restaurant_id is not None:
            events = events.filter(order__restaurant_id=endpoint.restaurant_id)
        if endpoint.event_types:
            events = events.filter(event_type__in=endpoint.event_types)
        limit = settings.ORDERFLOW_WEBHOOK_REPLAY_MAX_EVENTS
        chosen = list(events.select_related("order").order_by("order_id", "sequence")[: limit + 1])
        if len(chosen) > limit:
            raise ValidationFailed(
                {"since": [f"More than {limit} events in this range; replay a shorter one."]},
            )
        now = timezone.now()
        existing = set(
            WebhookDelivery.objects.filter(endpoint=endpoint, tracking_event__in=chosen).values_list(
                "tracking_event_id", flat=True
            )
        )
        WebhookDelivery.objects.filter(endpoint=endpoint, tracking_event_id__in=existing).update(
            state=DeliveryState.PENDING, next_attempt_at=now, leased_until=None
        )
        WebhookDelivery.objects.bulk_create(
            [delivery_of(endpoint, event, now) for event in chosen if event.pk not in existing],
            ignore_conflicts=True,
        )
        for order_id in {event.order_id for event in chosen}:
            queue_after_commit(endpoint.pk, order_id)
    logger.info(
        "webhook endpoint %s: %s events from %s to %s replayed by %s",
        endpoint.pk,
        len(chosen),
        since,
        until,
        actor.display_name,
    )
    return len(chosen)
