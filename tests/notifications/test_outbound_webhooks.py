"""Outbound webhooks against a real HTTP receiver on loopback."""

import hashlib
import hmac
import itertools
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from notifications.http import DeliveryRefused, url_check
from notifications.models import DeliveryState, EndpointState, WebhookAttempt, WebhookDelivery
from notifications.webhook_endpoints import (
    webhook_delivery_resend,
    webhook_endpoint_enable,
    webhook_endpoint_replay,
    webhook_endpoint_send_test,
)
from notifications.webhooks import (
    TEST_EVENT_TYPE,
    webhook_deliver_queue,
    webhook_max_attempts,
    webhooks_dispatch_due,
    webhooks_record_events,
)
from orders.models import OrderStatus, TrackingEvent
from tests.factories import RestaurantFactory, UserFactory, move, place_order
from tests.notifications.receiver import Answer

pytestmark = pytest.mark.django_db

TO_READY = (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)


def signed_with(received, secret: str) -> bool:
    """The documented recipe: HMAC-SHA256(secret, "{timestamp}." + raw body), hex, as one of the v1= values."""
    timestamp = received.headers["X-Orderflow-Timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    offered = [part.strip() for part in received.headers["X-Orderflow-Signature"].split(",")]
    return any(hmac.compare_digest(f"v1={digest}", part) for part in offered)


def retry_until_settled(rounds: int = 12, callbacks=None) -> None:
    """What beat does, each round with the clock moved to when the next retry is due."""
    for _ in range(rounds):
        pending = WebhookDelivery.objects.filter(state=DeliveryState.PENDING).order_by("-next_attempt_at").first()
        if pending is None:
            return
        with freeze_time(max(pending.next_attempt_at, timezone.now()) + timedelta(seconds=1), tick=True):
            if callbacks is None:
                webhooks_dispatch_due()
                continue
            with callbacks(execute=True):
                webhooks_dispatch_due()


def walk(order, actors, callbacks, *targets):
    with callbacks(execute=True):
        return move(order, *targets, actor=actors["restaurant"])


def test_events_arrive_signed_with_both_secrets_and_in_sequence(
    receivers, endpoint_for, customer, menu, actors, django_capture_on_commit_callbacks
):
    receiver = receivers()
    endpoint = endpoint_for(receiver, previous_secret="whsec_before_rotation")
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
    walk(order, actors, django_capture_on_commit_callbacks, *TO_READY)

    received = receiver.accepted()
    events = list(TrackingEvent.objects.filter(order=order).order_by("sequence"))
    assert [r.payload["sequence"] for r in received] == [e.sequence for e in events] == [1, 2, 3, 4]
    assert [r.payload["event_id"] for r in received] == [str(e.pk) for e in events]
    for r in received:
        assert r.headers["X-Orderflow-Event-Id"] == r.payload["event_id"]
        assert r.headers["X-Orderflow-Event-Type"] == r.payload["event_type"]
        assert signed_with(r, "whsec_current") and signed_with(r, "whsec_before_rotation")
        assert not signed_with(r, "whsec_someone_else")
        assert abs(int(r.headers["X-Orderflow-Timestamp"]) - time.time()) < 60
        assert r.headers["Content-Type"] == "application/json"
    assert received[1].payload["new_status"] == "RESTAURANT_CONFIRMED"
    assert received[1].payload["order_number"] == order.number
    assert WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 4
    attempt = WebhookAttempt.objects.filter(delivery__endpoint=endpoint).first()
    assert attempt.status_code == 200 and attempt.latency_ms > 0 and '"status": 200' in attempt.response_excerpt


def test_a_restaurant_endpoint_gets_only_its_orders_and_chosen_types(
    receivers, endpoint_for, customer, menu, actors, django_capture_on_commit_callbacks
):
    mine, elsewhere = receivers(), receivers()
    endpoint_for(mine, name="Pizza POS", restaurant=menu["salad"].restaurant, event_types=["order.ready_for_pickup"])
    endpoint_for(elsewhere, name="Other POS", restaurant=RestaurantFactory())
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
    walk(order, actors, django_capture_on_commit_callbacks, *TO_READY)

    assert [r.payload["event_type"] for r in mine.accepted()] == ["order.ready_for_pickup"]
    assert elsewhere.received == []


def test_exactly_once_after_the_receiver_recovers_from_errors_and_timeouts(
    receivers, endpoint_for, customer, menu, actors, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS = 0.5
    # Two 500s, then an answer that comes too late (the receiver did take the event in), then healthy.
    receiver = receivers(Answer(500), Answer(500), Answer(200, delay=1.5))
    endpoint = endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
    walk(order, actors, django_capture_on_commit_callbacks, *TO_READY)
    # The first event failed; the others wait behind it, in order.
    assert [r.payload["sequence"] for r in receiver.received] == [1]
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 4

    retry_until_settled()

    accepted = receiver.accepted()
    assert [r.payload["sequence"] for r in accepted] == [1, 2, 3, 4]
    event_ids = [r.headers["X-Orderflow-Event-Id"] for r in receiver.received]
    assert len(event_ids) == 4 + 3, "two 500s and one timeout were sent again, each under the same event id"
    assert event_ids[:4] == [accepted[0].payload["event_id"]] * 4
    first = WebhookDelivery.objects.get(endpoint=endpoint, sequence=1)
    assert first.state == DeliveryState.SUCCEEDED and first.attempts == 4
    outcomes = list(first.attempt_log.values_list("outcome", "status_code"))
    assert outcomes == [("http_error", 500), ("http_error", 500), ("timeout", None), ("success", 200)]
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.SUCCEEDED).exists()


def test_retries_follow_the_schedule_and_a_delivery_is_not_retried_before_it_is_due(
    receivers, endpoint_for, customer, menu, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS = [10, 60, 300, 1800, 7200]
    receiver = receivers(default=Answer(500))
    endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    delivery = WebhookDelivery.objects.get()
    for _ in range(4):
        with freeze_time(delivery.next_attempt_at - timedelta(seconds=1)):
            webhooks_dispatch_due()
        assert WebhookAttempt.objects.count() == delivery.attempts, "not due yet: nothing was sent"
        with freeze_time(delivery.next_attempt_at, tick=True):
            webhooks_dispatch_due()
        delivery.refresh_from_db()
    times = list(delivery.attempt_log.values_list("attempted_at", flat=True))
    waits = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    # The schedule's waits, each up to a fifth longer (jitter), never shorter.
    for wait, planned in zip(waits, [10, 60, 300, 1800], strict=True):
        assert planned - 1 <= wait <= planned * 1.2 + 1, waits
    assert len(receiver.received) == 5


def test_the_default_schedule_keeps_trying_for_more_than_72_hours():
    from django.conf import settings

    schedule = settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS
    assert schedule == sorted(schedule)
    assert sum(schedule) >= 72 * 3600
    assert webhook_max_attempts() == len(schedule) + 1


def test_a_delivery_is_given_up_after_the_last_attempt_and_the_next_one_goes(
    receivers, endpoint_for, customer, menu, actors, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS = [60]
    receiver = receivers(Answer(500), Answer(500))
    endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
    walk(order, actors, django_capture_on_commit_callbacks, OrderStatus.RESTAURANT_CONFIRMED)
    retry_until_settled()
    assert list(WebhookDelivery.objects.order_by("sequence").values_list("sequence", "state")) == [
        (1, DeliveryState.FAILED),
        (2, DeliveryState.SUCCEEDED),
    ]
    assert [r.payload["sequence"] for r in receiver.accepted()] == [2]


def test_an_endpoint_failing_for_five_days_is_disabled_the_operators_told_and_an_event_sent(
    receivers, endpoint_for, customer, menu, actors, settings, django_capture_on_commit_callbacks
):
    UserFactory(username="ops", email="ops@example.com", is_staff=True, is_superuser=True)
    receiver = receivers(default=Answer(503))
    endpoint = endpoint_for(receiver)
    watcher = receivers()
    watching = endpoint_for(watcher)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
    # Every attempt of the schedule fails; new events keep the endpoint failing for days.
    start = timezone.now()
    for day in range(6):
        with freeze_time(start + timedelta(days=day, seconds=1), tick=True):
            walk(order, actors, django_capture_on_commit_callbacks, *TO_READY[day : day + 1])
            retry_until_settled(rounds=3, callbacks=django_capture_on_commit_callbacks)
        endpoint.refresh_from_db()
        if endpoint.state != EndpointState.ACTIVE:
            break
    assert endpoint.state == EndpointState.DISABLED
    assert endpoint.failing_since <= endpoint.paused_at - timedelta(days=5)
    alerts = [m for m in mail.outbox if "disabled" in m.subject]
    assert len(alerts) == 1 and alerts[0].to == ["ops@example.com"] and endpoint.url in alerts[0].body
    notices = [r.payload for r in watcher.accepted() if r.payload["event_type"] == "endpoint.disabled"]
    assert len(notices) == 1 and notices[0]["metadata"]["endpoint_id"] == endpoint.pk
    assert watching.state == EndpointState.ACTIVE

    webhook_endpoint_enable(endpoint_id=endpoint.pk, actor=actors["admin"])
    endpoint.refresh_from_db()
    assert (endpoint.state, endpoint.consecutive_failures, endpoint.failing_since) == (EndpointState.ACTIVE, 0, None)


def test_the_beat_disables_an_endpoint_that_failed_for_five_days_when_nothing_else_is_due(
    receivers, endpoint_for, settings, django_capture_on_commit_callbacks
):
    UserFactory(username="ops", email="ops@example.com", is_staff=True, is_superuser=True)
    endpoint = endpoint_for(receivers())
    endpoint.consecutive_failures = settings.ORDERFLOW_WEBHOOK_BREAKER_FAILURES
    endpoint.failing_since = timezone.now() - timedelta(days=4, hours=23)
    endpoint.save()
    webhooks_dispatch_due()
    endpoint.refresh_from_db()
    assert endpoint.state == EndpointState.ACTIVE
    with freeze_time(timezone.now() + timedelta(hours=1, seconds=1)), django_capture_on_commit_callbacks(execute=True):
        webhooks_dispatch_due()
    endpoint.refresh_from_db()
    assert endpoint.state == EndpointState.DISABLED
    assert [m.subject for m in mail.outbox] == [f"Webhook endpoint disabled: {endpoint.name}"]


def test_an_operator_replays_a_time_range_to_an_endpoint(
    receivers, endpoint_for, customer, menu, actors, django_capture_on_commit_callbacks
):
    receiver = receivers()
    endpoint = endpoint_for(receiver)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        first = place_order(customer, menu["salad"], quantity=2)
    walk(first, actors, django_capture_on_commit_callbacks, OrderStatus.RESTAURANT_CONFIRMED)
    middle = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        second = place_order(customer, menu["salad"], quantity=2)
    assert len(receiver.received) == 3

    with django_capture_on_commit_callbacks(execute=True):
        queued = webhook_endpoint_replay(endpoint_id=endpoint.pk, since=before, until=middle, actor=actors["admin"])

    assert queued == 2
    again = [(r.payload["order_id"], r.payload["sequence"]) for r in receiver.received[3:]]
    assert again == [(str(first.pk), 1), (str(first.pk), 2)]
    ids = [r.headers["X-Orderflow-Event-Id"] for r in receiver.received]
    assert ids[3:] == ids[:2], "a replayed event keeps its event id"
    assert str(second.pk) not in {order_id for order_id, _ in again}


def test_a_redirect_to_another_host_is_not_followed(
    receivers, endpoint_for, customer, menu, django_capture_on_commit_callbacks
):
    elsewhere = receivers()
    redirecting = receivers(default=Answer(302, location=elsewhere.url.replace("127.0.0.1", "localhost")))
    endpoint_for(redirecting)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    assert len(redirecting.received) == 1
    assert elsewhere.received == []
    attempt = WebhookAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == ("redirect", 302)
    assert "not followed" in attempt.error
    assert WebhookDelivery.objects.get().state == DeliveryState.PENDING


def test_private_addresses_are_refused_unless_allowed(
    receivers, endpoint_for, customer, menu, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    receiver = receivers()
    endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    assert receiver.received == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.outcome == "refused" and "non-public address (127.0.0.1)" in attempt.error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.10:8080/",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://localhost:9/",
        "ftp://example.com/",
        "http://user:pw@93.184.216.34/",
    ],
)
def test_url_check_refuses_non_public_targets(url):
    with pytest.raises(DeliveryRefused):
        url_check(url, allow_private=False)


def test_url_check_accepts_a_public_address():
    assert url_check("https://93.184.216.34:8443/hook", allow_private=False)[1:] == (
        "93.184.216.34",
        8443,
        ["93.184.216.34"],
    )


def test_send_test_event_and_resend(receivers, endpoint_for, admin_user, django_capture_on_commit_callbacks, actors):
    receiver = receivers()
    endpoint = endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_endpoint_send_test(endpoint_id=endpoint.pk, actor=actors["admin"])
    [test_event] = receiver.received
    assert test_event.payload["event_type"] == TEST_EVENT_TYPE
    assert signed_with(test_event, "whsec_current")
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_resend(delivery_id=delivery.pk, actor=actors["admin"])
    assert [r.headers["X-Orderflow-Event-Id"] for r in receiver.received] == [str(delivery.event_id)] * 2
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2


def test_admin_actions_send_a_test_event_resend_and_enable(
    receivers, endpoint_for, admin_user, client, django_capture_on_commit_callbacks
):
    receiver = receivers()
    endpoint = endpoint_for(receiver, state=EndpointState.PAUSED)
    client.force_login(admin_user)
    url = "/admin/notifications/webhookendpoint/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "send_test_event", "_selected_action": [endpoint.pk]}, follow=True)
    assert "Enable the endpoint before sending it a test event." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "enable", "_selected_action": [endpoint.pk]})
        client.post(url, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    assert len(receiver.received) == 1
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/notifications/webhookdelivery/", {"action": "resend", "_selected_action": [delivery.pk]})
    assert len(receiver.received) == 2
    page = client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "success" in page and "200" in page


def test_the_admin_refuses_an_endpoint_on_a_private_address(admin_user, client, settings):
    settings.ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client.force_login(admin_user)
    response = client.post(
        "/admin/notifications/webhookendpoint/add/",
        {
            "name": "Intranet",
            "url": "http://10.0.0.5/hook",
            "secret": "whsec_x",
            "previous_secret": "",
        },
    )
    assert response.status_code == 200
    assert "This URL cannot be called" in response.content.decode()


def test_https_connects_to_the_checked_address_and_verifies_the_urls_host_name(
    receivers, endpoint_for, localhost_certificate, settings, customer, menu, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_CA_BUNDLE = localhost_certificate[0]
    receiver = receivers(tls=localhost_certificate)
    by_name = endpoint_for(receiver, name="by name", url=receiver.url_for("localhost"))
    by_address = endpoint_for(receiver, name="by address", url=receiver.url_for("127.0.0.1"))
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    [received] = receiver.received
    assert received.headers["Host"] == f"localhost:{receiver.server.server_address[1]}"
    assert WebhookDelivery.objects.get(endpoint=by_name).state == DeliveryState.SUCCEEDED
    refused = WebhookAttempt.objects.get(delivery__endpoint=by_address)
    assert refused.outcome == "connection_error" and "doesn't match 'localhost'" in refused.error


def test_an_unreachable_first_address_falls_back_to_the_next(
    receivers, endpoint_for, customer, menu, monkeypatch, django_capture_on_commit_callbacks
):
    import socket as socket_module

    receiver = receivers()
    port = receiver.server.server_address[1]
    real = socket_module.getaddrinfo

    def two_addresses(host, *args, **kwargs):
        if host == "receiver.test":
            # An address where nothing listens first (as with a host whose IPv6 is down), then the receiver.
            return [
                (socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                (socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr("notifications.http.socket.getaddrinfo", two_addresses)
    endpoint_for(receiver, url=receiver.url_for("receiver.test"))
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer, menu["salad"], quantity=2)
    assert [r.headers["Host"] for r in receiver.received] == [f"receiver.test:{port}"]
    assert WebhookDelivery.objects.get().state == DeliveryState.SUCCEEDED


def test_a_lease_left_by_a_dead_worker_runs_out_and_the_delivery_goes_again(
    receivers, endpoint_for, customer, menu, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS = 5
    settings.ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS = 5
    receiver = receivers()
    endpoint = endpoint_for(receiver)
    with django_capture_on_commit_callbacks(execute=False):
        order = place_order(customer, menu["salad"], quantity=2)
    # As a worker that died mid-post would leave it: leased for ten seconds, not recorded.
    webhooks_record_events([TrackingEvent.objects.get(order=order)])
    delivery = WebhookDelivery.objects.get()
    delivery.leased_until = timezone.now() + timedelta(seconds=10)
    delivery.save(update_fields=["leased_until"])

    assert webhook_deliver_queue(endpoint_id=endpoint.pk, order_id=order.pk) == 0
    assert webhooks_dispatch_due() == 0
    assert receiver.received == []
    with freeze_time(delivery.leased_until + timedelta(seconds=1), tick=True):
        assert webhooks_dispatch_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.leased_until) == (DeliveryState.SUCCEEDED, 1, None)
    assert len(receiver.received) == 1


def test_the_docs_state_the_retry_schedule_the_settings_hold(settings):
    page = (Path(__file__).resolve().parents[2] / "docs/operations/webhooks-and-notifications.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ") and line[2:4].strip().isdigit()]
    units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}
    waits = []
    for row in rows:
        wait = row.split("|")[2].strip()
        if wait != "(at once)":
            amount, unit = wait.split()
            waits.append(int(amount) * units[unit])
    assert waits == settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS
    assert len(rows) == webhook_max_attempts()
