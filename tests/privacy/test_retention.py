"""Data has an end: the hourly retention task deletes, reduces or expires what is past its age,
in batches, and leaves what is not."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from core.actors import Actor
from delivery.models import CourierLocation, CourierProfile
from delivery.services import delivery_dispute_open, delivery_dispute_resolve
from notifications.models import (
    DeliveryState,
    Notification,
    SimulatedSmsMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from orders.models import ExpiredTrackingLink, Order, OrderStatus
from payments.models import Payment, PaymentRecordStatus
from privacy.tasks import retention_enforce_task
from tests.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.ORDERFLOW_RETENTION_BATCH_SIZE = 2


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_the_task_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert entry["task"] == "privacy.tasks.retention_enforce_task"


def test_old_courier_locations_go_except_a_disputed_deliverys_track(customer, courier_user, menu, admin_user):
    profile = CourierProfile.objects.get(user=courier_user)
    disputed = place_order(customer, menu["pizza"])
    other = place_order(customer, menu["pizza"])

    def sample(age_days, order=None):
        row = CourierLocation.objects.create(
            courier=profile, order=order, latitude=Decimal("37.1"), longitude=Decimal("-122.1")
        )
        CourierLocation.objects.filter(pk=row.pk).update(recorded_at=days_ago(age_days))
        return row.pk

    old = [sample(31), sample(45, other), sample(90), sample(31), sample(400)]
    kept_track = [sample(40, disputed), sample(41, disputed)]
    recent = [sample(29), sample(1, other)]
    dispute = delivery_dispute_open(order_id=disputed.pk, actor=Actor.admin(admin_user), reason="Never arrived")

    report = retention_enforce_task()

    remaining = set(CourierLocation.objects.values_list("pk", flat=True))
    assert remaining == {*kept_track, *recent}
    assert report["courier_locations_deleted"] == len(old)

    delivery_dispute_resolve(dispute_id=dispute.pk, actor=Actor.admin(admin_user))
    retention_enforce_task()
    assert set(CourierLocation.objects.values_list("pk", flat=True)) == set(recent)


def test_a_tracking_link_past_its_age_answers_410(client, customer, menu):
    ended_long_ago = place_order(customer, menu["pizza"])
    ended_recently = place_order(customer, menu["pizza"])
    still_going = place_order(customer, menu["pizza"])
    hours = settings.ORDERFLOW_TRACKING_LINK_HOURS_AFTER_END
    Order.objects.filter(pk=ended_long_ago.pk).update(
        status=OrderStatus.CANCELLED, updated_at=timezone.now() - timedelta(hours=hours + 1)
    )
    Order.objects.filter(pk=ended_recently.pk).update(
        status=OrderStatus.DELIVERED, updated_at=timezone.now() - timedelta(hours=hours - 1)
    )
    Order.objects.filter(pk=still_going.pk).update(updated_at=timezone.now() - timedelta(days=3))
    old_token = ended_long_ago.tracking_token

    # Past its age, the link is gone even before the task runs (a read enforces the age, writing nothing).
    before = client.get(f"/api/track/{old_token}/")
    assert before.status_code == 410 and before.json()["code"] == "tracking_link_expired"

    report = retention_enforce_task()

    assert report["tracking_links_expired"] == 1
    assert Order.objects.get(pk=ended_long_ago.pk).tracking_token is None
    assert ExpiredTrackingLink.objects.count() == 1  # a hash, nothing that leads back to the order
    for path in (f"/api/track/{old_token}/", f"/api/track/{old_token}/status/", f"/api/track/{old_token}/events/"):
        gone = client.get(path)
        assert gone.status_code == 410, path
        assert gone["Content-Type"] == "application/problem+json"
        assert gone.json()["code"] == "tracking_link_expired"
    page = client.get(f"/track/{old_token}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 410 and b"expired" in page.content
    assert client.get(f"/track/{old_token}/", HTTP_ACCEPT="application/json").json()["code"] == "tracking_link_expired"

    assert client.get(f"/api/track/{ended_recently.tracking_token}/").status_code == 200
    # An order ends when it is delivered, whatever changed on it since.
    Order.objects.filter(pk=ended_recently.pk).update(delivered_at=timezone.now() - timedelta(hours=hours + 1))
    assert client.get(f"/api/track/{ended_recently.tracking_token}/").status_code == 410
    Order.objects.filter(pk=ended_recently.pk).update(delivered_at=timezone.now())
    assert client.get(f"/api/track/{still_going.tracking_token}/").status_code == 200
    assert client.get("/api/track/not-a-token-anyone-has/").status_code == 404


def test_webhook_logs_past_their_age_go(customer, menu):
    endpoint = WebhookEndpoint.objects.create(name="POS", url="https://pos.example/hook")
    order = place_order(customer, menu["pizza"])

    def delivery(age_days, state):
        row = WebhookDelivery.objects.create(
            endpoint=endpoint,
            order=order,
            event_id=uuid.uuid4(),
            event_type="order.placed",
            payload={"updated_by": "alice"},
            state=state,
            next_attempt_at=timezone.now(),
        )
        WebhookDelivery.objects.filter(pk=row.pk).update(created_at=days_ago(age_days))
        WebhookAttempt.objects.create(delivery=row, number=1, attempted_at=days_ago(age_days), outcome="ok")
        return row.pk

    old = [delivery(31, DeliveryState.SUCCEEDED), delivery(60, DeliveryState.FAILED), delivery(35, "succeeded")]
    waiting = delivery(40, DeliveryState.PENDING)
    recent = delivery(2, DeliveryState.SUCCEEDED)

    retention_enforce_task()

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {waiting, recent}
    assert not WebhookDelivery.objects.filter(pk__in=old).exists()
    # The old attempt of the delivery still retrying is gone too; the recent one stays.
    assert list(WebhookAttempt.objects.values_list("delivery_id", flat=True)) == [recent]


def test_provider_payloads_are_reduced_to_what_the_service_reads(customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online")
    payload = {
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "payment_method_used": "gcash",
        "billing_details": {"name": "Alice Example", "address": {"line1": "500 Howard Street"}},
        "card": {"last4": "4242"},
    }
    paid = {
        "order": order,
        "provider": "simulated",
        "amount": order.total,
        "currency": "USD",
        "status": PaymentRecordStatus.SUCCEEDED,
        "raw_payload": payload,
    }
    old = Payment.objects.create(**paid)
    fresh = Payment.objects.create(**paid, provider_reference="pi_fresh")
    Payment.objects.filter(pk=old.pk).update(updated_at=days_ago(2))

    retention_enforce_task()

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.raw_payload == {"id": "evt_1", "type": "payment_intent.succeeded", "payment_method_used": "gcash"}
    assert old.payload_reduced_at is not None
    assert fresh.raw_payload == payload


def test_codes_in_sent_texts_are_masked_and_old_messages_go():
    texts = [
        "Your order ORD-20261203-AB2C34 is on its way. Give the courier this code at the door: 482913",
        "Your orderflow verification code is 007311. It is valid for 10 minutes.",
        "Your order ORD-20261203-AB2C34 has been delivered. Enjoy your meal!",
    ]
    for index, text in enumerate(texts):
        SimulatedSmsMessage.objects.create(
            reference=f"r{index}", idempotency_key=f"k{index}", to="+15550100", text=text
        )
    ancient = Notification.objects.create(
        kind="milestone",
        channel="sms",
        recipient="+15550100",
        subject="s",
        body="b",
        dedupe_key="old",
        state="sent",
        next_attempt_at=timezone.now(),
    )
    Notification.objects.filter(pk=ancient.pk).update(created_at=days_ago(91))

    retention_enforce_task()

    stored = list(SimulatedSmsMessage.objects.order_by("reference").values_list("text", flat=True))
    assert stored[0].endswith("at the door: ••••••") and "ORD-20261203-AB2C34" in stored[0]
    assert "482913" not in stored[0] and "007311" not in stored[1]
    assert stored[2] == texts[2]
    assert not Notification.objects.filter(pk=ancient.pk).exists()


def test_an_admin_opens_and_resolves_a_dispute(client, admin_user, customer, menu):
    order = place_order(customer, menu["pizza"])
    client.force_login(admin_user)
    added = client.post(
        "/admin/delivery/deliverydispute/add/", {"order": order.pk, "reason": "The customer says it never came"}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    dispute = order.delivery_dispute
    assert dispute.opened_by == admin_user and dispute.resolved_at is None
    client.post("/admin/delivery/deliverydispute/", {"action": "resolve", "_selected_action": [dispute.pk]})
    dispute.refresh_from_db()
    assert dispute.resolved_at is not None
