"""Optimistic concurrency, the way Square's API offers it: the detail and status answers carry
the order's ETag, every write on the order accepts it back in `If-Match` (or the bare
`sequence`), and a stale one is refused with 412 and the order's current state."""

import threading

import pytest
from django.db import connection

from orders.models import HandoffPurpose, Order, OrderStatus
from tests.api.support import problem
from tests.factories import advance, assign, handoff_code, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db


def etag(order: Order) -> str:
    order.refresh_from_db()
    return f'"{order.pk}:{order.sequence}"'


def test_the_detail_and_the_status_carry_the_etag_the_writes_expect(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    detail = alice.get(f"/api/orders/{order.pk}/")
    status = alice.get(f"/api/orders/{order.pk}/status/")

    assert detail["ETag"] == status["ETag"] == etag(order)
    assert status.json()["sequence"] == 1


def test_a_write_with_the_current_etag_acts_and_answers_the_next_one(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    current = kitchen.get(f"/api/orders/{order.pk}/")["ETag"]

    confirmed = kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json", HTTP_IF_MATCH=current)
    preparing = kitchen.post(f"/api/restaurants/orders/{order.pk}/start-preparing/", HTTP_IF_MATCH=confirmed["ETag"])

    assert confirmed.status_code == preparing.status_code == 200, (confirmed.content, preparing.content)
    assert preparing["ETag"] == etag(order) and preparing.json()["status"] == "PREPARING"


def test_a_stale_etag_is_412_with_the_current_state_and_changes_nothing(alice, kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    read_before = alice.get(f"/api/orders/{order.pk}/")["ETag"]
    kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json")

    stale = alice.post(f"/api/orders/{order.pk}/cancel/", {"reason": "x"}, format="json", HTTP_IF_MATCH=read_before)

    body = problem(stale, 412, "precondition_failed")
    assert (body["sequence"], body["current_status"], body["etag"]) == (2, "RESTAURANT_CONFIRMED", etag(order))
    assert (body["payment_status"], body["delivery_status"]) == ("pending", "unassigned")
    assert stale["ETag"] == etag(order)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESTAURANT_CONFIRMED


@pytest.mark.parametrize(("header", "expected"), [("2", 200), ('"2"', 200), ("W/2", 200), ("*", 200), ("1", 412)])
def test_the_bare_sequence_and_any_version_are_accepted(kitchen, staff_user, customer, menu, header, expected):
    order = advance(place_order(customer, menu["pizza"]), staff_user, OrderStatus.RESTAURANT_CONFIRMED)

    response = kitchen.post(f"/api/restaurants/orders/{order.pk}/start-preparing/", HTTP_IF_MATCH=header)

    assert response.status_code == expected, response.content


def test_another_orders_etag_does_not_match(kitchen, customer, menu):
    order, other = (
        place_order(customer, menu["pizza"]),
        place_order(customer, menu["pizza"]),
    )

    response = kitchen.post(
        f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json", HTTP_IF_MATCH=etag(other)
    )

    problem(response, 412, "precondition_failed")


@pytest.mark.parametrize("header", ["yesterday", '"abc:x"', '"not-a-uuid:3"', "x" * 1001])
def test_a_malformed_if_match_is_400(kitchen, customer, menu, header):
    order = place_order(customer, menu["pizza"])

    response = kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json", HTTP_IF_MATCH=header)

    assert "If-Match" in problem(response, 400, "validation_error")["errors"]


def test_every_kind_of_write_checks_it(alice, kitchen, dave, customer, staff_user, courier_user, menu):
    ready = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(ready, courier_user)
    on_the_road = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    confirmed = advance(place_order(customer, menu["pizza"]), staff_user, OrderStatus.RESTAURANT_CONFIRMED)
    stale = '"0"'
    writes = [
        (
            dave,
            f"/api/orders/{ready.pk}/otp/verify/",
            {"otp": handoff_code(ready.pk, HandoffPurpose.PICKUP), "type": "pickup"},
        ),
        (dave, f"/api/orders/{ready.pk}/pickup/", {"otp": handoff_code(ready.pk, HandoffPurpose.PICKUP)}),
        (
            dave,
            f"/api/orders/{on_the_road.pk}/complete-delivery/",
            {"otp": handoff_code(on_the_road.pk, HandoffPurpose.DELIVERY)},
        ),
        (alice, f"/api/orders/{on_the_road.pk}/otp/resend/", {"type": "delivery"}),
        (dave, f"/api/orders/{confirmed.pk}/accept/", None),
        (kitchen, f"/api/orders/{confirmed.pk}/status/", {"status_code": "PREPARING"}),
        (kitchen, f"/api/restaurants/orders/{confirmed.pk}/cancel/", {"reason": "Out of dough"}),
        (alice, f"/api/orders/{confirmed.pk}/cancel/", {}),
    ]
    for client, path, body in writes:
        problem(client.post(path, body, format="json", HTTP_IF_MATCH=stale), 412, "precondition_failed")
    assert [Order.objects.get(pk=o.pk).status for o in (ready, on_the_road, confirmed)] == [
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.RESTAURANT_CONFIRMED,
    ]


@pytest.mark.django_db(transaction=True)
def test_two_writers_with_the_same_etag_get_one_200_and_one_412(client_for, staff_user, customer, menu):
    order = place_order(customer, menu["pizza"])
    current = etag(order)
    answers, start = [], threading.Barrier(2)

    def write(path, body):
        try:
            start.wait(timeout=10)
            answers.append(client_for(staff_user).post(path, body, format="json", HTTP_IF_MATCH=current).status_code)
        finally:
            connection.close()

    writers = [
        threading.Thread(target=write, args=(f"/api/restaurants/orders/{order.pk}/confirm/", {})),
        threading.Thread(target=write, args=(f"/api/restaurants/orders/{order.pk}/reject/", {"reason": "Closed"})),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=30)

    assert sorted(answers) == [200, 412]
    assert Order.objects.get(pk=order.pk).sequence == 2


def test_the_tracking_link_and_the_three_status_cancel_check_it_too(alice, customer, menu):
    order = place_order(customer, menu["pizza"])
    stale = '"0"'

    problem(alice.post(f"/api/orders/{order.pk}/tracking-link/", HTTP_IF_MATCH=stale), 412, "precondition_failed")
    problem(alice.delete(f"/api/orders/{order.pk}/tracking-link/", HTTP_IF_MATCH=stale), 412, "precondition_failed")
    renewed = alice.post(f"/api/orders/{order.pk}/tracking-link/", HTTP_IF_MATCH=etag(order))
    assert renewed.status_code == 200, renewed.content

    refused = alice.post(
        f"/v1/online-ordering/orders/{order.pk}/cancel", {"reason": "x"}, format="json", HTTP_IF_MATCH=stale
    )
    assert refused.status_code == 412 and refused.json()["error"]["code"] == "precondition_failed"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED
