import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import EventType, OrderStatus, PaymentStatus, RefundStatus, TrackingEvent
from orders.services.deadlines import order_enforce_deadline
from payments.models import Payment, PaymentRecordStatus, PaymentWebhookEvent, Refund
from payments.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature
from tests.factories import OrderFactory, place_order

pytestmark = pytest.mark.django_db

URL = "/api/payments/webhook/"
SECRET = "test-webhook-secret"


def deliver(body, *, secret=SECRET, timestamp=None, signature=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    signature = signature or webhook_signature(secret=secret, timestamp=timestamp, body=raw)
    sent = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature} if headers is None else headers
    return Client().post(URL, data=raw, content_type="application/json", headers=sent)


def event(order, *, event_id="evt_1", kind="payment.succeeded", **data):
    return {
        "id": event_id,
        "type": kind,
        "data": {
            "order_id": str(order.pk),
            "reference": "sim_ch_abc",
            "amount": str(order.total),
            "currency": order.currency,
            **data,
        },
    }


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@pytest.fixture
def pending_order(customer, menu):
    return place_order(customer, menu["salad"], quantity=2, payment_method="online")


def test_a_signed_success_marks_the_order_paid(pending_order):
    response = deliver(event(pending_order))

    assert response.status_code == 200
    assert response.json() == {"event_id": "evt_1", "outcome": "applied"}
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_SUCCESS
    assert pending_order.payment_status == PaymentStatus.PAID
    assert pending_order.paid_at is not None
    payment = Payment.objects.get(order=pending_order)
    assert (payment.status, payment.provider_reference) == (PaymentRecordStatus.SUCCEEDED, "sim_ch_abc")
    assert TrackingEvent.objects.filter(order=pending_order, event_type=EventType.PAYMENT_SUCCEEDED).count() == 1


def test_a_signed_failure_marks_the_payment_failed(pending_order):
    response = deliver(event(pending_order, kind="payment.failed"))

    assert response.status_code == 200
    pending_order.refresh_from_db()
    assert (pending_order.status, pending_order.payment_status) == (OrderStatus.PAYMENT_FAILED, PaymentStatus.FAILED)
    assert pending_order.paid_at is None


def test_a_duplicate_delivery_changes_nothing_and_writes_no_second_event(pending_order):
    first = deliver(event(pending_order))
    pending_order.refresh_from_db()
    sequence = pending_order.sequence

    again = deliver(event(pending_order))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["outcome"] == "duplicate"
    pending_order.refresh_from_db()
    assert pending_order.sequence == sequence
    assert TrackingEvent.objects.filter(order=pending_order, event_type=EventType.PAYMENT_SUCCEEDED).count() == 1
    assert PaymentWebhookEvent.objects.filter(event_id="evt_1").count() == 1


def test_the_same_result_under_a_new_event_id_is_not_applied_twice(pending_order):
    deliver(event(pending_order, event_id="evt_1"))

    response = deliver(event(pending_order, event_id="evt_2"))

    assert response.json()["outcome"] == "already_applied"
    assert TrackingEvent.objects.filter(order=pending_order, event_type=EventType.PAYMENT_SUCCEEDED).count() == 1


def test_a_contradicting_result_is_refused(pending_order):
    deliver(event(pending_order, event_id="evt_1"))

    response = deliver(event(pending_order, event_id="evt_2", kind="payment.failed"))

    assert_problem(response, 409, "payment_not_pending")
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_SUCCESS


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "someone-elses-secret"},
        {"signature": "v1=" + "0" * 64},
        {"signature": "not a signature"},
        {"signature": "v1=ünïcode"},
        {"headers": {}},
        {"headers": {TIMESTAMP_HEADER: "1700000000"}},
    ],
)
def test_a_delivery_without_the_right_signature_is_refused(pending_order, tamper):
    response = deliver(event(pending_order), **tamper)

    assert_problem(response, 401, "webhook_signature_invalid")
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_PENDING
    assert not PaymentWebhookEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(pending_order):
    timestamp = str(int(time.time()))
    signed = json.dumps(event(pending_order, kind="payment.failed")).encode()
    signature = webhook_signature(secret=SECRET, timestamp=timestamp, body=signed)

    response = deliver(event(pending_order), timestamp=timestamp, signature=signature)

    assert_problem(response, 401, "webhook_signature_invalid")


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(pending_order, offset):
    response = deliver(event(pending_order), timestamp=int(time.time()) + offset)

    assert_problem(response, 400, "webhook_timestamp_invalid")
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_PENDING


@pytest.mark.parametrize("timestamp", ["yesterday", "9" * 400, "+1_700_000_000", "-5"])
def test_a_signed_but_malformed_timestamp_is_refused(pending_order, timestamp):
    assert_problem(deliver(event(pending_order), timestamp=timestamp), 400, "webhook_timestamp_invalid")
    assert not PaymentWebhookEvent.objects.exists()


def test_an_unknown_order_is_not_found_and_not_remembered(db):
    ghost = OrderFactory.build()

    response = deliver(event(ghost))

    assert_problem(response, 404, "order_not_found")
    assert not PaymentWebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_request"),
        (b"\xff\xfe", "malformed_request"),
        (b'{"id": NaN}', "malformed_request"),
        (b"[" * 100000, "malformed_request"),
        (b"[]", "validation_error"),
        (b'"text"', "validation_error"),
        (b"{}", "validation_error"),
        (json.dumps({"id": "e", "type": "payment.refunded", "data": {"order_id": "x"}}).encode(), "validation_error"),
        (
            json.dumps({"id": 5, "type": "payment.succeeded", "data": {"order_id": "not-a-uuid"}}).encode(),
            "validation_error",
        ),
        (json.dumps({"id": "e", "type": "payment.succeeded", "data": "order"}).encode(), "validation_error"),
        (json.dumps({"id": ["e"], "type": ["payment.succeeded"], "data": {}}).encode(), "validation_error"),
        (
            json.dumps(
                {
                    "id": "e" * 101,
                    "type": "payment.succeeded",
                    "data": {"order_id": "5f0f6c56-8a53-4f5c-9e43-29b0cbd7b6a1"},
                }
            ).encode(),
            "validation_error",
        ),
        (
            json.dumps(
                {
                    "id": "e",
                    "type": "payment.succeeded",
                    "data": {"order_id": "5f0f6c56-8a53-4f5c-9e43-29b0cbd7b6a1", "amount": "1e400"},
                }
            ).encode(),
            "validation_error",
        ),
    ],
)
def test_a_malformed_body_is_a_problem_not_a_crash(pending_order, body, code):
    response = deliver(body)

    assert_problem(response, 400, code)
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_PENDING


def test_a_wrong_amount_is_refused_and_can_be_sent_again_corrected(pending_order):
    wrong = deliver(event(pending_order, amount="0.01"))
    right = deliver(event(pending_order))

    assert_problem(wrong, 409, "payment_amount_mismatch")
    assert right.json()["outcome"] == "applied"


def test_a_webhook_for_a_cash_order_is_refused(customer, menu):
    order = place_order(customer, menu["salad"], quantity=2, payment_method="cod")

    assert_problem(deliver(event(order)), 409, "payment_not_pending")


def test_only_post_is_accepted(pending_order):
    response = Client().get(URL)

    assert_problem(response, 405, "method_not_allowed")


def test_a_payment_that_arrives_after_the_order_expired_is_paid_back(pending_order, django_capture_on_commit_callbacks):
    order_enforce_deadline(order_id=pending_order.pk, now=timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(event(pending_order))

    assert response.json()["outcome"] == "late_payment_refunded"
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.REFUND_COMPLETED
    assert pending_order.payment_status == PaymentStatus.REFUNDED
    assert pending_order.refund_status == RefundStatus.COMPLETED
    assert Refund.objects.get(order=pending_order).provider_reference.startswith("sim_re_")


def test_a_reference_another_order_was_paid_with_is_a_conflict_and_changes_nothing(pending_order, customer, menu):
    assert deliver(event(pending_order)).status_code == 200
    other = place_order(customer, menu["salad"], quantity=2, payment_method="online")
    events_before = TrackingEvent.objects.filter(order=other).count()

    response = deliver(event(other, event_id="evt_2"))

    assert_problem(response, 409, "payment_reference_in_use")
    other.refresh_from_db()
    assert (other.status, other.payment_status) == (OrderStatus.PAYMENT_PENDING, PaymentStatus.PENDING)
    assert Payment.objects.get(order=other).status == PaymentRecordStatus.PENDING
    assert TrackingEvent.objects.filter(order=other).count() == events_before
    assert not PaymentWebhookEvent.objects.filter(event_id="evt_2").exists()


def test_a_late_payment_with_a_reference_in_use_is_a_conflict_and_changes_nothing(pending_order, customer, menu):
    assert deliver(event(pending_order)).status_code == 200
    other = place_order(customer, menu["salad"], quantity=2, payment_method="online")
    order_enforce_deadline(order_id=other.pk, now=timezone.now() + timedelta(hours=1))

    response = deliver(event(other, event_id="evt_2"))

    assert_problem(response, 409, "payment_reference_in_use")
    other.refresh_from_db()
    assert (other.status, other.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.PENDING)
    assert not Refund.objects.filter(order=other).exists()


@pytest.mark.parametrize("reference", [None, ""])
def test_a_success_without_the_charge_reference_is_refused(pending_order, reference):
    body = event(pending_order)
    if reference is None:
        del body["data"]["reference"]
    else:
        body["data"]["reference"] = reference

    response = deliver(body)

    assert_problem(response, 400, "validation_error")
    assert "reference" in json.dumps(response.json()["errors"])
    pending_order.refresh_from_db()
    assert pending_order.status == OrderStatus.PAYMENT_PENDING


def test_a_failure_needs_no_reference(pending_order):
    body = event(pending_order, kind="payment.failed")
    del body["data"]["reference"]

    assert deliver(body).status_code == 200
