"""Every order endpoint x every relation a user can have to an order x several order states.

A user related to the order (its customer, its restaurant's staff, its courier, an online courier
it is offered to while it waits for one, a superuser) is answered, allowed or refused, never with a
server error; anyone else gets exactly the bytes that an order id no order has gets: "not yours"
and "missing" cannot be told apart, on reads and writes alike. Writes run inside a transaction
that is rolled back, so every cell sees the same order.
"""

import json
import uuid

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from core.actors import Actor
from delivery.models import CourierProfile
from orders.models import OrderStatus
from orders.services.transitions import order_transition
from tests.factories import UserFactory, assign, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db
S = OrderStatus

# (method, path template, body): every endpoint that names one order.
ENDPOINTS = [
    ("get", "/api/orders/{id}/", None),
    ("get", "/api/orders/number/{number}/", None),
    ("get", "/api/orders/{id}/status/", None),
    ("get", "/api/orders/{id}/history/", None),
    ("get", "/api/orders/{id}/eta/", None),
    ("get", "/api/orders/{id}/otp/", None),
    ("post", "/api/orders/{id}/status/", {"status_code": "CANCELLED", "reason": "matrix"}),
    ("post", "/api/orders/{id}/cancel/", {"reason": "matrix"}),
    ("post", "/api/orders/{id}/otp/verify/", {"otp": "123456"}),
    ("post", "/api/orders/{id}/otp/resend/", {}),
    ("post", "/api/orders/{id}/accept/", {}),
    ("post", "/api/orders/{id}/pickup/", {"otp": "123456"}),
    ("post", "/api/orders/{id}/start-delivery/", {}),
    ("post", "/api/orders/{id}/complete-delivery/", {"otp": "123456"}),
    ("post", "/api/restaurants/orders/{id}/confirm/", {}),
    ("post", "/api/restaurants/orders/{id}/reject/", {"reason": "matrix"}),
    ("post", "/api/restaurants/orders/{id}/start-preparing/", {}),
    ("post", "/api/restaurants/orders/{id}/mark-ready/", {}),
    ("post", "/api/restaurants/orders/{id}/cancel/", {"reason": "matrix"}),
    ("post", "/api/restaurants/orders/{id}/handover/", {"otp": "123456"}),
]
READS_EVERY_RELATED_USER_GETS = {"/api/orders/{id}/", "/api/orders/{id}/status/", "/api/orders/{id}/history/"}

STATES = ["placed", "ready_unassigned", "ready_assigned", "out_for_delivery", "cancelled"]
RELATIONS = [
    "customer",
    "other_customer",
    "staff",
    "other_staff",
    "courier",
    "other_online_courier",
    "offline_courier",
    "admin",
]


def build(state, people, menu):
    customer, staff, courier = people["customer"], people["staff"], people["courier"]
    if state == "placed":
        return place_order(customer, menu["pizza"])
    if state == "ready_unassigned":
        return to_ready(place_order(customer, menu["pizza"]), staff)
    if state == "ready_assigned":
        order = to_ready(place_order(customer, menu["pizza"]), staff)
        assign(order, courier)
        return order
    if state == "out_for_delivery":
        return to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff), courier)
    if state == "cancelled":
        order = place_order(customer, menu["pizza"])
        return order_transition(order_id=order.pk, target=S.CANCELLED, actor=Actor.customer(customer)).order
    raise AssertionError(state)


def related(relation, state) -> bool:
    if relation in ("customer", "staff", "admin"):
        return True
    if relation in ("courier", "other_online_courier") and state == "ready_unassigned":
        return True  # offered to every online courier while it waits for one
    if relation == "courier":
        return state in ("ready_assigned", "out_for_delivery")
    return False


def call(user, method, template, body, *, order_id, number):
    client = APIClient()
    client.force_authenticate(user)
    path = template.format(id=order_id, number=number)
    with transaction.atomic():
        if method == "get":
            response = client.get(path)
        else:
            response = client.post(path, json.dumps(body), content_type="application/json")
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("state", STATES)
def test_the_authorization_matrix(state, people, menu, settings):
    settings.ORDERFLOW_COURIER_DISPATCH = "offers"  # the courier is the one the test assigns
    order = build(state, people, menu)
    order.refresh_from_db()
    CourierProfile.objects.filter(user=people["offline_courier"]).update(is_online=False)
    missing_id, missing_number = uuid.uuid4(), "ORD-00000000-NOSUCH"

    checked = 0
    for relation in RELATIONS:
        user = people[relation]
        for method, template, body in ENDPOINTS:
            cell = (state, relation, method, template)
            response = call(user, method, template, body, order_id=order.pk, number=order.number)
            assert response.status_code < 500, (cell, response.content)
            if related(relation, state):
                if method == "get" and template in READS_EVERY_RELATED_USER_GETS:
                    assert response.status_code == 200, (cell, response.content)
            else:
                missing = call(user, method, template, body, order_id=missing_id, number=missing_number)
                assert (response.status_code, response.content) == (missing.status_code, missing.content), cell
                assert response.status_code in (403, 404, 409), (cell, response.content)
            checked += 1
    assert checked == len(RELATIONS) * len(ENDPOINTS)
    order.refresh_from_db()
    assert (
        order.status
        == {
            "placed": S.ORDER_PLACED,
            "ready_unassigned": S.READY_FOR_PICKUP,
            "ready_assigned": S.READY_FOR_PICKUP,
            "out_for_delivery": S.OUT_FOR_DELIVERY,
            "cancelled": S.CANCELLED,
        }[state]
    )


def test_an_unrelated_user_hears_the_same_bytes_for_a_hidden_and_a_missing_order(people, menu, settings):
    settings.ORDERFLOW_COURIER_DISPATCH = "offers"
    order = place_order(people["customer"], menu["pizza"])
    stranger = UserFactory(username="matrix_stranger")

    for method, template, body in ENDPOINTS:
        hidden = call(stranger, method, template, body, order_id=order.pk, number=order.number)
        missing = call(stranger, method, template, body, order_id=uuid.uuid4(), number="ORD-00000000-NOSUCH")
        assert hidden.content == missing.content and hidden.status_code == missing.status_code, template
