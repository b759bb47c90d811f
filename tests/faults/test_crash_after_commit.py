"""The web process dies (SIGKILL) right after a transition commits, before any of its effects ran.

A real granian process serves the API under the test settings with the fault point
`after_commit_before_relay` switched on (core/faults.py): the restaurant confirms an order over
HTTP, the transition commits, and the process kills itself before the relay. Nothing is sent; the
event's outbox message waits. Then the server is started again (without the fault) beside a real
Celery worker running beat: the sweep relays the message, and a real HTTP receiver gets the
event's webhook exactly once, as the customer gets the event's notification exactly once.
"""

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from core.models import OutboxMessage
from notifications.models import DeliveryState, Notification, NotificationState, WebhookDelivery, WebhookEndpoint
from orders.models import EventType, Order, OrderStatus, TrackingEvent
from tests.factories import place_order
from tests.faults.outbox_support import (  # noqa: F401 (case_deadline, a fixture)
    WORKER_ENV,
    WebServer,
    case_deadline,
    seen_by_event_id,
)
from tests.integration.test_celery_worker import (
    wait_for,
    workers,  # noqa: F401 (a fixture)
)
from tests.notifications.receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SERVER_ENV = {"ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1", "ORDERFLOW_COURIER_DISPATCH": "offers"}


class Diagnosis:
    """For a failure's message: what the outbox, the webhook log and the notifier hold, then the workers' logs."""

    def __init__(self, started_workers) -> None:
        self.workers = started_workers

    def logs(self) -> str:
        return (
            f"outbox: {list(OutboxMessage.objects.values('payload', 'done', 'relayed_at', 'last_error'))}\n"
            f"webhooks: {list(WebhookDelivery.objects.values('sequence', 'state', 'attempts', 'last_error'))}\n"
            f"notifications: {list(Notification.objects.values('dedupe_key', 'state', 'attempts', 'last_error'))}\n"
            + self.workers.logs()
        )


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def servers(tmp_path):
    started: list[WebServer] = []

    def start(**env: str) -> WebServer:
        server = WebServer(tmp_path, **{**SERVER_ENV, **env})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_transition_committed_by_a_process_killed_before_its_effects_is_delivered_once_after_restart(
    case_deadline,  # noqa: F811
    workers,  # noqa: F811
    servers,
    receiver,
    customer,
    staff_user,
    menu,
    offers_dispatch,
):
    WebhookEndpoint.objects.create(name="POS", url=receiver.url, secret="whsec_fault")
    customer.email = "alice@example.com"  # the confirmation is a milestone she is told of by email
    customer.save(update_fields=["email"])
    order = place_order(customer, menu["salad"], quantity=2)
    placed_event = TrackingEvent.objects.get(order=order)
    token = str(AccessToken.for_user(staff_user))

    doomed = servers(ORDERFLOW_FAULT_POINTS="1", ORDERFLOW_FAULT_POINT="after_commit_before_relay")
    try:
        answer = requests.post(
            f"{doomed.url}/api/restaurants/orders/{order.pk}/confirm/",
            json={},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except requests.ConnectionError:
        answer = None
    assert answer is None, f"the process answered {answer.status_code}: {answer.text[:500]}\n{doomed.logs()}"
    wait_for(lambda: doomed.process.poll() is not None, doomed, "the web process to die")

    # The transition committed; none of its effects ran.
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESTAURANT_CONFIRMED
    confirmed = TrackingEvent.objects.get(order=order, event_type=EventType.STATUS_CHANGED)
    message = OutboxMessage.objects.get(payload={"event_id": str(confirmed.pk)})
    assert (message.relayed_at, message.done) == (None, [])
    assert not WebhookDelivery.objects.filter(tracking_event=confirmed).exists()
    assert not Notification.objects.filter(dedupe_key__startswith=f"milestone:{confirmed.pk}").exists()

    servers()  # the process comes back (without the fault point) beside a worker running beat
    workers.start(beat=True, **WORKER_ENV)

    wait_for(
        lambda: (
            WebhookDelivery.objects.filter(tracking_event=confirmed, state=DeliveryState.SUCCEEDED).exists()
            and Notification.objects.filter(
                dedupe_key__startswith=f"milestone:{confirmed.pk}", state=NotificationState.SENT
            ).exists()
        ),
        Diagnosis(workers),
        "the confirmation's webhook and notification",
    )
    message.refresh_from_db()
    assert message.relayed_at is not None
    assert "notifications.webhooks" in message.done and "notifications.order_messages" in message.done
    # Exactly once each: the receiver saw the confirmation's event id once (and the placing's once).
    assert seen_by_event_id(receiver) == {str(placed_event.pk): 1, str(confirmed.pk): 1}
    assert [applied.payload["sequence"] for applied in receiver.accepted()] == [1, 2]
    (notification,) = Notification.objects.filter(dedupe_key__startswith=f"milestone:{confirmed.pk}")
    assert (notification.state, notification.attempts, notification.recipient) == (
        NotificationState.SENT,
        1,
        customer.email,
    )
