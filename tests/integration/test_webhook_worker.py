"""Outbound webhooks delivered by a real Celery worker, which is killed in the middle of a delivery."""

import pytest

from notifications.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from orders.models import OrderStatus
from tests.factories import move, place_order
from tests.integration.test_celery_worker import wait_for
from tests.integration.test_celery_worker import workers as real_workers  # noqa: F401 (a fixture)
from tests.notifications.receiver import Answer, Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The first worker dies while it waits; its lease on the delivery (timeout + margin: 12 s) then
# runs out, and the second worker's beat (every second) sends the delivery again.
WORKER_ENV = {
    "ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
    "ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS": "10",
    "ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS": "2",
    "ORDERFLOW_WEBHOOK_DISPATCH_INTERVAL_SECONDS": "1",
    # Offers, not automatic assignment: the order's events are the three the test makes.
    "ORDERFLOW_COURIER_DISPATCH": "offers",
}


@pytest.fixture
def receiver():
    # The first delivery hangs: its worker is killed while it waits for the answer.
    started = Receiver(Answer(200, delay=30))
    yield started
    started.close()


def test_a_worker_killed_mid_delivery_loses_no_event(
    real_workers,  # noqa: F811 (the fixture imported above)
    receiver,
    customer,
    menu,
    actors,
    offers_dispatch,
):
    workers = real_workers
    endpoint = WebhookEndpoint.objects.create(name="POS", url=receiver.url, secret="whsec_worker")
    doomed = workers.start(**WORKER_ENV)
    order = place_order(customer, menu["salad"], quantity=2)
    move(order, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, actor=actors["restaurant"])
    wait_for(lambda: len(receiver.received) == 1, workers, "the first delivery to reach the receiver")

    workers.kill(doomed)

    first = WebhookDelivery.objects.get(endpoint=endpoint, sequence=1)
    assert (first.state, first.attempts) == (DeliveryState.PENDING, 0), "the killed attempt is not lost"
    assert first.leased_until is not None
    workers.start(beat=True, **WORKER_ENV)
    wait_for(
        lambda: WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 3,
        workers,
        "the second worker to deliver every event",
    )
    assert [r.payload["sequence"] for r in receiver.accepted()] == [1, 2, 3]
    raw = [r.payload["sequence"] for r in receiver.received]
    assert raw[:2] == [1, 1], "the interrupted event came again, under the same event id"
    assert raw[2:] == [2, 3]
