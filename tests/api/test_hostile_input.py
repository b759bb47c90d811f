"""Input a client should never send still gets a 400 problem (or a 404), never a 500."""

import base64

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.api.support import problem
from tests.factories import OrderFactory, advance, assign, place_order, to_ready

pytestmark = pytest.mark.django_db

DEEP = b"[" * 5000 + b"]" * 5000


# ---------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize("path", ["/api/orders/", "/api/auth/token/"])
def test_deeply_nested_json_is_400(alice, path):
    problem(alice.post(path, DEEP, content_type="application/json"), 400, "malformed_request")


def test_deeply_nested_json_with_an_idempotency_key_is_400(alice):
    response = alice.post("/api/orders/", DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1")

    problem(response, 400, "malformed_request")


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e309}'])
def test_non_finite_numbers_are_400(alice, customer, menu, body):
    order = place_order(customer, menu["pizza"])

    response = alice.post(f"/api/orders/{order.pk}/status/", body, content_type="application/json")

    problem(response, 400, "malformed_request")


def test_an_integer_too_long_to_read_is_400(alice):
    body = b'{"tip": ' + b"9" * 5000 + b"}"

    problem(alice.post("/api/orders/", body, content_type="application/json"), 400, "malformed_request")


def test_metadata_with_infinity_is_refused_by_the_service(customer, menu):
    from core.actors import Actor
    from core.errors import ValidationFailed
    from orders.services.transitions import order_transition

    order = place_order(customer, menu["pizza"])
    with pytest.raises(ValidationFailed) as caught:
        order_transition(
            order_id=order.pk,
            target=OrderStatus.CANCELLED,
            actor=Actor.customer(customer),
            metadata={"a": float("inf")},
        )
    assert "metadata" in caught.value.errors


# ---------------------------------------------------------------- date filters


@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01T00:00:00+05:00"},
        {"date_to": "2026-01-15T10:00:00+20:00"},
        {"date_from": "2026-01-15T10:00:00-16:00"},
        {"date_to": "9999-12-31T23:59:59-05:00"},
    ],
)
def test_dates_out_of_range_are_400_naming_the_filter(alice, params):
    body = problem(alice.get("/api/orders/", params), 400, "validation_error")

    assert list(body["errors"]) == list(params)


def test_the_widest_offsets_are_accepted(alice):
    response = alice.get("/api/orders/", {"date_from": "2026-01-15T10:00:00+15:59", "date_to": "9999-12-30"})

    assert response.status_code == 200


# ---------------------------------------------------------------- cursors


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("p=2026"),
        _cursor("p=not-a-date"),
        _cursor("p=9999-12-31 23:59:59-05:00"),
        _cursor("p=2026-01-15 10:00:00+20:00"),
        _cursor("o=-1"),
        _cursor("p=2026-01-15 10:00:00+00:00&p=2026-01-16 10:00:00+00:00"),
    ],
)
def test_hand_made_cursors_are_400(alice, customer, cursor):
    OrderFactory(customer=customer)

    body = problem(alice.get("/api/orders/", {"cursor": cursor}), 400, "validation_error")

    assert "cursor" in body["errors"]


def test_a_cursor_the_api_gave_out_still_works(alice, customer):
    for _ in range(3):
        OrderFactory(customer=customer)
    first = alice.get("/api/orders/", {"pagination": "cursor", "page_size": 2}).json()

    second = alice.get("/api/orders/", {"cursor": first["next_cursor"], "page_size": 2})

    assert second.status_code == 200 and len(second.json()["results"]) == 1


# ---------------------------------------------------------------- repeated parameters


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tab=bogus&tab=to_ship", "tab"),
        ("tab=to_ship&tab=bogus", "tab"),
        ("payment_status=BOGUS&payment_status=PAID", "payment_status"),
        ("delivery_type=drone&delivery_type=delivery", "delivery_type"),
        ("restaurant=pizza&restaurant=00000000-0000-0000-0000-000000000000", "restaurant"),
        ("include_cancelled=maybe&include_cancelled=true", "include_cancelled"),
        ("date_from=yesterday&date_from=2026-01-01", "date_from"),
        ("page_size=0&page_size=10", "page_size"),
        ("page=x&page=1", "page"),
        ("pagination=bogus&pagination=page", "pagination"),
    ],
)
def test_a_repeated_single_value_parameter_is_400_naming_it(alice, query, field):
    body = problem(alice.get(f"/api/orders/?{query}"), 400, "validation_error")

    assert field in body["errors"]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/orders/{id}/", "include=bogus&include=history", "include"),
        ("/api/orders/{id}/otp/", "type=sms&type=delivery", "type"),
        ("/api/restaurants/orders/queue/", "restaurant=pizza&restaurant={restaurant}", "restaurant"),
    ],
)
def test_other_repeated_query_parameters_are_400_naming_them(kitchen, customer, menu, path, query, field):
    order = place_order(customer, menu["pizza"])
    url = path.format(id=order.pk) + "?" + query.format(restaurant=order.restaurant_id)

    body = problem(kitchen.get(url), 400, "validation_error")

    assert field in body["errors"]


def test_status_may_still_repeat(alice):
    assert alice.get("/api/orders/?status=ORDER_PLACED&status=PREPARING").status_code == 200


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("pagination=cursor", "validation_error"),
        (f"cursor={_cursor('p=2026')}", "unknown_query_parameter"),
        ("page_size=5&page_size=5", "validation_error"),
    ],
)
def test_the_available_list_refuses_cursor_paging_and_repeats(dave, query, code):
    problem(dave.get(f"/api/orders/available/?{query}"), 400, code)


# ---------------------------------------------------------------- titles and routing


def test_method_not_allowed_has_a_fixed_title(alice):
    body = problem(alice.delete("/api/orders/"), 405, "method_not_allowed")

    assert body["title"] == "This method is not allowed here"
    assert "{" not in body["title"] and body["detail"] == 'Method "DELETE" not allowed.'


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_are_problem_404s_whatever_debug_says(alice, debug):
    with override_settings(DEBUG=debug):
        problem(alice.get("/api/nothing-here/"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_a_post_without_the_trailing_slash_is_a_404_naming_the_right_path(alice, customer, menu, debug):
    from tests.api.support import order_body

    with override_settings(DEBUG=debug):
        response = APIClient().post("/api/orders", order_body(menu), format="json")

    body = problem(response, 404, "not_found")
    assert "/api/orders/" in body["detail"]


def test_a_read_without_the_trailing_slash_is_still_redirected(alice):
    response = alice.get("/api/orders?tab=to_ship")

    assert response.status_code == 301 and response["Location"] == "/api/orders/?tab=to_ship"


def test_the_health_check_is_not_caught(client):
    assert client.get("/health/").status_code in (200, 503)


# ---------------------------------------------------------------- roles on the cancel and queue endpoints


def test_staff_cancel_through_the_customer_endpoint_by_the_kitchen_rules(kitchen, customer, staff_user, menu):
    order = advance(place_order(customer, menu["pizza"]), staff_user, OrderStatus.RESTAURANT_CONFIRMED)

    body = problem(kitchen.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"), 400, "validation_error")
    assert "reason" in body["errors"]

    response = kitchen.post(f"/api/orders/{order.pk}/cancel/", {"reason": "Out of dough"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"


def test_the_assigned_courier_may_not_cancel(dave, customer, staff_user, courier_user, menu):

    order = assign(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)

    problem(dave.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"), 403, "transition_forbidden")


def test_another_restaurants_queue_is_404(kitchen):
    from tests.factories import RestaurantFactory

    response = kitchen.get("/api/restaurants/orders/queue/", {"restaurant": str(RestaurantFactory().pk)})

    problem(response, 404, "restaurant_not_found")
