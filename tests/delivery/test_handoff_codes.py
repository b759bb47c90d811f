"""Handoff codes: typed in once, guessing is limited, they expire, and nobody can read them who should not."""

import json
import logging
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from core.actors import Actor
from core.errors import Conflict, Forbidden, OrderNotFound, OtpExpired, OtpInvalid, OtpLocked, TooManyRequests
from delivery.handoff import otp_check, otp_code, otp_issue, otp_resend, otp_reveal
from delivery.models import HandoffCode
from orders.models import DeliveryStatus, DeliveryType, Order, PaymentMethod, PaymentStatus, TrackingEvent
from orders.services.transitions import order_transition
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

NOON = "2026-03-04 12:00:00"

# The status an order waits in for each handoff, who types the code, and the status it moves to.
HANDOFFS = {
    ("pickup", "delivery"): ("READY_FOR_PICKUP", "courier", "ORDER_PICKED_UP"),
    ("delivery", "delivery"): ("OUT_FOR_DELIVERY", "courier", "DELIVERED"),
    ("pickup", "pickup"): ("READY_FOR_PICKUP", "restaurant", "DELIVERED"),
}


@pytest.fixture
def waiting_order(customer, restaurant, courier_user):
    """An order waiting at the handoff for `purpose`, with its code issued."""

    def make(purpose="delivery", delivery_type="delivery"):
        status, _, _ = HANDOFFS[(purpose, delivery_type)]
        is_delivery = delivery_type == DeliveryType.DELIVERY
        order = OrderFactory(
            status=status,
            customer=customer,
            restaurant=restaurant,
            delivery_type=delivery_type,
            payment_method=PaymentMethod.ONLINE,
            payment_status=PaymentStatus.PAID,
            courier=courier_user if is_delivery else None,
            delivery_status=DeliveryStatus.IN_TRANSIT if status == "OUT_FOR_DELIVERY" else DeliveryStatus.ASSIGNED,
        )
        otp_issue(order=order, purpose=purpose, now=timezone.now())
        return order

    return make


def current_code(order, purpose="delivery"):
    return otp_code(HandoffCode.objects.get(order=order, purpose=purpose))


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def hand_over(order, actors, code, purpose="delivery"):
    _, role, target = HANDOFFS[(purpose, order.delivery_type)]
    return order_transition(order_id=order.pk, target=target, actor=actors[role], otp=code)


def attempts_left(order, purpose="delivery"):
    return HandoffCode.objects.get(order=order, purpose=purpose).attempts_left


def status_of(order):
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


# ---------------------------------------------------------------- typing the code


@pytest.mark.parametrize(("purpose", "delivery_type"), HANDOFFS.keys())
def test_the_right_code_completes_the_handoff_once(purpose, delivery_type, waiting_order, actors):
    order = waiting_order(purpose, delivery_type)
    code = current_code(order, purpose)
    _, _, target = HANDOFFS[(purpose, delivery_type)]

    hand_over(order, actors, code, purpose)
    assert status_of(order) == target

    with pytest.raises(OtpInvalid):
        otp_check(order=order, purpose=purpose, code=code, now=timezone.now())


def test_a_code_is_six_digits(waiting_order):
    assert re.fullmatch(r"\d{6}", current_code(waiting_order()))


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_uses_up_an_attempt_that_stays_used(waiting_order, actors):
    order = waiting_order()
    code = current_code(order)
    start = settings.ORDERFLOW_OTP_MAX_ATTEMPTS

    for attempt in (1, 2):
        with pytest.raises(OtpInvalid) as caught:
            hand_over(order, actors, wrong(code))
        # Read back after the service's transaction ended: the refusal did not roll the count back.
        assert attempts_left(order) == start - attempt == caught.value.extra["attempts_left"]
        assert caught.value.code == "otp_invalid"
        assert status_of(order) == "OUT_FOR_DELIVERY"
    assert not TrackingEvent.objects.filter(order=order).exists()

    hand_over(order, actors, code)
    assert status_of(order) == "DELIVERED"


@pytest.mark.parametrize("malformed", ["", "12345", "1234567", "abcdef", " 123456"])
def test_malformed_codes_are_refused(malformed, waiting_order):
    order = waiting_order()
    with pytest.raises(OtpInvalid):
        otp_check(order=order, purpose="delivery", code=malformed, now=timezone.now())
    assert HandoffCode.objects.get(order=order).verified_at is None


def test_too_many_wrong_codes_lock_the_code(waiting_order, actors):
    order = waiting_order()
    code = current_code(order)
    for _ in range(settings.ORDERFLOW_OTP_MAX_ATTEMPTS - 1):
        with pytest.raises(OtpInvalid):
            hand_over(order, actors, wrong(code))

    with pytest.raises(OtpLocked) as caught:
        hand_over(order, actors, wrong(code))
    assert (caught.value.code, caught.value.status_code) == ("otp_locked", 423)
    assert attempts_left(order) == 0

    with pytest.raises(OtpLocked):
        hand_over(order, actors, code)
    assert status_of(order) == "OUT_FOR_DELIVERY"


@pytest.mark.parametrize(
    ("purpose", "delivery_type", "valid_minutes"),
    [("pickup", "delivery", 15), ("delivery", "delivery", 30), ("pickup", "pickup", 15)],
)
def test_codes_expire(purpose, delivery_type, valid_minutes, waiting_order, actors):
    with freeze_time(NOON) as clock:
        just_in_time = waiting_order(purpose, delivery_type)
        too_late = waiting_order(purpose, delivery_type)
        clock.tick(timedelta(minutes=valid_minutes) - timedelta(seconds=1))
        hand_over(just_in_time, actors, current_code(just_in_time, purpose), purpose)

        clock.tick(timedelta(seconds=1))
        with pytest.raises(OtpExpired) as caught:
            hand_over(too_late, actors, current_code(too_late, purpose), purpose)
    assert (caught.value.code, caught.value.status_code) == ("otp_expired", 410)
    assert status_of(too_late) == HANDOFFS[(purpose, delivery_type)][0]


# ---------------------------------------------------------------- sending it again


def test_a_resent_code_replaces_the_old_one(waiting_order, actors):
    with freeze_time(NOON) as clock:
        order = waiting_order()
        old_code = current_code(order)
        with pytest.raises(OtpInvalid):
            hand_over(order, actors, wrong(old_code))
        clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))

        otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
        new_code = current_code(order)
        assert new_code != old_code
        assert attempts_left(order) == settings.ORDERFLOW_OTP_MAX_ATTEMPTS
        handoff = HandoffCode.objects.get(order=order)
        assert handoff.expires_at == timezone.now() + timedelta(seconds=settings.ORDERFLOW_DELIVERY_OTP_TTL_SECONDS)

        with pytest.raises(OtpInvalid):
            hand_over(order, actors, old_code)
        hand_over(order, actors, new_code)
    assert status_of(order) == "DELIVERED"


def test_a_locked_code_can_be_replaced(waiting_order, actors):
    with freeze_time(NOON) as clock:
        order = waiting_order()
        code = current_code(order)
        for _ in range(settings.ORDERFLOW_OTP_MAX_ATTEMPTS):
            with pytest.raises((OtpInvalid, OtpLocked)):
                hand_over(order, actors, wrong(code))
        clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
        otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
        hand_over(order, actors, current_code(order))
    assert status_of(order) == "DELIVERED"


def test_resending_has_a_cooldown(waiting_order, actors):
    cooldown = settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS
    with freeze_time(NOON) as clock:
        order = waiting_order()
        code = current_code(order)
        clock.tick(timedelta(seconds=cooldown - 10))
        with pytest.raises(TooManyRequests) as caught:
            otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
        assert (caught.value.code, caught.value.status_code) == ("otp_resend_too_soon", 429)
        assert caught.value.extra["retry_after"] == 10
        assert current_code(order) == code

        clock.tick(timedelta(seconds=10))
        otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
        assert current_code(order) != code


def test_resending_has_a_limit(waiting_order, actors):
    with freeze_time(NOON) as clock:
        order = waiting_order()
        for _ in range(settings.ORDERFLOW_OTP_MAX_RESENDS):
            clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
            otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
        last_code = current_code(order)

        clock.tick(timedelta(hours=1))
        with pytest.raises(TooManyRequests) as caught:
            otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
    assert caught.value.code == "otp_resend_limit"
    assert current_code(order) == last_code
    assert HandoffCode.objects.get(order=order).sends == settings.ORDERFLOW_OTP_MAX_RESENDS + 1


def test_a_used_code_is_not_resent(waiting_order, actors):
    with freeze_time(NOON) as clock:
        order = waiting_order()
        hand_over(order, actors, current_code(order))
        clock.tick(timedelta(minutes=5))
        with pytest.raises(Conflict) as caught:
            otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
    assert caught.value.code == "otp_not_issued"


# The two sides of each handoff: who reads the code out, and who types it in. Only they may
# have it sent again; a customer must not be able to replace the restaurant's pickup code.
MAY_RESEND = {
    ("pickup", "delivery"): {"restaurant", "admin", "courier"},
    ("delivery", "delivery"): {"customer", "courier"},
    ("pickup", "pickup"): {"customer", "restaurant", "admin"},
}


@pytest.mark.parametrize(("purpose", "delivery_type"), MAY_RESEND.keys())
def test_only_the_two_sides_of_a_handoff_may_resend_its_code(purpose, delivery_type, waiting_order, actors):
    with freeze_time(NOON) as clock:
        order = waiting_order(purpose, delivery_type)
        for role, actor in actors.items():
            clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
            before = current_code(order, purpose)
            if role in MAY_RESEND[(purpose, delivery_type)]:
                otp_resend(order_id=order.pk, purpose=purpose, actor=actor)
                continue
            with pytest.raises((Forbidden, OrderNotFound)) as caught:
                otp_resend(order_id=order.pk, purpose=purpose, actor=actor)
            assert caught.value.code in ("otp_not_yours", "order_not_found"), role
            assert current_code(order, purpose) == before, role


# ---------------------------------------------------------------- who reads which code

SHOWN_TO = {
    ("pickup", "delivery"): {"restaurant", "admin"},
    ("delivery", "delivery"): {"customer"},
    ("pickup", "pickup"): {"customer"},
}


@pytest.mark.parametrize(("purpose", "delivery_type"), SHOWN_TO.keys())
def test_each_code_is_shown_only_to_the_side_that_reads_it_out(purpose, delivery_type, waiting_order, actors):
    order = waiting_order(purpose, delivery_type)
    for role, actor in actors.items():
        if role in SHOWN_TO[(purpose, delivery_type)]:
            code, handoff = otp_reveal(order_id=order.pk, purpose=purpose, actor=actor)
            assert code == current_code(order, purpose)
            assert handoff.expires_at > timezone.now()
        elif role == "courier" and delivery_type == "pickup":
            # Couriers never see self-pickup orders at all.
            with pytest.raises(OrderNotFound):
                otp_reveal(order_id=order.pk, purpose=purpose, actor=actor)
        else:
            with pytest.raises(Forbidden) as caught:
                otp_reveal(order_id=order.pk, purpose=purpose, actor=actor)
            assert caught.value.code == "otp_not_yours", role


def test_the_code_the_customer_reads_is_the_one_the_courier_types(waiting_order, actors):
    order = waiting_order("delivery")
    code, _ = otp_reveal(order_id=order.pk, purpose="delivery", actor=actors["customer"])
    hand_over(order, actors, code)
    assert status_of(order) == "DELIVERED"
    with pytest.raises(Conflict) as caught:
        otp_reveal(order_id=order.pk, purpose="delivery", actor=actors["customer"])
    assert caught.value.code == "otp_not_issued"


def test_another_customers_code_looks_missing(waiting_order, other_customer):
    order = waiting_order("delivery")
    with pytest.raises(OrderNotFound):
        otp_reveal(order_id=order.pk, purpose="delivery", actor=Actor.customer(other_customer))


# ---------------------------------------------------------------- never stored, never logged


def _mentions(text, code):
    return re.search(rf"(?<!\d){code}(?!\d)", text) is not None


def _walk_a_code_through_its_life(order, actors, clock):
    """Issue (by the status change), a wrong try, a resend, the right code; the codes seen on the way."""
    codes = []
    order_transition(order_id=order.pk, target="OUT_FOR_DELIVERY", actor=actors["courier"])
    codes.append(current_code(order))
    with pytest.raises(OtpInvalid):
        hand_over(order, actors, wrong(codes[0]))
    clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
    otp_resend(order_id=order.pk, purpose="delivery", actor=actors["customer"])
    codes.append(current_code(order))
    hand_over(order, actors, codes[1])
    return codes


@pytest.fixture
def picked_up_order(customer, restaurant, courier_user):
    return OrderFactory(
        status="ORDER_PICKED_UP",
        customer=customer,
        restaurant=restaurant,
        courier=courier_user,
        delivery_status=DeliveryStatus.PICKED_UP,
    )


def test_codes_are_never_stored(picked_up_order, actors):
    with freeze_time(NOON) as clock:
        codes = _walk_a_code_through_its_life(picked_up_order, actors, clock)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM delivery_handoffcode")
        rows = cursor.fetchall()
    assert len(rows) == 1
    stored = [str(value) for value in rows[0]]
    events = TrackingEvent.objects.filter(order=picked_up_order)
    assert events.count() == 2
    recorded = [json.dumps(event.metadata) + " " + event.reason for event in events]
    for code in codes:
        assert not any(_mentions(value, code) for value in stored)
        assert not any(_mentions(text, code) for text in recorded)


def test_codes_are_never_logged(picked_up_order, actors, caplog):
    caplog.set_level(logging.DEBUG)
    with freeze_time(NOON) as clock:
        codes = _walk_a_code_through_its_life(picked_up_order, actors, clock)

    assert any("handoff code issued" in record.getMessage() for record in caplog.records)
    assert any("handoff code resent" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        logged = " ".join([record.getMessage(), repr(record.args), repr(vars(record))])
        for code in codes:
            assert not _mentions(logged, code), record.getMessage()
