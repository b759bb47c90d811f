"""A Celery worker killed (SIGKILL) in the middle of a webhook delivery.

A real receiver holds the first delivery open; while it waits, the worker posting it is killed
with its pool (no warm shutdown, no acknowledgement). A second worker, running beat, sends the
interrupted delivery again once its lease has run out (or the broker hands the unacknowledged
task back: `acks_late` with `reject_on_worker_lost`). The receiver, which dedupes by event id,
sees the interrupted event exactly twice and every event applied exactly once, in order.
"""

import pytest

from notifications.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from orders.models import OrderStatus, TrackingEvent
from tests.factories import move, place_order
from tests.faults import outbox_support as support
from tests.faults.outbox_support import case_deadline, workers  # noqa: F401 (fixtures)
from tests.integration.test_webhook_worker import receiver  # noqa: F401 (a fixture: its first answer waits 30 s)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_delivery_has_it_retried_and_the_receiver_applies_each_event_once(
    case_deadline,  # noqa: F811
    workers,  # noqa: F811
    receiver,  # noqa: F811
    customer,
    menu,
    actors,
    offers_dispatch,
):
    endpoint = WebhookEndpoint.objects.create(name="POS", url=receiver.url, secret="whsec_worker_fault")
    doomed = workers.start(**support.WORKER_ENV)
    order = place_order(customer, menu["salad"], quantity=2)
    move(order, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, actor=actors["restaurant"])
    events = [
        str(pk) for pk in TrackingEvent.objects.filter(order=order).order_by("sequence").values_list("pk", flat=True)
    ]
    assert len(events) == 3
    support.wait_for(lambda: len(receiver.received) == 1, workers, "the first delivery to reach the receiver")

    workers.kill(doomed)

    interrupted = WebhookDelivery.objects.get(endpoint=endpoint, sequence=1)
    assert (interrupted.state, interrupted.attempts) == (DeliveryState.PENDING, 0), "the killed attempt is not lost"
    workers.start(beat=True, **support.WORKER_ENV)
    support.wait_for(
        lambda: WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 3,
        workers,
        "the second worker to deliver every event",
    )
    assert support.seen_by_event_id(receiver) == {events[0]: 2, events[1]: 1, events[2]: 1}
    assert [applied.headers["X-Orderflow-Event-Id"] for applied in receiver.accepted()] == events
    assert [applied.payload["sequence"] for applied in receiver.accepted()] == [1, 2, 3]
