"""Outbound webhooks: every committed order event, signed, to each subscribed endpoint, in order.

- `webhooks_record_events` (an effect of committed order events, config/effects.py) writes one
  WebhookDelivery per matching endpoint, catching up any earlier event of the order the endpoint
  has not got yet (two processes may commit an order's events close together), and queues the
  delivery. One delivery per (endpoint, event): the relay running it again records nothing twice.
- `webhook_deliver_queue` works through one endpoint's pending deliveries for one order,
  lowest sequence first, under a row lock (NOWAIT: a second worker on the same queue leaves
  it to the first), so an order's events reach an endpoint in sequence order. The HTTP call
  is made while the row is locked: a worker killed mid-call rolls back, the delivery stays
  pending and the re-delivered task (or the beat sweep) sends it again with the same event id.
- A failed attempt waits as ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS says (growing waits, each
  up to a fifth longer at random, over more than 72 hours); after the last the delivery is given
  up (and the next one goes). An endpoint that failed ORDERFLOW_WEBHOOK_BREAKER_FAILURES times in
  a row over at least ORDERFLOW_WEBHOOK_BREAKER_SECONDS (5 days) is disabled: the operators are
  told and an `endpoint.disabled` event goes to the platform's other endpoints;
  `webhook_endpoint_enable` (notifications.webhook_endpoints) switches it back on,
  `webhook_endpoint_replay` sends again every event of a time range.
"""

import json
import logging
import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

import urllib3
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from core.publishing import after_commit
from core.timestamps import iso
from notifications import metrics
from notifications.http import DeliveryRefused, HttpAnswer, post
from notifications.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.signing import (
    ATTEMPT_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_header,
)
from orders.models import TrackingEvent
from tracking.payloads import event_payload

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"
ENDPOINT_DISABLED_EVENT_TYPE = "endpoint.disabled"
USER_AGENT = "orderflow-webhooks/1"


def queue_after_commit(endpoint_id: int, order_id) -> None:
    from notifications.tasks import webhook_deliver_task

    after_commit(lambda: webhook_deliver_task.delay(endpoint_id, str(order_id) if order_id else None))


def _endpoint_wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def webhooks_record_events(events: list[TrackingEvent]) -> int:
    """Queue each event (and any earlier one still missing) for every matching endpoint; the
    endpoints are read once for a batch (a sweep's)."""
    endpoints = list(WebhookEndpoint.objects.exclude(state=EndpointState.DISABLED))
    if not endpoints:
        return 0
    restaurants = dict(
        TrackingEvent.objects.filter(pk__in=[event.pk for event in events]).values_list("pk", "order__restaurant_id")
    )
    return sum(
        _record_for_endpoints(
            event,
            [
                endpoint
                for endpoint in endpoints
                if endpoint.restaurant_id in (None, restaurants.get(event.pk))
                and _endpoint_wants(endpoint, event.event_type)
            ],
        )
        for event in events
    )


def delivery_of(endpoint: WebhookEndpoint, event: TrackingEvent, now: datetime) -> WebhookDelivery:
    """An order event's delivery to one endpoint, due now; the event's id is its id everywhere."""
    return WebhookDelivery(
        endpoint=endpoint,
        tracking_event=event,
        order_id=event.order_id,
        sequence=event.sequence,
        event_id=event.pk,
        event_type=event.event_type,
        payload=event_payload(event),
        next_attempt_at=now,
    )


def _record_for_endpoints(event: TrackingEvent, endpoints: list[WebhookEndpoint]) -> int:
    created = 0
    for endpoint in endpoints:
        with transaction.atomic():
            missing = (
                TrackingEvent.objects.filter(
                    order_id=event.order_id, sequence__lte=event.sequence, created_at__gte=endpoint.created_at
                )
                .exclude(webhook_deliveries__endpoint=endpoint)
                .select_related("order")
                .order_by("sequence")
            )
            now = timezone.now()
            rows = [
                delivery_of(endpoint, missed, now) for missed in missing if _endpoint_wants(endpoint, missed.event_type)
            ]
            created += len(WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True))
            if endpoint.state == EndpointState.ACTIVE:
                queue_after_commit(endpoint.pk, event.order_id)
    return created


def webhook_max_attempts() -> int:
    return len(settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS) + 1


def _backoff_seconds(attempts: int) -> float:
    """The wait after failed attempt number `attempts`: the schedule's, up to a fifth longer at
    random (receivers that failed together are not all called again at the same second; never
    sooner than the table promises)."""
    return settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS[attempts - 1] * random.uniform(1.0, 1.2)  # noqa: S311 -- retry jitter, not a secret


def _request(delivery: WebhookDelivery, endpoint: WebhookEndpoint, attempt: int) -> tuple[str, HttpAnswer | None, str]:
    """Make one HTTP attempt: (outcome, answer, error)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
        ATTEMPT_HEADER: str(attempt),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(
            secrets=[endpoint.secret, endpoint.previous_secret], timestamp=timestamp, body=body
        ),
    }
    try:
        answer = post(
            url=endpoint.url,
            body=body,
            headers=headers,
            timeout=settings.ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS,
            allow_private=settings.ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
            ca_certs=settings.ORDERFLOW_WEBHOOK_CA_BUNDLE or None,
        )
    except DeliveryRefused as exc:
        return "refused", None, str(exc)[:300]
    except urllib3.exceptions.TimeoutError as exc:
        return (
            "timeout",
            None,
            f"no answer within {settings.ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS} s ({type(exc).__name__})",
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return "connection_error", None, f"{type(exc).__name__}: {exc}"[:300]
    if 200 <= answer.status < 300:
        return "success", answer, ""
    if 300 <= answer.status < 400:
        return "redirect", answer, f"redirect to {answer.location or '?'} not followed"[:300]
    return "http_error", answer, f"HTTP {answer.status}"


def _lock_head(endpoint_id: int, order_id: Any) -> WebhookDelivery | Literal[False] | None:
    """The queue's first pending delivery, locked; None if the queue is empty, False if another worker holds it.

    One query: ORDER BY ... LIMIT 1 FOR UPDATE NOWAIT fails at once when that first row is
    locked, so a second worker never skips ahead to the next sequence.
    """
    queue = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, state=DeliveryState.PENDING)
    queue = queue.filter(order_id=order_id) if order_id else queue.filter(order__isnull=True)
    try:
        with transaction.atomic():
            return (
                queue.select_for_update(nowait=True, of=("self",))
                .select_related("endpoint")
                .order_by("sequence", "created_at")
                .first()
            )
    except DatabaseError:
        return False


def _lease_seconds() -> float:
    return settings.ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS + settings.ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS


def webhook_deliver_queue(*, endpoint_id: int, order_id: Any = None, now: datetime | None = None) -> int:
    """Send what is due in one endpoint's queue for one order (or its test events), in sequence order.

    The head of the queue is leased in a short transaction, posted outside any transaction,
    and the outcome recorded in another: no database lock is held while the receiver answers.
    A lease left by a worker that died expires after the timeout plus a margin, and the head is
    sent again (same event id). Stops at the first failure (the rest waits behind it) and
    returns how many were delivered.
    """
    delivered = 0
    while True:
        current = now or timezone.now()
        with transaction.atomic():
            head = _lock_head(endpoint_id, order_id)
            if not head:
                return delivered
            endpoint = head.endpoint
            leased = head.leased_until is not None and head.leased_until > current
            if endpoint.state != EndpointState.ACTIVE or head.next_attempt_at > current or leased:
                return delivered
            head.leased_until = current + timedelta(seconds=_lease_seconds())
            head.save(update_fields=["leased_until"])
        attempt = head.attempts + 1
        outcome, answer, error = _request(head, endpoint, attempt)
        succeeded = outcome == "success"
        with transaction.atomic():
            head = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=head.pk)
            _record_attempt(head, attempt, outcome, answer, error, current)
            if succeeded:
                _endpoint_succeeded(head.endpoint)
            else:
                _endpoint_failed(head.endpoint, error, current)
            changes = [(metrics.WEBHOOK_DELIVERIES, {"outcome": outcome}, 1.0)]
            if answer is not None:
                changes += metrics.histogram_changes(metrics.WEBHOOK_LATENCY, answer.latency_ms / 1000)
            metrics.metric_add_many(changes)
        if not succeeded:
            if head.state == DeliveryState.PENDING:
                _schedule_retry(endpoint_id, order_id, head.next_attempt_at - current)
                return delivered
            continue
        delivered += 1


def _schedule_retry(endpoint_id: int, order_id, wait: timedelta) -> None:
    from notifications.tasks import webhook_deliver_task

    try:
        webhook_deliver_task.apply_async(
            (endpoint_id, str(order_id) if order_id else None), countdown=max(wait.total_seconds(), 0)
        )
    except Exception:
        # The beat sweep (webhooks_dispatch_due) finds it when it is due.
        logger.warning("webhook retry for endpoint %s could not be queued", endpoint_id, exc_info=True)


def _record_attempt(delivery, attempt, outcome, answer, error, now) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=attempt,
        attempted_at=now,
        outcome=outcome,
        status_code=answer.status if answer else None,
        latency_ms=round(answer.latency_ms, 2) if answer else None,
        response_excerpt=answer.excerpt if answer else "",
        error=error,
    )
    delivery.leased_until = None
    if delivery.state != DeliveryState.PENDING:
        # Its lease ran out and another worker settled it meanwhile: the log keeps this attempt too.
        delivery.save(update_fields=["leased_until"])
        return
    delivery.attempts = max(delivery.attempts, attempt)
    delivery.last_status_code = answer.status if answer else None
    delivery.last_latency_ms = round(answer.latency_ms, 2) if answer else None
    delivery.last_error = error
    if outcome == "success":
        delivery.state = DeliveryState.SUCCEEDED
        delivery.delivered_at = now
    elif attempt >= webhook_max_attempts():
        delivery.state = DeliveryState.FAILED
        logger.warning(
            "webhook delivery %s to endpoint %s given up after %s attempts", delivery.pk, delivery.endpoint_id, attempt
        )
    else:
        delivery.next_attempt_at = now + timedelta(seconds=_backoff_seconds(attempt))
    delivery.save(
        update_fields=[
            "attempts",
            "leased_until",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "state",
            "delivered_at",
            "next_attempt_at",
        ]
    )


def _endpoint_succeeded(endpoint: WebhookEndpoint) -> None:
    if endpoint.consecutive_failures:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0, failing_since=None)


def _endpoint_failed(endpoint: WebhookEndpoint, error: str, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    _disable_if_failing_too_long(endpoint, error, now)


def _failing_too_long(endpoint: WebhookEndpoint, now: datetime) -> bool:
    sustained = now - (endpoint.failing_since or now) >= timedelta(seconds=settings.ORDERFLOW_WEBHOOK_BREAKER_SECONDS)
    return (
        endpoint.state == EndpointState.ACTIVE
        and endpoint.consecutive_failures >= settings.ORDERFLOW_WEBHOOK_BREAKER_FAILURES
        and sustained
    )


def _disable_if_failing_too_long(endpoint: WebhookEndpoint, error: str, now: datetime) -> None:
    """Under the endpoint's row lock: disable it, tell the operators, send `endpoint.disabled`."""
    if not _failing_too_long(endpoint, now):
        return
    endpoint.state = EndpointState.DISABLED
    endpoint.paused_at = now
    endpoint.paused_reason = f"{endpoint.consecutive_failures} failures in a row; last: {error}"[:300]
    endpoint.save(update_fields=["state", "paused_at", "paused_reason"])
    logger.warning(
        "webhook endpoint %s (%s) disabled after %s consecutive failures since %s",
        endpoint.pk,
        endpoint.name,
        endpoint.consecutive_failures,
        endpoint.failing_since,
    )
    from notifications.services import notify_operators

    notify_operators(
        subject=f"Webhook endpoint disabled: {endpoint.name}",
        body=(
            f"The webhook endpoint {endpoint.name!r} ({endpoint.url}) failed {endpoint.consecutive_failures} "
            f"times in a row since {endpoint.failing_since:%Y-%m-%d %H:%M:%S} UTC and has been disabled. "
            f"Last error: {error}\n\nEnable it in the admin (Webhook endpoints) once the receiver works again; "
            'what it missed can then be sent again with the action "Replay events" (or '
            "POST /api/webhooks/endpoints/<id>/replay/)."
        ),
        dedupe_key=f"webhook-disabled:{endpoint.pk}:{now.isoformat()}",
    )
    _operational_event_record(
        event_type=ENDPOINT_DISABLED_EVENT_TYPE,
        now=now,
        data={
            "endpoint_id": endpoint.pk,
            "endpoint_name": endpoint.name,
            "url": endpoint.url,
            "failing_since": iso(endpoint.failing_since),
            "consecutive_failures": endpoint.consecutive_failures,
            "last_error": error[:300],
        },
        exclude=endpoint.pk,
    )


def _operational_event_record(*, event_type: str, now: datetime, data: dict, exclude: int | None = None) -> int:
    """An event about the webhooks themselves (no order) to every active platform-wide endpoint
    that takes every event type; queued after the commit, like an order's."""
    event_id = uuid.uuid4()
    endpoints = WebhookEndpoint.objects.filter(state=EndpointState.ACTIVE, restaurant__isnull=True).exclude(pk=exclude)  # type: ignore[misc]  # None excludes nothing
    created = 0
    for endpoint in endpoints:
        if endpoint.event_types and event_type not in endpoint.event_types:
            continue
        orderless_delivery(endpoint, event_id=event_id, event_type=event_type, now=now, metadata=data)
        created += 1
    return created


def webhook_endpoints_disable_failing(*, now: datetime | None = None) -> int:
    """Beat: disable endpoints that have failed for too long even when no attempt is due any more."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ORDERFLOW_WEBHOOK_BREAKER_SECONDS)
    disabled = 0
    candidates = WebhookEndpoint.objects.filter(
        state=EndpointState.ACTIVE,
        failing_since__lte=cutoff,
        consecutive_failures__gte=settings.ORDERFLOW_WEBHOOK_BREAKER_FAILURES,
    ).values_list("pk", flat=True)
    for endpoint_id in list(candidates):
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
            last = WebhookAttempt.objects.filter(delivery__endpoint=endpoint).order_by("-attempted_at").first()
            _disable_if_failing_too_long(endpoint, last.error if last else "", now)
            disabled += endpoint.state == EndpointState.DISABLED
    return disabled


def orderless_delivery(
    endpoint: WebhookEndpoint, *, event_id: uuid.UUID, event_type: str, now: datetime, metadata: dict, **extra: Any
) -> WebhookDelivery:
    """Queue an event that belongs to no order (a test, an endpoint disabled) to one endpoint."""
    stamp = iso(now)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        tracking_event=None,
        order=None,
        sequence=0,
        event_id=event_id,
        event_type=event_type,
        payload={
            "event_id": str(event_id),
            "event_type": event_type,
            "sequence": 0,
            "order_id": None,
            "timestamp": stamp,
            "occurred_at": stamp,
            **extra,
            "metadata": metadata,
        },
        next_attempt_at=now,
    )
    queue_after_commit(endpoint.pk, None)
    return delivery


def webhooks_dispatch_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: queue every active endpoint's queues whose head is due (retries; tasks lost with a
    broker), once endpoints that failed for too long are disabled."""
    now = now or timezone.now()
    webhook_endpoints_disable_failing(now=now)
    queues = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__state=EndpointState.ACTIVE
        )
        .exclude(leased_until__gt=now)
        .values_list("endpoint_id", "order_id")
        .distinct()[:limit]
    )
    queued = 0
    for endpoint_id, order_id in queues:
        try:
            from notifications.tasks import webhook_deliver_task

            webhook_deliver_task.delay(endpoint_id, str(order_id) if order_id is not None else None)
            queued += 1
        except Exception:
            logger.warning("webhook queue of endpoint %s could not be queued", endpoint_id, exc_info=True)
    return queued
