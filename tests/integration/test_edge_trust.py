"""Trust at the edge, through the production topology (`scripts/serve-production`: nginx in front
of granian and daphne, production settings) with clients on their own loopback addresses.

- The client's address is the one nginx saw: wrong passwords from one address never stop the right
  one from another, and a forged `X-Forwarded-For` does not move a client to a fresh count.
- A load balancer declared to nginx (ORDERFLOW_BALANCER_ADDRESSES) is believed: its
  `X-Forwarded-For` names the client and its `X-Forwarded-Proto: https` earns HSTS; nobody else's.
- The session sign-ins (`/login/`, `/admin/login/`) answer 429 to a guesser.
- Refresh tokens rotate, a reused one ends its family, a password change ends them all.
- A kitchen socket closes within the re-check interval of its membership ending, with no
  `order.placed` after; tokens in socket URLs never reach nginx's access log; nginx does not
  name its version.
"""

import re
import time
import uuid

import jwt
import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework_simplejwt.tokens import AccessToken

from restaurants.models import StaffMembership
from tests.factories import place_order
from tests.integration.production import client_from, serve_production
from tests.tracking.live import LiveSocket, SocketLoop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "edge-pass-123"
BALANCER = "127.0.0.9"
RECHECK_SECONDS = 2


@pytest.fixture(scope="module")
def edge(django_db_setup, django_db_blocker):
    with serve_production(
        "edge",
        ORDERFLOW_WS_PROCESSES="1",
        ORDERFLOW_WS_DRAIN_SECONDS="1",
        ORDERFLOW_BALANCER_ADDRESSES=BALANCER,
        ORDERFLOW_WS_RECHECK_SECONDS=str(RECHECK_SECONDS),
    ) as served:
        yield served.http, served.ws, served.run_dir


@pytest.fixture(autouse=True)
def _fresh_counters():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(customer):
    # Production's hashers: PBKDF2 (with few rounds, so that a wrong guess is quick to check).
    customer.password = PBKDF2PasswordHasher().encode(PASSWORD, uuid.uuid4().hex[:12], iterations=1000)
    customer.save(update_fields=["password"])
    return customer


def sign_in(session: requests.Session, http: str, username: str = "alice", password: str = PASSWORD, **headers):
    return session.post(
        f"{http}/api/auth/token/", json={"username": username, "password": password}, headers=headers, timeout=30
    )


def test_wrong_passwords_from_one_address_then_the_right_one_from_another(edge, alice):
    http, _, _ = edge
    attacker, owner = client_from("127.0.0.2"), client_from("127.0.0.3")

    statuses = [sign_in(attacker, http, password=f"wrong-{n}").status_code for n in range(50)]

    assert set(statuses) == {401, 429} and statuses[-1] == 429
    assert sign_in(owner, http).status_code == 200


def test_a_forged_x_forwarded_for_does_not_reset_a_bucket(edge, alice):
    http, _, _ = edge
    attacker = client_from("127.0.0.4")
    statuses = [
        sign_in(
            attacker, http, password="wrong", **{"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": "10.1.1.1"}
        ).status_code
        for n in range(15)
    ]

    assert statuses[-1] == 429
    refused = sign_in(attacker, http, **{"X-Forwarded-For": "203.0.113.99"})
    assert refused.status_code == 429 and refused.headers["Content-Type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_sign_in_pages_answer_a_guesser_with_429(edge, alice, path):
    http, _, _ = edge
    guesser = client_from("127.0.0.5" if path == "/login/" else "127.0.0.6")
    page = guesser.get(f"{http}{path}", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    # The CSRF cookie is Secure (production): a client over plain HTTP hands it back itself.
    cookie = {"csrftoken": page.cookies["csrftoken"]}

    statuses = [
        guesser.post(
            f"{http}{path}",
            data={"csrfmiddlewaretoken": csrf, "username": "alice", "password": f"wrong-{n}"},
            headers={"Referer": f"{http}{path}"},
            cookies=cookie,
            allow_redirects=False,
            timeout=30,
        ).status_code
        for n in range(500)
    ]

    assert statuses[:3] == [200, 200, 200]  # the form again, with its error
    assert statuses.count(429) >= 480


def test_a_declared_balancer_is_believed_and_nobody_else(edge, alice):
    http, _, _ = edge
    balancer, direct = client_from(BALANCER), client_from("127.0.0.7")
    https = {"X-Forwarded-Proto": "https"}

    through_balancer = balancer.get(f"{http}/admin/login/", headers=https, timeout=30)
    forged = direct.get(f"{http}/admin/login/", headers=https, timeout=30)

    assert through_balancer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in forged.headers
    assert through_balancer.headers["Server"] == forged.headers["Server"] == "nginx"  # no version
    # The balancer's X-Forwarded-For names the client: its own count, apart from the balancer's.
    one = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [sign_in(balancer, http, password="wrong", **one).status_code for _ in range(12)]
    assert statuses[-1] == 429
    assert sign_in(balancer, http, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 200


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_family(edge, alice):
    http, _, _ = edge
    app = client_from("127.0.0.8")
    first = sign_in(app, http).json()
    rotated = app.post(f"{http}/api/auth/token/refresh/", json={"refresh": first["refresh"]}, timeout=30)
    assert rotated.status_code == 200

    reused = app.post(f"{http}/api/auth/token/refresh/", json={"refresh": first["refresh"]}, timeout=30)
    family = app.post(f"{http}/api/auth/token/refresh/", json={"refresh": rotated.json()["refresh"]}, timeout=30)

    assert reused.status_code == 401 and family.status_code == 401

    second = sign_in(app, http).json()
    alice.password = PBKDF2PasswordHasher().encode("another-pass-456", uuid.uuid4().hex[:12], iterations=1000)
    alice.save(update_fields=["password"])
    stale = app.post(f"{http}/api/auth/token/refresh/", json={"refresh": second["refresh"]}, timeout=30)
    assert stale.status_code == 401


def test_a_token_signed_with_a_published_key_is_refused(edge, alice):
    http, _, _ = edge
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 600, "iat": now, "jti": uuid.uuid4().hex, "user_id": str(alice.pk)}
    forged = jwt.encode(claims, "orderflow-local-development-key-not-for-production", algorithm="HS256")

    response = client_from("127.0.0.8").get(
        f"{http}/api/orders/", headers={"Authorization": f"Bearer {forged}"}, timeout=30
    )

    assert response.status_code == 401


def test_a_kitchen_socket_closes_after_the_membership_ends_and_hears_no_new_order(
    edge, restaurant, staff_user, customer, menu
):
    _, ws, run_dir = edge
    token = str(AccessToken.for_user(staff_user))
    loop = SocketLoop()
    try:
        kitchen = LiveSocket(loop, f"{ws}/ws/restaurants/{restaurant.pk}/orders/?token={token}")
        kitchen.wait_for(lambda messages: messages and messages[0]["type"] == "snapshot")
        StaffMembership.objects.filter(user=staff_user, restaurant=restaurant).delete()
        removed_at = time.monotonic()
        place_order(customer, menu["pizza"])

        assert kitchen.wait_closed(timeout=60) == 4404
        assert time.monotonic() - removed_at < RECHECK_SECONDS + 5
        assert not any(message.get("event_type") == "order.placed" for message in kitchen.messages)
    finally:
        loop.stop()

    time.sleep(1.5)  # nginx writes its access log at most a second late
    log = (run_dir / "access.log").read_text()
    assert "/ws/restaurants/" in log and "token=[masked]" in log
    assert token not in log
