"""GET /metrics: Prometheus text, for operators only, and counters that move with the orders."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.metrics import WEBSOCKETS_OPEN, WebSocketCountMiddleware
from orders.models import OrderStatus
from tests.factories import OrderFactory, UserFactory, move, place_order

pytestmark = pytest.mark.django_db

TOKEN = {"HTTP_AUTHORIZATION": "Bearer test-metrics-token"}


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **TOKEN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_are_not_public(client, customer):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert anonymous.json()["code"] == "not_authenticated"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.force_login(customer)
    refused = client.get("/metrics")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_operators_and_the_scraper_token_may_read_them(client):
    assert client.get("/metrics", **TOKEN).status_code == 200
    operator = UserFactory(username="ops")
    operator.user_permissions.add(Permission.objects.get(codename="view_metrics", content_type__app_label="core"))
    client.force_login(operator)
    assert client.get("/metrics").status_code == 200
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get("/metrics").status_code == 200


def test_restaurant_staff_may_not_read_them(client, staff_user):
    staff_user.is_staff = True  # staff use the admin
    staff_user.save()
    client.force_login(staff_user)
    refused = client.get("/metrics")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_no_token_configured_lets_no_scraper_in(client, settings):
    settings.ORDERFLOW_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_counters_move_when_an_order_moves(client, customer, menu, actors, django_capture_on_commit_callbacks):
    confirmed = ("orderflow_order_transitions_total", (("status", "RESTAURANT_CONFIRMED"),))
    placed = ("orderflow_order_transitions_total", (("status", "ORDER_PLACED"),))
    events = ("orderflow_order_events_total", (("event_type", "order.status_changed"),))
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
        move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=actors["restaurant"])
    after = scrape(client)
    assert after[confirmed] - before.get(confirmed, 0) == 1
    assert after[placed] - before.get(placed, 0) == 1
    assert after[events] - before.get(events, 0) == 1


def test_webhook_outcomes_and_latency_are_counted(
    client, customer, menu, receivers, endpoint_for, django_capture_on_commit_callbacks
):
    from tests.notifications.receiver import Answer

    endpoint_for(receivers(Answer(500)))
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    samples = scrape(client)
    assert samples[("orderflow_webhook_deliveries_total", (("outcome", "http_error"),))] == 1
    assert samples[("orderflow_webhook_delivery_latency_seconds_count", ())] == 1
    assert samples[("orderflow_webhook_delivery_latency_seconds_bucket", (("le", "+Inf"),))] == 1
    assert samples[("orderflow_webhook_deliveries_pending", ())] == 1
    assert samples[("orderflow_webhook_endpoints", (("state", "active"),))] == 1


def test_sweep_lag_and_refunds(client, customer, restaurant):
    assert scrape(client)[("orderflow_sweep_lag_seconds", ())] == 0
    OrderFactory(
        customer=customer,
        restaurant=restaurant,
        deadline_at=timezone.now() - timedelta(seconds=90),
        deadline_kind="restaurant_timeout",
    )
    samples = scrape(client)
    assert 90 <= samples[("orderflow_sweep_lag_seconds", ())] < 120
    assert samples[("orderflow_orders_overdue", ())] == 1


def test_the_celery_queue_depth_is_read_from_the_broker(client, settings):
    # A queue of the test's own: a message on the real one could reach a worker sharing the broker.
    settings.CELERY_TASK_DEFAULT_QUEUE = "orderflow-metrics-test"
    depth = ("orderflow_celery_queue_depth", (("queue", "orderflow-metrics-test"),))
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        assert depth not in scrape(client), "an in-memory broker has no depth to report"
        return
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("orderflow-metrics-test")
    broker.rpush("orderflow-metrics-test", "one", "two")
    try:
        assert scrape(client)[depth] == 2
    finally:
        broker.delete("orderflow-metrics-test")


class Accepting(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


def test_open_websockets_are_counted_per_route():
    gauge = WEBSOCKETS_OPEN.labels(route="courier")

    async def scenario():
        start = gauge._value.get()
        communicator = WebsocketCommunicator(WebSocketCountMiddleware(Accepting.as_asgi()), "/ws/courier/")
        connected, _ = await communicator.connect()
        assert connected
        during = gauge._value.get()
        await communicator.disconnect()
        return start, during, gauge._value.get()

    start, during, after = async_to_sync(scenario)()
    assert (during - start, after - start) == (1, 0)
