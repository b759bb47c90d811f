"""The JWT lifecycle: short access tokens, refresh tokens that rotate and whose reuse ends the whole
sign-in, sign-out, and every refresh token revoked at once by a password change, a deactivation or
an admin's "sign out everywhere". JWTs are signed with ORDERFLOW_JWT_SIGNING_KEY (production's own
key: tests/config/test_safe_defaults.py)."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from core.models import RevokedTokenFamily
from tests.api.support import problem

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-1"


@pytest.fixture
def alice_password(customer):
    customer.set_password(PASSWORD)
    customer.save()
    return customer


def sign_in(username="alice", password=PASSWORD) -> dict:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def orders_with(access: str):
    return APIClient().get("/api/orders/", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_access_tokens_are_short_and_refresh_tokens_rotate(alice_password):
    pair = sign_in()
    claims = jwt.decode(pair["access"], options={"verify_signature": False})

    assert django_settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    lifetime = django_settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    assert abs(claims["exp"] - claims["iat"] - lifetime) <= 1
    rotated = refresh(pair["refresh"])
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"} and rotated.json()["refresh"] != pair["refresh"]
    assert orders_with(rotated.json()["access"]).status_code == 200
    assert refresh(rotated.json()["refresh"]).status_code == 200


def test_a_reused_refresh_token_ends_its_whole_family(alice_password):
    first = sign_in()
    second = refresh(first["refresh"]).json()  # the legitimate client rotates

    reused = refresh(first["refresh"])  # a copy of the spent token comes back

    problem(reused, 401, "authentication_failed")
    problem(refresh(second["refresh"]), 401, "authentication_failed")
    assert RevokedTokenFamily.objects.filter(reason="reused").count() == 1
    # Another sign-in of the same user is not part of that family.
    other = sign_in()
    assert refresh(other["refresh"]).status_code == 200


def test_sign_out_ends_the_sign_in(alice_password):
    pair = sign_in()
    rotated = refresh(pair["refresh"]).json()

    signed_out = APIClient().post("/api/auth/logout/", {"refresh": rotated["refresh"]}, format="json")

    assert signed_out.status_code == 204
    problem(refresh(rotated["refresh"]), 401, "authentication_failed")
    problem(
        APIClient().post("/api/auth/logout/", {"refresh": "not-a-token"}, format="json"), 401, "authentication_failed"
    )
    problem(APIClient().post("/api/auth/logout/", {"refresh": 1, "x": 2}, format="json"), 400, "validation_error")


def test_a_password_change_revokes_every_token_at_once(alice_password):
    pair = sign_in()
    alice_password.set_password("a-new-password-2")
    alice_password.save()

    problem(refresh(pair["refresh"]), 401, "authentication_failed")
    problem(orders_with(pair["access"]), 401, "authentication_failed")
    assert refresh(sign_in(password="a-new-password-2")["refresh"]).status_code == 200


def test_a_deactivated_user_can_refresh_nothing(alice_password):
    pair = sign_in()
    alice_password.is_active = False
    alice_password.save()

    problem(refresh(pair["refresh"]), 401, "authentication_failed")
    problem(orders_with(pair["access"]), 401, "authentication_failed")


def test_a_deleted_user_is_401_not_500(alice_password):
    pair = sign_in()
    alice_password.delete()

    problem(refresh(pair["refresh"]), 401, "authentication_failed")


def test_an_admins_sign_out_everywhere_revokes_every_refresh_token(alice_password, admin_user):
    pairs = [sign_in(), sign_in()]
    admin = Client()
    admin.force_login(admin_user)

    done = admin.post(
        "/admin/auth/user/",
        {"action": "sign_out_everywhere", "_selected_action": [str(alice_password.pk)]},
        follow=True,
    )

    assert done.status_code == 200
    for pair in pairs:
        problem(refresh(pair["refresh"]), 401, "authentication_failed")
    assert refresh(sign_in()["refresh"]).status_code == 200


def test_deactivating_in_the_admin_revokes_every_refresh_token(alice_password, admin_user):
    pair = sign_in()
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(f"/admin/auth/user/{alice_password.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(is_active="", date_joined_0="2026-01-01", date_joined_1="00:00:00", last_login_0="", last_login_1="")
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("date_joined", None)
    data.pop("last_login", None)
    data.pop("is_active")
    saved = admin.post(f"/admin/auth/user/{alice_password.pk}/change/", data)
    assert saved.status_code == 302, saved.content[:2000]

    alice_password.refresh_from_db()
    assert not alice_password.is_active
    alice_password.is_active = True  # even brought back, the old sign-in stays ended
    alice_password.save()
    problem(refresh(pair["refresh"]), 401, "authentication_failed")


def test_tokens_are_signed_with_the_jwt_signing_key(alice_password, settings):
    claims = jwt.decode(sign_in()["access"], options={"verify_signature": False})
    forged = jwt.encode(claims, "some-other-key-" + "x" * 40, algorithm="HS256")

    assert orders_with(jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")).status_code == 200
    problem(orders_with(forged), 401, "authentication_failed")
