"""Text messages cannot be farmed: a phone number gets none until its holder types back a code
sent to it, and then no more than the hourly caps per user and per number, refusals counted in
/metrics; customers place a limited number of orders an hour."""

import re

import pytest
from rest_framework.test import APIClient

from notifications.models import Notification, NotificationPreference, SimulatedSmsMessage
from tests.api.support import order_body
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PREFERENCES = "/api/notifications/preferences/"
SEND_CODE = "/api/notifications/phone/send-code/"
VERIFY = "/api/notifications/phone/verify/"
NUMBER = "+447700900123"


@pytest.fixture
def alice_api(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def loose_placement_limit(settings):
    settings.ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR = 100


def place_and_cancel(api, menu, capture, times: int) -> None:
    for _ in range(times):
        with capture(execute=True):
            created = api.post("/api/orders/", order_body(menu), format="json")
            assert created.status_code == 201, created.content
            cancelled = api.post(f"/api/orders/{created.json()['id']}/cancel/", {}, format="json")
            assert cancelled.status_code == 200, cancelled.content


def texts_to(number: str) -> list[str]:
    return list(SimulatedSmsMessage.objects.filter(to=number).values_list("text", flat=True))


def sms_refused(client) -> dict[str, float]:
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token").content.decode()
    return {
        reason: float(value)
        for reason, value in re.findall(r'orderflow_sms_refused_total\{reason="(\w+)"\} (\S+)', body)
    }


def verify_number(api, capture) -> None:
    with capture(execute=True):
        assert api.post(SEND_CODE).status_code == 202
    (text,) = texts_to(NUMBER)
    code = re.findall(r"\b(\d{6})\b", text)[0]
    verified = api.post(VERIFY, {"code": code}, format="json")
    assert verified.status_code == 200 and verified.json()["phone_verified"] is True


@pytest.mark.usefixtures("loose_placement_limit")
def test_an_unverified_number_gets_no_text_however_many_orders(alice_api, menu, django_capture_on_commit_callbacks):
    patched = alice_api.patch(PREFERENCES, {"sms_enabled": True, "phone": NUMBER}, format="json")
    assert patched.status_code == 200 and patched.json()["phone_verified"] is False

    place_and_cancel(alice_api, menu, django_capture_on_commit_callbacks, 30)

    assert texts_to(NUMBER) == []
    assert not Notification.objects.filter(channel="sms").exists()


@pytest.mark.usefixtures("loose_placement_limit")
def test_a_verified_number_gets_no_more_than_the_cap_and_refusals_are_counted(
    alice_api, client, menu, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_SMS_PER_USER_PER_HOUR = 10
    settings.ORDERFLOW_SMS_PER_NUMBER_PER_HOUR = 6
    alice_api.patch(PREFERENCES, {"sms_enabled": True, "phone": NUMBER, "email_enabled": False}, format="json")
    verify_number(alice_api, django_capture_on_commit_callbacks)

    place_and_cancel(alice_api, menu, django_capture_on_commit_callbacks, 30)

    texts = texts_to(NUMBER)
    assert len(texts) == 6  # the code, then five cancellations
    assert sum("cancelled" in text for text in texts) == 5
    assert sms_refused(client) == {"per_number": 25.0}


def test_the_per_user_cap_holds_across_numbers(
    alice_api, customer, client, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_SMS_PER_USER_PER_HOUR = 2
    settings.ORDERFLOW_PHONE_CODE_RESEND_SECONDS = 0
    for number in ("+15550100001", "+15550100002"):
        alice_api.patch(PREFERENCES, {"phone": number}, format="json")
        with django_capture_on_commit_callbacks(execute=True):
            assert alice_api.post(SEND_CODE).status_code == 202
    alice_api.patch(PREFERENCES, {"phone": "+15550100003"}, format="json")
    refused = alice_api.post(SEND_CODE)
    assert refused.status_code == 429 and refused.json()["code"] == "sms_limit_reached"
    assert refused.headers["Content-Type"] == "application/problem+json" and "Retry-After" in refused.headers
    assert texts_to("+15550100003") == []
    assert sms_refused(client) == {"per_user": 1.0}


def test_the_per_number_cap_holds_across_users(customer, client, settings, django_capture_on_commit_callbacks):
    settings.ORDERFLOW_SMS_PER_NUMBER_PER_HOUR = 2
    for name in ("u1", "u2", "u3"):
        api = APIClient()
        api.force_authenticate(UserFactory(username=name))
        api.patch(PREFERENCES, {"phone": NUMBER}, format="json")
        with django_capture_on_commit_callbacks(execute=True):
            answer = api.post(SEND_CODE)
    assert answer.status_code == 429
    assert len(texts_to(NUMBER)) == 2


def test_a_code_proves_the_number_and_a_new_number_must_be_proven_again(
    alice_api, customer, django_capture_on_commit_callbacks
):
    alice_api.patch(PREFERENCES, {"phone": NUMBER}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        sent = alice_api.post(SEND_CODE)
    assert sent.status_code == 202 and sent.json()["phone"] == NUMBER
    too_soon = alice_api.post(SEND_CODE)
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "phone_code_too_soon"

    code = re.search(r"\b(\d{6})\b", texts_to(NUMBER)[0]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    refused = alice_api.post(VERIFY, {"code": wrong}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "otp_invalid" and refused.json()["attempts_left"] == 4
    assert alice_api.post(VERIFY, {"code": code}, format="json").json()["phone_verified"] is True
    # The outbox never held the code.
    assert code not in "".join(Notification.objects.values_list("body", flat=True))

    alice_api.patch(PREFERENCES, {"phone": "+447700900999"}, format="json")
    assert NotificationPreference.objects.get(user=customer).phone_verified is False
    problem = alice_api.post(VERIFY, {"code": code}, format="json")
    assert problem.status_code == 409 and problem.json()["code"] == "phone_code_not_sent"


def test_a_code_without_a_number_is_a_clear_refusal(alice_api):
    refused = alice_api.post(SEND_CODE)
    assert refused.status_code == 409 and refused.json()["code"] == "phone_missing"
    bad = alice_api.post(VERIFY, {"code": "12"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


# ---------------------------------------------------------------- placing orders


def test_order_placement_is_limited_per_customer(alice_api, menu, settings, other_customer):
    settings.ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR = 3
    for _ in range(3):
        assert alice_api.post("/api/orders/", order_body(menu), format="json").status_code == 201
    refused = alice_api.post("/api/orders/", order_body(menu), format="json")
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "order_rate_limited" and body["limit"] == 3
    assert 0 < int(refused.headers["Retry-After"]) <= 3600

    carol = APIClient()
    carol.force_authenticate(other_customer)
    assert carol.post("/api/orders/", order_body(menu), format="json").status_code == 201


def test_an_operator_changing_a_number_in_the_admin_leaves_it_unverified(client, admin_user, customer):
    from django.utils import timezone

    preference = NotificationPreference.objects.create(
        user=customer, sms_enabled=True, phone=NUMBER, phone_verified_at=timezone.now()
    )
    client.force_login(admin_user)
    url = f"/admin/notifications/notificationpreference/{preference.pk}/change/"
    form = {
        "user": customer.pk,
        "email_enabled": "on",
        "sms_enabled": "on",
        "phone": "+447700900777",
        "milestones": '["confirmed"]',
    }
    assert client.post(url, form).status_code == 302
    preference.refresh_from_db()
    assert (preference.phone, preference.phone_verified) == ("+447700900777", False)
