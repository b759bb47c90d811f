"""Prometheus metrics.

Counters that any process moves (a transition in a web request, a webhook delivered by a
worker) are kept in the database (`MetricSample`, one atomic upsert per change), so the
/metrics answer of any web process shows the whole system's totals and they survive
restarts. Gauges are read when scraped. Open WebSocket connections are the serving
process's own (each web process is its own scrape target).
"""

import asyncio
import logging
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from notifications.models import (
    DeliveryState,
    EndpointState,
    MetricSample,
    Notification,
    NotificationState,
    WebhookDelivery,
    WebhookEndpoint,
)
from orders.models import Order
from payments.models import Refund

logger = logging.getLogger(__name__)

TRANSITIONS = "orderflow_order_transitions"
EVENTS = "orderflow_order_events"
REFUND_OUTCOMES = "orderflow_refund_outcomes"
WEBHOOK_DELIVERIES = "orderflow_webhook_deliveries"
WEBHOOK_LATENCY = "orderflow_webhook_delivery_latency_seconds"
NOTIFICATIONS_SENT = "orderflow_notifications"
SMS_REFUSED = "orderflow_sms_refused"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_DESCRIPTIONS = {
    TRANSITIONS: ("Status changes committed, by the status entered", ("status",)),
    EVENTS: ("Tracking events committed, by event type", ("event_type",)),
    REFUND_OUTCOMES: ("Refunds that ended, by outcome", ("outcome",)),
    WEBHOOK_DELIVERIES: ("Webhook delivery attempts, by outcome", ("outcome",)),
    NOTIFICATIONS_SENT: ("Notification send attempts, by channel and outcome", ("channel", "outcome")),
    SMS_REFUSED: ("Text messages not sent: over the hourly cap per user or per number", ("reason",)),
}


def _labels_key(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def _labels_parse(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",") if part)


def metric_add(name: str, labels: dict[str, str] | None = None, amount: float = 1.0) -> None:
    """Add to a shared counter: one statement, safe from any number of processes at once."""
    metric_add_many([(name, labels or {}, amount)])


def metric_add_many(changes: list[tuple[str, dict[str, str], float]]) -> None:
    """Several counters in one upsert statement."""
    table = MetricSample._meta.db_table
    merged: dict[tuple[str, str], float] = defaultdict(float)
    for name, labels, amount in changes:
        merged[(name, _labels_key(labels))] += amount
    values = ", ".join(["(%s, %s, %s)"] * len(merged))
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name is the model's and the values are placeholders: nothing from outside.
            f"INSERT INTO {table} (name, labels, value) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (name, labels) DO UPDATE SET value = {table}.value + excluded.value",
            [part for (name, labels), amount in sorted(merged.items()) for part in (name, labels, amount)],
        )


def histogram_changes(name: str, value: float, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> list:
    """One observation of a histogram: its own bucket (cumulated when read), the sum and the count."""
    bucket = next((str(bound) for bound in buckets if value <= bound), "+Inf")
    return [(f"{name}_bucket", {"le": bucket}, 1.0), (f"{name}_sum", {}, value), (f"{name}_count", {}, 1.0)]


def _histogram(name: str, samples: dict[str, dict[str, float]], buckets=LATENCY_BUCKETS) -> HistogramMetricFamily:
    per_bucket = {_labels_parse(key).get("le"): value for key, value in samples.get(f"{name}_bucket", {}).items()}
    cumulative, running = [], 0.0
    for bound in [*map(str, buckets), "+Inf"]:
        running += per_bucket.get(bound, 0.0)
        cumulative.append((bound, running))
    total = samples.get(f"{name}_sum", {}).get("", 0.0)
    return HistogramMetricFamily(
        name, "Webhook delivery latency (request sent to answer read)", buckets=cumulative, sum_value=total
    )


def celery_queue_depth() -> int | None:
    """Messages waiting in the default Celery queue, or None when the broker cannot say."""
    broker = settings.CELERY_BROKER_URL
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    try:
        if broker.startswith(("redis://", "rediss://", "sentinel://")):
            from core.redis_connections import redis_client

            client = redis_client(
                settings.REDIS_URL if broker.startswith("sentinel://") else broker,
                sentinels=settings.ORDERFLOW_REDIS_SENTINELS if broker.startswith("sentinel://") else [],
                master_name=settings.ORDERFLOW_REDIS_MASTER_NAME,
                socket_timeout=2,
                socket_connect_timeout=2,
            )
            try:
                return int(client.llen(queue))
            finally:
                client.close()
        if broker.startswith("filesystem://"):
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            return sum(1 for path in folder.iterdir() if path.name.endswith(".msg"))
    except Exception:
        logger.warning("metrics: the Celery broker's queue depth could not be read", exc_info=True)
    return None


class OrderflowCollector:
    """Everything read from the database (and the broker) when Prometheus scrapes."""

    def collect(self):
        samples: dict[str, dict[str, float]] = defaultdict(dict)
        for row in MetricSample.objects.values_list("name", "labels", "value"):
            samples[row[0]][row[1]] = row[2]
        for name, (help_text, label_names) in _DESCRIPTIONS.items():
            family = CounterMetricFamily(name, help_text, labels=label_names)
            for key, value in sorted(samples.get(name, {}).items()):
                labels = _labels_parse(key)
                family.add_metric([labels.get(label, "") for label in label_names], value)
            yield family
        yield _histogram(WEBHOOK_LATENCY, samples)

        now = timezone.now()
        overdue = Order.objects.filter(deadline_at__isnull=False, deadline_at__lte=now).aggregate(
            oldest=Min("deadline_at"), count=Count("pk")
        )
        lag = GaugeMetricFamily(
            "orderflow_sweep_lag_seconds", "How long the oldest deadline has been overdue (0: the sweep is keeping up)"
        )
        lag.add_metric([], (now - overdue["oldest"]).total_seconds() if overdue["oldest"] else 0.0)
        yield lag
        overdue_count = GaugeMetricFamily("orderflow_orders_overdue", "Orders past their deadline, not yet swept")
        overdue_count.add_metric([], overdue["count"])
        yield overdue_count

        refunds = GaugeMetricFamily("orderflow_refunds", "Refunds by status", labels=["status"])
        for status, count in Refund.objects.values_list("status").annotate(n=Count("pk")).order_by("status"):
            refunds.add_metric([status], count)
        yield refunds

        endpoints = GaugeMetricFamily("orderflow_webhook_endpoints", "Webhook endpoints by state", labels=["state"])
        counts = dict(WebhookEndpoint.objects.values_list("state").annotate(n=Count("pk")))
        for state in EndpointState.values:
            endpoints.add_metric([state], counts.get(state, 0))
        yield endpoints
        pending = GaugeMetricFamily("orderflow_webhook_deliveries_pending", "Webhook deliveries not yet made")
        pending.add_metric([], WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count())
        yield pending
        notifications = GaugeMetricFamily(
            "orderflow_notifications_outbox", "Notifications in the outbox by state", labels=["state"]
        )
        counts = dict(Notification.objects.values_list("state").annotate(n=Count("pk")))
        for state in NotificationState.values:
            notifications.add_metric([state], counts.get(state, 0))
        yield notifications

        depth = celery_queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily(
                "orderflow_celery_queue_depth", "Messages waiting in the Celery queue", labels=["queue"]
            )
            queue.add_metric([getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")], depth)
            yield queue


REGISTRY = CollectorRegistry(auto_describe=False)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
REGISTRY.register(OrderflowCollector())
WEBSOCKETS_OPEN = Gauge(
    "orderflow_websocket_connections", "WebSocket connections open on this process", ["route"], registry=REGISTRY
)


def websocket_route(path: str) -> str:
    if path.startswith("/ws/orders/") and path.rstrip("/") != "/ws/orders":
        return "order"
    if path.startswith("/ws/orders"):
        return "hub"
    if path.startswith("/ws/restaurants/"):
        return "restaurant"
    if path.startswith("/ws/courier"):
        return "courier"
    return "other"


class WebSocketCountMiddleware:
    """Counts the WebSocket connections this process has accepted and not yet closed: one more
    when the application accepts, one less when it closes the socket or ends. The application is
    handed on, not awaited (a layer that awaits keeps a coroutine for the socket's life)."""

    _asgi_single_callable = True  # handed on, not awaited: asgiref must not take it for ASGI 2

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return self.app(scope, receive, send)
        return self.app(scope, receive, _CountingSend(websocket_route(scope.get("path", "")), send))


class _CountingSend:
    __slots__ = ("application", "route", "send")

    def __init__(self, route: str, send) -> None:
        self.route = route
        self.send = send
        self.application: asyncio.Task | None = None  # set while the socket is counted

    def __call__(self, message):
        kind = message["type"]
        if kind == "websocket.accept" and self.application is None:
            # Sent from the application's own task: when it ends, the socket is no longer counted.
            self.application = asyncio.current_task()
            if self.application is not None:
                WEBSOCKETS_OPEN.labels(route=self.route).inc()
                self.application.add_done_callback(self._uncount)
        elif kind == "websocket.close" and self.application is not None:
            self.application.remove_done_callback(self._uncount)
            self._uncount(self.application)
        return self.send(message)

    def _uncount(self, _: asyncio.Task) -> None:
        self.application = None
        WEBSOCKETS_OPEN.labels(route=self.route).dec()
