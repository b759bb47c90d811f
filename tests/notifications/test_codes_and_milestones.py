"""Notifications: handoff codes and milestones through the outbox, on real channels (Django's mail, the SMS gateway)."""

import logging
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from delivery.handoff import otp_code
from delivery.models import HandoffCode
from notifications.models import (
    Milestone,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationState,
    SimulatedSmsMessage,
)
from notifications.services import notifications_dispatch_due
from orders.models import DeliveryStatus, OrderStatus
from orders.services.transitions import order_transition
from tests.factories import OrderFactory, StaffFactory, UserFactory, move, place_order

pytestmark = pytest.mark.django_db

NOON = "2026-03-04 12:00:00"


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("connection refused")


def mentions(text: str, code: str) -> bool:
    return re.search(rf"(?<!\d){code}(?!\d)", text) is not None


def current_code(order, purpose="delivery") -> str:
    return otp_code(HandoffCode.objects.get(order=order, purpose=purpose))


@pytest.fixture
def picked_up(customer, restaurant, courier_user):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    return OrderFactory(
        status=OrderStatus.ORDER_PICKED_UP,
        customer=customer,
        restaurant=restaurant,
        courier=courier_user,
        delivery_status=DeliveryStatus.PICKED_UP,
    )


def set_off(order, actors, callbacks):
    with callbacks(execute=True):
        order_transition(order_id=order.pk, target=OrderStatus.OUT_FOR_DELIVERY, actor=actors["courier"])


def test_the_delivery_code_goes_to_the_customer_and_a_resend_sends_exactly_one_message(
    picked_up, customer, actors, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    with freeze_time(NOON) as clock:
        set_off(picked_up, actors, django_capture_on_commit_callbacks)
        first_code = current_code(picked_up)
        [message] = mail.outbox
        assert message.to == ["alice@example.com"]
        assert message.subject == f"Your delivery code for order {picked_up.number}"
        assert mentions(message.body, first_code)

        clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
        api = APIClient()
        api.force_authenticate(customer)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/orders/{picked_up.pk}/otp/resend/", {"type": "delivery"}, format="json")
        assert response.status_code == 200, response.content
        second_code = current_code(picked_up)

    assert len(mail.outbox) == 2, "the resend sent exactly one more message"
    resent = mail.outbox[1]
    assert resent.to == ["alice@example.com"] and mentions(resent.body, second_code)
    assert not mentions(resent.body, first_code)
    notifications = list(Notification.objects.order_by("pk"))
    assert [(n.kind, n.channel, n.state) for n in notifications] == [
        (NotificationKind.HANDOFF_CODE, "email", NotificationState.SENT)
    ] * 2
    for record in caplog.records:
        logged = " ".join([record.getMessage(), repr(record.args), repr(vars(record))])
        for code in (first_code, second_code):
            assert not mentions(logged, code), record.getMessage()
    for notification in notifications:
        assert not mentions(notification.body + notification.subject, first_code)
        assert not mentions(notification.body + notification.subject, second_code)


def test_the_outbox_in_the_admin_masks_the_code(
    picked_up, actors, admin_user, client, django_capture_on_commit_callbacks
):
    set_off(picked_up, actors, django_capture_on_commit_callbacks)
    code = current_code(picked_up)
    notification = Notification.objects.get()
    client.force_login(admin_user)
    page = client.get(f"/admin/notifications/notification/{notification.pk}/change/").content.decode()
    assert "give the courier this code at the door: ••••••" in page.lower()
    assert not mentions(page, code)
    listing = client.get("/admin/notifications/notification/").content.decode()
    assert not mentions(listing, code)


def test_a_customer_who_prefers_sms_gets_the_code_by_sms_only(
    picked_up, customer, actors, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=customer, email_enabled=False, sms_enabled=True, phone="+15550100", phone_verified_at=timezone.now()
    )
    set_off(picked_up, actors, django_capture_on_commit_callbacks)
    [sms] = SimulatedSmsMessage.objects.all()
    assert sms.to == "+15550100" and mentions(sms.text, current_code(picked_up))
    assert mail.outbox == []
    notification = Notification.objects.get()
    assert notification.provider_reference == sms.reference and notification.state == NotificationState.SENT


def test_a_failing_channel_is_retried_then_left_for_a_person_who_retries_it(
    picked_up, customer, actors, admin_user, client, settings, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=customer, email_enabled=False, sms_enabled=True, phone="+15550100", phone_verified_at=timezone.now()
    )
    settings.ORDERFLOW_SIMULATED_SMS_FAILURE_RATE = 1.0
    settings.ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS = 3
    with freeze_time(NOON) as clock:
        set_off(picked_up, actors, django_capture_on_commit_callbacks)
        notification = Notification.objects.get()
        assert (notification.state, notification.attempts) == (NotificationState.PENDING, 1)
        for attempts in (2, 3):
            clock.move_to(notification.next_attempt_at)
            notifications_dispatch_due()
            notification.refresh_from_db()
            assert notification.attempts == attempts
        assert notification.state == NotificationState.FAILED
        assert "unavailable" in notification.last_error
        assert SimulatedSmsMessage.objects.count() == 0

        settings.ORDERFLOW_SIMULATED_SMS_FAILURE_RATE = 0.0
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                "/admin/notifications/notification/", {"action": "retry", "_selected_action": [notification.pk]}
            )
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert mentions(SimulatedSmsMessage.objects.get().text, current_code(picked_up))


def test_a_message_whose_code_was_replaced_before_it_went_out_is_not_sent(
    picked_up, customer, actors, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_codes_and_milestones.MailServerDown"
    with freeze_time(NOON) as clock:
        set_off(picked_up, actors, django_capture_on_commit_callbacks)
        stale = Notification.objects.get()
        assert stale.state == NotificationState.PENDING and "ConnectionRefusedError" in stale.last_error
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        clock.tick(timedelta(seconds=settings.ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS))
        api = APIClient()
        api.force_authenticate(customer)
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/orders/{picked_up.pk}/otp/resend/", {"type": "delivery"}, format="json")
        clock.move_to(stale.next_attempt_at)
        notifications_dispatch_due()
    stale.refresh_from_db()
    assert stale.state == NotificationState.SUPERSEDED
    [message] = mail.outbox
    assert mentions(message.body, current_code(picked_up))


def test_pickup_codes_go_to_whoever_reads_them_out(
    customer, menu, actors, staff_user, django_capture_on_commit_callbacks
):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    staff_user.email = "kitchen@pizza.example"
    staff_user.save(update_fields=["email"])
    StaffFactory(restaurant=menu["salad"].restaurant, user__username="no_email")
    ready = (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_order = move(place_order(customer, menu["salad"], quantity=2), *ready, actor=actors["restaurant"])
        pickup_order = move(
            place_order(customer, menu["salad"], quantity=2, delivery_type="pickup"), *ready, actor=actors["restaurant"]
        )

    by_recipient = {}
    for message in mail.outbox:
        by_recipient.setdefault(message.to[0], []).append(message)
    [to_kitchen] = by_recipient["kitchen@pizza.example"]
    assert to_kitchen.subject == f"Pickup code for order {delivery_order.number}"
    assert mentions(to_kitchen.body, current_code(delivery_order, "pickup"))
    to_customer = {message.subject: message for message in by_recipient["alice@example.com"]}
    assert mentions(
        to_customer[f"Your pickup code for order {pickup_order.number}"].body, current_code(pickup_order, "pickup")
    )
    # The delivery order's customer hears it is ready (a milestone), without the kitchen's code.
    ready_message = to_customer[f"Order {delivery_order.number}: Ready"]
    assert not mentions(ready_message.body, current_code(delivery_order, "pickup"))


def test_milestones_follow_the_customers_preferences(customer, menu, actors, django_capture_on_commit_callbacks):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    NotificationPreference.objects.create(user=customer, milestones=[Milestone.CANCELLED])
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
        move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=actors["restaurant"])
        move(order, OrderStatus.CANCELLED, actor=actors["customer"])
    assert [message.subject for message in mail.outbox] == [f"Order {order.number}: Cancelled"]


def test_default_preferences_hear_every_milestone(customer, menu, actors, django_capture_on_commit_callbacks):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
        move(order, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, actor=actors["restaurant"])
        move(order, OrderStatus.CANCELLED, actor=actors["restaurant"], reason="Out of lettuce")
    assert [message.subject for message in mail.outbox] == [
        f"Order {order.number}: Confirmed",
        f"Order {order.number}: Cancelled",
    ]


def test_a_user_without_an_address_gets_nothing_and_breaks_nothing(
    customer, menu, actors, django_capture_on_commit_callbacks
):
    UserFactory(username="nobody")
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(customer, menu["salad"], quantity=2)
        move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=actors["restaurant"])
    assert mail.outbox == [] and Notification.objects.count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.RESTAURANT_CONFIRMED
