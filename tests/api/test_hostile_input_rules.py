"""Input that used to reach the database or a formatter unchecked: each class of input has one
rule, and the answer is a problem+json 4xx, never a 500."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api.support import order_body, problem
from tests.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    ["status=%25", "status=%25s%25s", "status=%25(x)s", "tab=%25", "payment_status=%25d", "date_from=%25"],
)
def test_a_filter_value_with_a_percent_sign_is_a_400_naming_the_filter(alice, query):
    body = problem(alice.get(f"/api/orders/?{query}"), 400, "validation_error")

    assert set(body["errors"]) == {query.split("=")[0]}


def test_the_message_quotes_the_value_as_given(alice):
    body = problem(alice.get("/api/orders/?status=%25s"), 400, "validation_error")

    assert body["errors"]["status"] == ["Not an order status: %s."]


@pytest.mark.parametrize(
    "query", ["search=%00", "status=%00", "restaurant=%00", "tab=to_ship&x%00=1", "include_cancelled=%00"]
)
def test_a_nul_in_the_query_string_is_a_400(alice, query):
    problem(alice.get(f"/api/orders/?{query}"), 400, "invalid_characters")


def test_a_nul_in_the_admins_search_is_a_400(client, admin_user):
    client.force_login(admin_user)

    problem(client.get("/admin/orders/order/?q=%00"), 400, "invalid_characters")


@pytest.mark.parametrize("number", ["%00", "ORD-%00", "x" * 33, "%09tab"])
def test_an_order_number_no_order_can_have_is_order_not_found(alice, customer, menu, number):
    place_order(customer, menu["pizza"])

    problem(alice.get(f"/api/orders/number/{number}/"), 404, "order_not_found")


@pytest.mark.parametrize(
    "metadata",
    [{"k": "\u0000"}, {"\u0000": "v"}, {"k": ["ok", {"deep": "a\u0000b"}]}],
)
def test_a_nul_anywhere_in_a_json_body_is_a_400(kitchen, customer, menu, metadata):
    order = place_order(customer, menu["pizza"])
    body = {"status_code": "RESTAURANT_CONFIRMED", "metadata": metadata}

    response = kitchen.post(f"/api/orders/{order.pk}/status/", json.dumps(body), content_type="application/json")

    problem(response, 400, "malformed_request")
    order.refresh_from_db()
    assert order.status == "ORDER_PLACED"


def test_a_nul_in_a_placed_orders_notes_is_a_400(alice, menu):
    response = alice.post(
        "/api/orders/", json.dumps(order_body(menu, notes="a\u0000b")), content_type="application/json"
    )

    problem(response, 400, "malformed_request")


@pytest.mark.parametrize("reason", [2733, 1.5, True, ["late"], {"text": "late"}])
def test_a_text_field_takes_only_a_json_string(alice, customer, menu, reason):
    order = place_order(customer, menu["pizza"])

    response = alice.post(f"/api/orders/{order.pk}/cancel/", {"reason": reason}, format="json")

    body = problem(response, 400, "validation_error")
    assert "reason" in json.dumps(body)
    order.refresh_from_db()
    assert order.status == "ORDER_PLACED"


def test_a_number_for_a_placed_orders_notes_is_a_400_naming_it(alice, menu):
    response = alice.post("/api/orders/", order_body(menu, notes=12), format="json")

    assert "notes" in json.dumps(problem(response, 400, "validation_error"))


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_that_reaches_django_is_a_413(alice, menu):
    body = order_body(menu, notes="n" * 2000)

    response = alice.post("/api/orders/", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")

    problem(response, 413, "request_too_large")


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/",
        "/api/orders/{id}/",
        "/api/orders/{id}/status/",
        "/api/orders/{id}/cancel/",
        "/api/orders/{id}/otp/",
        "/api/orders/{id}/otp/verify/",
        "/api/orders/{id}/otp/resend/",
        "/api/orders/{id}/accept/",
        "/api/orders/{id}/pickup/",
        "/api/orders/available/",
        "/api/restaurants/orders/{id}/confirm/",
        "/api/delivery/location/",
    ],
)
def test_options_never_fails_on_any_endpoint_for_any_role(path, customer, staff_user, courier_user, admin_user, menu):
    order = place_order(customer, menu["pizza"])
    for user in (customer, staff_user, courier_user, admin_user):
        client = APIClient()
        client.force_authenticate(user)

        response = client.options(path.format(id=order.pk))

        # A role-gated endpoint refuses the wrong role (403) as it does for any method.
        assert response.status_code in (200, 403), (user.username, response.content)
        assert "actions" not in response.json()
