"""Wrong passwords and wrong handoff codes are limited per account (or user) and per address,
counted in the cache (Redis in production), with 429 `rate_limited` and `Retry-After`."""

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from delivery.models import HandoffPurpose
from tests.api.support import assign, code, kitchen_ready, out_for_delivery, problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token/"


@pytest.fixture
def small_limits(settings):
    settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_USER = 3
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS = 5
    return settings


def _login(username, password, address="10.0.0.1"):
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def test_wrong_passwords_for_one_account_end_in_429_with_retry_after(small_limits, customer):
    customer.set_password("right-password-1")
    customer.save()

    statuses = [_login(customer.username, f"wrong-{n}").status_code for n in range(3)]
    refused = _login(customer.username, "right-password-1")

    assert statuses == [401, 401, 401]
    problem(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= django_settings.ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS
    # From another address the account is still refused: the count is per account.
    problem(_login(customer.username, "right-password-1", address="10.0.0.2"), 429, "rate_limited")


def test_other_accounts_are_not_affected_by_one_accounts_failures(small_limits, customer, other_customer):
    other_customer.set_password("carols-password-1")
    other_customer.save()
    for n in range(3):
        _login(customer.username, f"wrong-{n}")

    assert _login(other_customer.username, "carols-password-1").status_code == 200


def test_one_address_guessing_many_accounts_is_refused(small_limits, db):
    users = [UserFactory(username=f"user{n}") for n in range(5)]
    for user in users:
        assert _login(user.username, "wrong-password").status_code == 401

    problem(_login("someone-else", "whatever"), 429, "rate_limited")
    # Another address is not affected.
    assert _login("someone-else", "whatever", address="10.9.9.9").status_code == 401


def test_successful_sign_ins_do_not_count(small_limits, customer):
    customer.set_password("right-password-1")
    customer.save()

    assert {_login(customer.username, "right-password-1").status_code for _ in range(6)} == {200}


@pytest.mark.integration
def test_the_counters_live_in_redis(small_limits, customer):
    _login(customer.username, "wrong")

    client = redis.Redis.from_url(django_settings.REDIS_URL)
    assert list(client.scan_iter(match="*orderflow:failures:login:subject:*", count=1000))


def test_wrong_handoff_codes_across_orders_end_in_429(
    small_limits, client_for, customer, staff_user, courier_user, menu
):
    dave = client_for(courier_user)
    orders = [kitchen_ready(customer, staff_user, menu) for _ in range(2)]
    for order in orders:
        assign(order, courier_user)
    first, second = (code(order, HandoffPurpose.PICKUP) for order in orders)
    guesses = [f"{n:06d}" for n in range(10) if f"{n:06d}" not in (first, second)]
    wrong = [
        dave.post(f"/api/orders/{orders[0].pk}/pickup/", {"otp": guesses[0]}, format="json"),
        dave.post(f"/api/orders/{orders[0].pk}/otp/verify/", {"otp": guesses[1], "type": "pickup"}, format="json"),
        dave.post(f"/api/orders/{orders[1].pk}/pickup/", {"otp": guesses[2]}, format="json"),
    ]
    refused = dave.post(f"/api/orders/{orders[1].pk}/pickup/", {"otp": second}, format="json")

    # A wrong code checked at otp/verify (a 200 with `verified: false`) counts like one at a handoff.
    assert [wrong[0].json()["code"], wrong[1].json()["verified"], wrong[2].json()["code"]] == [
        "otp_invalid",
        False,
        "otp_invalid",
    ]
    problem(refused, 429, "rate_limited")
    assert int(refused["Retry-After"]) >= 1


def test_the_kitchen_handover_counts_too(small_limits, client_for, customer, staff_user, menu):
    kitchen = client_for(staff_user)
    order = kitchen_ready(customer, staff_user, menu, delivery_type="pickup")
    right = code(order, HandoffPurpose.PICKUP)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != right][:3]
    for otp in wrong:
        problem(
            kitchen.post(f"/api/restaurants/orders/{order.pk}/handover/", {"otp": otp}, format="json"),
            400,
            "otp_invalid",
        )

    problem(
        kitchen.post(f"/api/restaurants/orders/{order.pk}/handover/", {"otp": right}, format="json"),
        429,
        "rate_limited",
    )


def test_right_codes_do_not_count(small_limits, client_for, customer, staff_user, courier_user, menu):
    dave = client_for(courier_user)
    for _ in range(4):
        order = out_for_delivery(customer, staff_user, courier_user, menu)
        response = dave.post(
            f"/api/orders/{order.pk}/complete-delivery/", {"otp": code(order, HandoffPurpose.DELIVERY)}, format="json"
        )
        assert response.status_code == 200, response.content
