"""A cancelled paid order's socket stays live until its refund ends."""

import pytest
from channels.db import database_sync_to_async

from payments.models import Refund
from payments.services import payment_record_result, refund_process
from tests import factories
from tests.tracking.conftest import open_socket, receive, receive_all, run_async

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def _paid(customer, restaurant, menu):
    order = factories.place_order(customer, menu["salad"], payment_method="online")
    payment_record_result(
        order_id=order.pk,
        succeeded=True,
        provider_reference="sim_ch_paid",
        provider="simulated",
    )
    return order


@pytest.fixture
def refunds_wait(monkeypatch):
    """Refunds stay PENDING until the test processes them (no task runs on commit)."""
    monkeypatch.setattr("payments.tasks.refund_process_task.delay", lambda refund_id: None)


def refund_statuses(messages: list[dict]) -> list[str]:
    return [m["refund_status"] for m in messages if m.get("event_type") == "order.refund_updated"]


@run_async
async def test_a_paid_cancelled_order_streams_its_refund_to_the_end_then_closes(customer, restaurant, menu, staff_user):
    order = await db(_paid)(customer, restaurant, menu)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    await receive(communicator)
    await db(factories.cancel)(order.pk, staff_user)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["pending", "processing", "completed"]
    assert [m["new_status"] for m in messages if m.get("type") == "event"][-1] == "REFUND_COMPLETED"
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_a_cancelled_order_with_a_pending_refund_stays_live_until_the_refund_ends(
    customer, restaurant, menu, staff_user, refunds_wait
):
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    snapshot = await receive(communicator)
    assert (snapshot["status"], snapshot["refund_status"]) == ("CANCELLED", "pending")
    assert await communicator.receive_nothing(timeout=0.2)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["processing", "completed"]
    assert [m["new_status"] for m in messages if m.get("type") == "event"] == [
        "CANCELLED",
        "CANCELLED",
        "REFUND_COMPLETED",
    ]
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_a_failed_refund_ends_the_stream(customer, restaurant, menu, staff_user, refunds_wait, settings):
    settings.ORDERFLOW_REFUND_MAX_ATTEMPTS = 1
    settings.ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE = 1.0
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    communicator = await open_socket(f"ws/orders/{order.pk}/", customer)
    await receive(communicator)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(communicator)
    assert refund_statuses(messages) == ["processing", "failed"]
    assert messages[-1] == {"closed": 1000}


@run_async
async def test_the_hub_follows_a_refund_to_the_end(customer, restaurant, menu, staff_user, refunds_wait):
    order = await db(_paid)(customer, restaurant, menu)
    await db(factories.cancel)(order.pk, staff_user)
    hub = await open_socket("ws/orders/", customer)
    await hub.send_json_to({"action": "subscribe", "order_id": str(order.pk)})
    assert (await receive(hub))["refund_status"] == "pending"
    assert await hub.receive_nothing(timeout=0.2)
    refund_id = await db(lambda: Refund.objects.get(order_id=order.pk).pk)()
    await db(refund_process)(refund_id=refund_id)
    messages = await receive_all(hub)
    assert refund_statuses(messages) == ["processing", "completed"]
    assert messages[-1] == {
        "type": "unsubscribed",
        "order_id": str(order.pk),
        "reason": "final",
    }
    await hub.disconnect()
