"""The public tracking link over REST: made at placement, shown to the customer, replaced or
revoked by them; the public endpoints show progress and never the address, codes or prices."""

import json

import pytest
from django.test import Client

from delivery.models import HandoffPurpose
from orders.models import Order, OrderStatus
from tests import factories
from tests.api.support import ADDRESS, order_body
from tests.factories import advance, place_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers_dispatch")]

PRIVATE_KEYS = {
    "delivery_address",
    "street",
    "customer",
    "customer_name",
    "phone",
    "total",
    "total_amount",
    "subtotal",
    "tip",
    "otp",
    "code",
    "reason",
    "metadata",
    "updated_by",
    "order_id",
    "customer_latitude",
    "delivery_latitude",
    "distance_km",
}


def keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in keys(item)}
    return set()


def token_of(order) -> str | None:
    return Order.objects.get(pk=order.pk).tracking_token


def test_placing_makes_an_unguessable_link_shown_to_the_customer_only(alice, kitchen, menu):
    response = alice.post("/api/orders/", order_body(menu), format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert len(order.tracking_token) >= 22
    assert response.json()["tracking_url"] == f"http://testserver/track/{order.tracking_token}/"
    assert alice.get(f"/api/orders/{order.pk}/").json()["tracking_url"].endswith(f"/track/{order.tracking_token}/")
    assert kitchen.get(f"/api/orders/{order.pk}/").json()["tracking_url"] is None
    other = alice.post("/api/orders/", order_body(menu), format="json").json()
    assert Order.objects.get(pk=other["id"]).tracking_token != order.tracking_token


def test_the_public_status_and_view_show_no_address_price_or_code(customer, staff_user, courier_user, menu):
    order = place_order(customer, menu["pizza"])
    advance(order, staff_user, OrderStatus.RESTAURANT_CONFIRMED)
    factories.claim(order.pk, courier_user)
    advance(order, staff_user, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)
    factories.pick_up(order.pk, courier_user)
    factories.start_delivery(order.pk, courier_user)
    token = token_of(order)
    client = Client()

    view = client.get(f"/api/track/{token}/")
    assert view.status_code == 200
    body = view.json()
    assert body["order_number"] == order.number
    assert body["status"] == "OUT_FOR_DELIVERY"
    assert body["restaurant"]["name"] == "Pizza Palace"
    assert body["courier"] == {"first_name": courier_user.first_name or "Your courier"}
    assert not keys(body) & PRIVATE_KEYS
    text = view.content.decode()
    code = factories.handoff_code(order.pk, HandoffPurpose.DELIVERY)
    for secret in (ADDRESS["street"], str(order.total), code, customer.username, "37.787"):
        assert secret not in text

    events = client.get(f"/api/track/{token}/events/?after=0").json()["events"]
    assert [e["sequence"] for e in events] == list(range(1, Order.objects.get(pk=order.pk).sequence + 1))
    assert events[-1]["new_status"] == "OUT_FOR_DELIVERY"
    assert not keys(events) & PRIVATE_KEYS
    assert code not in json.dumps(events)
    assert [e["sequence"] for e in client.get(f"/api/track/{token}/events/?after=5").json()["events"]] == [
        e["sequence"] for e in events[5:]
    ]


def test_the_lean_status_has_an_etag(customer, menu):
    order = place_order(customer, menu["pizza"])
    client = Client()
    first = client.get(f"/api/track/{token_of(order)}/status/")
    assert first.status_code == 200
    assert first.json()["sequence"] == 1 and first.json()["final"] is False
    assert client.get(f"/api/track/{token_of(order)}/status/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize("path", ["/api/track/{}/", "/api/track/{}/status/", "/api/track/{}/events/"])
@pytest.mark.parametrize("token", ["wrong-token-0000000000", "x" * 60, "%00", "..%2F"])
def test_an_unknown_or_malformed_token_is_a_problem_404(customer, menu, path, token):
    place_order(customer, menu["pizza"])
    response = Client().get(path.format(token))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] in ("tracking_link_not_found", "not_found")


def test_after_must_be_a_sequence(customer, menu):
    order = place_order(customer, menu["pizza"])
    response = Client().get(f"/api/track/{token_of(order)}/events/?after=-1")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_customer_replaces_and_revokes_the_link(alice, customer, menu):
    order = place_order(customer, menu["pizza"])
    old = token_of(order)

    renewed = alice.post(f"/api/orders/{order.pk}/tracking-link/")
    assert renewed.status_code == 200
    new = token_of(order)
    assert new != old and renewed.json()["tracking_url"] == f"http://testserver/track/{new}/"
    assert Client().get(f"/api/track/{old}/status/").status_code == 404
    assert Client().get(f"/track/{old}/").status_code == 404
    assert Client().get(f"/track/{new}/").status_code == 200

    assert alice.delete(f"/api/orders/{order.pk}/tracking-link/").status_code == 204
    assert token_of(order) is None
    assert alice.get(f"/api/orders/{order.pk}/").json()["tracking_url"] is None
    assert Client().get(f"/api/track/{new}/status/").status_code == 404
    assert Client().get(f"/track/{new}/").status_code == 404


def test_only_the_customer_manages_the_link(carol, kitchen, customer, menu, client_for):
    order = place_order(customer, menu["pizza"])
    token = token_of(order)
    refused = carol.post(f"/api/orders/{order.pk}/tracking-link/")
    assert refused.status_code == 404 and refused.json()["code"] == "order_not_found"
    assert carol.delete(f"/api/orders/{order.pk}/tracking-link/").status_code == 404
    forbidden = kitchen.delete(f"/api/orders/{order.pk}/tracking-link/")
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "tracking_link_forbidden"
    assert client_for().delete(f"/api/orders/{order.pk}/tracking-link/").status_code == 401
    assert token_of(order) == token


def test_a_final_order_says_so(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"])
    factories.cancel(order.pk, staff_user)
    body = Client().get(f"/api/track/{token_of(order)}/status/").json()
    assert body["status"] == "CANCELLED" and body["final"] is True


def test_the_events_list_refuses_a_query_parameter_it_does_not_read(customer, menu):
    order = place_order(customer, menu["pizza"])
    response = Client().get(f"/api/track/{token_of(order)}/events/?after=0&page=2")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
