import uuid

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.api.support import order_body, problem
from tests.factories import place_order, to_ready

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- JWT


def test_token_pair_then_refresh_then_use(customer):
    client = APIClient()

    tokens = client.post("/api/auth/token/", {"username": "alice", "password": "pass-12345"}, format="json")
    assert tokens.status_code == 200
    refreshed = client.post("/api/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.get("/api/orders/").status_code == 200


def test_wrong_password_is_a_problem(customer):
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")

    body = problem(response, 401, "authentication_failed")
    assert body["detail"] == "No active account found with the given credentials"


def test_no_token_is_401():
    problem(APIClient().get("/api/orders/"), 401, "not_authenticated")


def test_garbage_token_is_401_with_a_readable_detail():
    response = APIClient().get("/api/orders/", HTTP_AUTHORIZATION="Bearer not-a-token")

    body = problem(response, 401, "authentication_failed")
    assert body["detail"] == "Given token not valid for any token type"


# ---------------------------------------------------------------- malformed input


def test_malformed_json_is_400(alice):
    response = alice.post("/api/orders/", b'{"restaurant": ', content_type="application/json")

    problem(response, 400, "malformed_request")


def test_a_json_list_instead_of_an_object_is_400(alice):
    response = alice.post("/api/orders/", [1, 2], format="json")

    body = problem(response, 400, "validation_error")
    assert "non_field_errors" in body["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"restaurant": 12}, "restaurant"),
        ({"items": "pizza"}, "items"),
        ({"tip": "lots"}, "tip"),
        ({"tip": 1e300}, "tip"),
        ({"tip": "1e400"}, "tip"),
        ({"delivery_type": "drone"}, "delivery_type"),
        ({"payment_method": "barter"}, "payment_method"),
    ],
)
def test_wrong_types_and_values_name_the_field(alice, menu, change, field):
    response = alice.post("/api/orders/", order_body(menu, **change), format="json")

    body = problem(response, 400, "validation_error")
    assert field in body["errors"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("line_change", "field"),
    [
        ({"quantity": 10**30}, "items[0].quantity"),
        ({"quantity": 0}, "items[0].quantity"),
        ({"quantity": "two"}, "items[0].quantity"),
        ({"quantity": True}, "items[0].quantity"),
        ({"menu_item": "not-a-uuid"}, "items[0].menu_item"),
        ({"customizations": ["large"]}, "items[0].customizations"),
        ({"customizations": [10**20]}, "items[0].customizations"),
    ],
)
def test_bad_order_lines_name_the_line(alice, menu, line_change, field):
    body = order_body(menu)
    body["items"][0].update(line_change)

    response = alice.post("/api/orders/", body, format="json")

    errors = problem(response, 400, "validation_error")["errors"]
    assert any(name.startswith(field) for name in errors), errors


@pytest.mark.parametrize("latitude", ["1e999999", 91, "NaN", "Infinity", None, "north"])
def test_bad_coordinates_are_400(alice, menu, latitude):
    body = order_body(menu)
    body["delivery_address"]["latitude"] = latitude

    errors = problem(alice.post("/api/orders/", body, format="json"), 400, "validation_error")["errors"]
    assert "delivery_address.latitude" in errors


def test_huge_prep_time_is_400(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    response = kitchen.post(
        f"/api/restaurants/orders/{order.pk}/confirm/", {"estimated_prep_time": 10**40}, format="json"
    )

    assert "estimated_prep_time" in problem(response, 400, "validation_error")["errors"]


# ---------------------------------------------------------------- missing and hidden orders


def _paths(order_id):
    return [
        ("get", f"/api/orders/{order_id}/"),
        ("get", f"/api/orders/{order_id}/status/"),
        ("get", f"/api/orders/{order_id}/history/"),
        ("get", f"/api/orders/{order_id}/eta/"),
        ("get", f"/api/orders/{order_id}/otp/"),
        ("post", f"/api/orders/{order_id}/status/"),
        ("post", f"/api/orders/{order_id}/cancel/"),
        ("post", f"/api/orders/{order_id}/otp/verify/"),
        ("post", f"/api/orders/{order_id}/otp/resend/"),
    ]


# A valid body for each write, so that only the order id can be wrong (unknown fields are a 400).
_BODIES = {"status": {"status_code": "CANCELLED", "otp": "123456"}, "verify": {"otp": "123456"}}


def _body(method, path):
    return _BODIES.get(path.rstrip("/").rsplit("/", 1)[-1], {}) if method == "post" else None


BAD_IDS = ["not-a-uuid", "12345", "abc.def", "%00", "' OR 1=1 --", "x" * 500, str(uuid.uuid4())]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_and_unknown_order_ids_are_order_not_found(alice, bad_id):
    for method, path in _paths(bad_id):
        response = getattr(alice, method)(path, _body(method, path), format="json")
        problem(response, 404, "order_not_found")


def test_another_users_order_answers_exactly_like_a_missing_one(alice, carol, other_customer, menu):
    carols = place_order(other_customer, menu["pizza"])

    for (method, hidden_path), (_, missing_path) in zip(_paths(carols.pk), _paths(uuid.uuid4()), strict=True):
        body = _body(method, hidden_path)
        hidden = getattr(alice, method)(hidden_path, body, format="json")
        missing = getattr(alice, method)(missing_path, body, format="json")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()


def test_bad_ids_on_kitchen_and_courier_actions(kitchen, dave):
    problem(kitchen.post("/api/restaurants/orders/nope/confirm/", {}, format="json"), 404, "order_not_found")
    problem(
        kitchen.post("/api/restaurants/orders/nope/handover/", {"otp": "123456"}, format="json"), 404, "order_not_found"
    )
    problem(dave.post("/api/orders/nope/accept/", {}, format="json"), 404, "order_not_found")
    problem(dave.post("/api/orders/nope/pickup/", {"otp": "123456"}, format="json"), 404, "order_not_found")


def test_unknown_api_path_is_a_problem_not_an_html_page(alice):
    response = alice.get("/api/no/such/thing/")

    problem(response, 404, "not_found")


def test_method_not_allowed_is_a_problem(alice):
    problem(alice.delete("/api/orders/"), 405, "method_not_allowed")


def test_unknown_order_number_is_order_not_found(alice, customer, staff_user, menu):
    order = to_ready(place_order(customer, menu["pizza"]), staff_user)
    problem(alice.get("/api/orders/number/ORD-NOPE/"), 404, "order_not_found")
    assert alice.get(f"/api/orders/number/{order.number}/").status_code == 200
