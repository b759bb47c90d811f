"""One guessing limit for every way to present a password or a handoff code.

Passwords (`/api/auth/token/`, `/login/`, `/admin/login/`) count per (account, address) and per
address, with the account as authentication reads it and an IPv6 address by its /64; across all
addresses an account is slowed, not shut. Handoff codes count per user and per address, in the API
and in the admin. Counters live in the cache (Redis in production); refusals are 429 `rate_limited`
with `Retry-After`. The address is the client's as the trusted proxy saw it, never a header the
client wrote itself.
"""

import time
from datetime import UTC, datetime

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from freezegun import freeze_time
from rest_framework.test import APIClient

from delivery.models import HandoffPurpose
from orders.models import Order, OrderStatus
from restaurants.services import staff_group_ensure
from tests.api.support import problem
from tests.factories import UserFactory, assign, handoff_code, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token/"
PASSWORD = "right-password-1"


@pytest.fixture
def small_limits(settings):
    settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 3
    settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_USER = 3
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS = 5
    return settings


@pytest.fixture
def alice_password(customer):
    customer.set_password(PASSWORD)
    customer.save()
    return customer


def _login(username, password, address="10.0.0.1", **headers):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **headers
    )


# ---------------------------------------------------------------- per account and address, not per account


def test_wrong_passwords_from_one_address_end_in_429_there_only(small_limits, alice_password):
    statuses = [_login("alice", f"wrong-{n}").status_code for n in range(3)]
    refused = _login("alice", PASSWORD)

    assert statuses == [401, 401, 401]
    problem(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= django_settings.ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS
    # Lockout is not a weapon: the owner, elsewhere, signs in.
    assert _login("alice", PASSWORD, address="10.0.0.2").status_code == 200


def test_failures_either_side_of_a_window_boundary_count_together(small_limits, alice_password):
    window = django_settings.ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS
    boundary = (int(time.time()) // window + 2) * window
    with freeze_time(datetime.fromtimestamp(boundary - 1, tz=UTC)) as clock:
        before = [_login("alice", f"wrong-{n}").status_code for n in range(2)]
        clock.tick(2)  # one second into the next window
        after = [_login("alice", f"wrong-{n}").status_code for n in range(2, 4)]
        refused = _login("alice", PASSWORD)

        assert before + after == [401, 401, 401, 401]
        problem(refused, 429, "rate_limited")
        # 2 failures now and the last window's 2 weighted by 899/900: 3 after 449 s, below it after.
        assert int(refused["Retry-After"]) == 450
        clock.tick(448)
        problem(_login("alice", PASSWORD), 429, "rate_limited")
        clock.tick(2)
        assert _login("alice", PASSWORD).status_code == 200


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


def test_successful_sign_ins_do_not_count(small_limits, alice_password):
    assert {_login("alice", PASSWORD).status_code for _ in range(6)} == {200}


@pytest.mark.parametrize(
    "variant", [" alice", "alice\t", "\u00a0alice", "alice\u2003", "ALICE", "\uff41\uff4c\uff49\uff43\uff45"]
)
def test_spellings_of_one_username_share_one_count(small_limits, alice_password, variant):
    # Each spelling is one that authentication reads as alice (whitespace trimmed, NFKC) or that
    # only differs from it in case.
    for spelling in ("alice", variant, variant):
        assert _login(spelling, "wrong").status_code == 401

    problem(_login("alice", PASSWORD), 429, "rate_limited")
    problem(_login(variant, PASSWORD), 429, "rate_limited")


def test_a_unicode_variant_signs_in_as_the_account_it_normalises_to(alice_password):
    assert _login("\u00a0alice ", PASSWORD).status_code == 200
    assert _login("\uff41\uff4c\uff49\uff43\uff45", PASSWORD).status_code == 200  # fullwidth "alice"


def test_an_ipv6_client_is_counted_by_its_64(small_limits, alice_password):
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"):
        assert _login("alice", "wrong", address=host).status_code == 401

    problem(_login("alice", PASSWORD, address="2001:db8:1:2::77"), 429, "rate_limited")
    assert _login("alice", PASSWORD, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.integration
def test_the_counters_live_in_redis(small_limits, customer):
    _login(customer.username, "wrong")

    client = redis.Redis.from_url(django_settings.REDIS_URL)
    assert list(client.scan_iter(match="*orderflow:failures:login:subject:*", count=1000))


# ---------------------------------------------------------------- the address is the proxy's word only


def test_x_forwarded_for_from_a_client_does_not_move_it_to_another_count(small_limits, alice_password):
    for n in range(3):
        assert _login("alice", "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code == 401

    refused = _login("alice", PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    problem(refused, 429, "rate_limited")


def test_the_trusted_proxys_last_hop_is_the_clients_address(small_limits, alice_password):
    # nginx (127.0.0.1 here) writes the one address it saw; anything before it was the client's.
    def through_proxy(password, client, forged=""):
        chain = f"{forged}, {client}" if forged else client
        return _login("alice", password, address="127.0.0.1", HTTP_X_FORWARDED_FOR=chain)

    for n in range(3):
        assert through_proxy("wrong", "203.0.113.5", forged=f"192.0.2.{n}").status_code == 401

    problem(through_proxy(PASSWORD, "203.0.113.5", forged="192.0.2.200"), 429, "rate_limited")
    assert through_proxy(PASSWORD, "203.0.113.6").status_code == 200


# ---------------------------------------------------------------- the session sign-ins


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_sign_in_pages_are_limited_too(small_limits, alice_password, path):
    browser = Client(REMOTE_ADDR="10.0.0.1")
    wrong = [browser.post(path, {"username": "alice", "password": f"wrong-{n}"}) for n in range(3)]
    refused = browser.post(path, {"username": " alice", "password": PASSWORD})

    assert [response.status_code for response in wrong] == [200, 200, 200]  # the form again, with its error
    problem(refused, 429, "rate_limited")
    assert int(refused["Retry-After"]) >= 1
    # The pages and the token endpoint share the count.
    problem(_login("alice", PASSWORD), 429, "rate_limited")
    elsewhere = Client(REMOTE_ADDR="10.0.0.2").post("/login/", {"username": "alice", "password": PASSWORD})
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_a_sign_in_post_without_its_csrf_token_counts_too(small_limits, alice_password, path):
    bot = Client(REMOTE_ADDR="10.0.0.1", enforce_csrf_checks=True)
    refused = [bot.post(path, {"username": "alice", "password": f"wrong-{n}"}) for n in range(4)]

    assert [r.status_code for r in refused] == [403, 403, 403, 429]
    assert refused[0].json()["code"] == "csrf_failed"
    problem(refused[-1], 429, "rate_limited")


# ---------------------------------------------------------------- across addresses: slowed, not shut


@pytest.fixture
def slow_account(settings, alice_password):
    settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 100
    settings.ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER = 3
    settings.ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES = 6
    return alice_password


def test_an_account_guessed_at_from_many_addresses_is_slowed_but_its_known_address_signs_in(slow_account):
    assert _login("alice", PASSWORD, address="10.1.0.1").status_code == 200  # the owner's usual address
    for n in range(3):
        assert _login("alice", "wrong", address=f"10.2.0.{n}").status_code == 401

    waiting = _login("alice", PASSWORD, address="10.3.0.1")
    problem(waiting, 429, "rate_limited")
    assert 1 <= int(waiting["Retry-After"]) <= 2
    assert _login("alice", PASSWORD, address="10.1.0.1").status_code == 200


def test_at_the_nist_ceiling_an_account_takes_no_guesses_from_new_addresses(slow_account):
    _login("alice", PASSWORD, address="10.1.0.1")
    with freeze_time() as clock:
        for n in range(6):
            clock.tick(3600)  # each guess after its wait
            assert _login("alice", "wrong", address=f"10.2.0.{n}").status_code == 401

        clock.tick(3600)
        problem(_login("alice", "wrong", address="10.2.1.1"), 429, "rate_limited")
        assert _login("alice", PASSWORD, address="10.1.0.1").status_code == 200


# ---------------------------------------------------------------- handoff codes


def test_wrong_handoff_codes_across_orders_end_in_429(
    small_limits, client_for, customer, staff_user, courier_user, menu
):
    dave = client_for(courier_user)
    orders = [to_ready(place_order(customer, menu["pizza"]), staff_user) for _ in range(2)]
    for order in orders:
        assign(order, courier_user)
    first, second = (handoff_code(order.pk, HandoffPurpose.PICKUP) for order in orders)
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


def test_one_couriers_wrong_codes_do_not_stop_another_couriers_handoffs(
    settings, client_for, customer, staff_user, courier_user, other_courier_user, menu
):
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_USER = 3
    settings.ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS = 3
    mine, theirs = (to_ready(place_order(customer, menu["pizza"]), staff_user) for _ in range(2))
    assign(mine, courier_user)
    assign(theirs, other_courier_user)
    right = handoff_code(mine.pk, HandoffPurpose.PICKUP)
    dave = APIClient(REMOTE_ADDR="10.0.0.1")
    dave.force_authenticate(courier_user)
    for guess in [f"{n:06d}" for n in range(10) if f"{n:06d}" != right][:3]:
        dave.post(f"/api/orders/{mine.pk}/pickup/", {"otp": guess}, format="json")

    erin = APIClient(REMOTE_ADDR="10.0.0.2")
    erin.force_authenticate(other_courier_user)
    picked_up = erin.post(f"/api/orders/{theirs.pk}/pickup/", {"otp": handoff_code(theirs.pk, HandoffPurpose.PICKUP)})
    assert picked_up.status_code == 200, picked_up.content


def test_the_kitchen_handover_counts_too(small_limits, client_for, customer, staff_user, menu):
    kitchen = client_for(staff_user)
    order = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    right = handoff_code(order.pk, HandoffPurpose.PICKUP)
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


def test_the_admins_handover_shares_the_code_limit(small_limits, client_for, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"], delivery_type="pickup"), staff_user)
    right = handoff_code(order.pk, HandoffPurpose.PICKUP)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != right][:3]
    staff_user.groups.add(staff_group_ensure())
    browser = Client(REMOTE_ADDR="10.0.0.1")
    browser.force_login(staff_user)

    def hand_over(otp):
        return browser.post(
            "/admin/orders/order/",
            {"action": "hand_over", "_selected_action": [str(order.pk)], "apply": "1", "code": otp},
            follow=True,
        )

    for otp in wrong:
        assert "not correct" in hand_over(otp).content.decode()
    refused = hand_over(right).content.decode()

    assert "Too many failed attempts" in refused
    assert Order.objects.get(pk=order.pk).status == OrderStatus.READY_FOR_PICKUP
    # ... and the API's handover from the same user and address is refused as well.
    kitchen = APIClient(REMOTE_ADDR="10.0.0.1")
    kitchen.force_authenticate(staff_user)
    problem(kitchen.post(f"/api/restaurants/orders/{order.pk}/handover/", {"otp": right}), 429, "rate_limited")


def test_right_codes_do_not_count(small_limits, client_for, customer, staff_user, courier_user, menu):
    dave = client_for(courier_user)
    for _ in range(4):
        order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
        response = dave.post(
            f"/api/orders/{order.pk}/complete-delivery/",
            {"otp": handoff_code(order.pk, HandoffPurpose.DELIVERY)},
            format="json",
        )
        assert response.status_code == 200, response.content
