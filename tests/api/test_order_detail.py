import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.public_ids import user_public_id
from delivery.models import CourierProfile
from orders.models import Order, OrderStatus
from tests.api.support import problem
from tests.factories import OrderFactory, OrderItemFactory, advance, assign, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- full detail


def test_detail_has_the_order_process_fields_money_address_and_items(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = alice.get(f"/api/orders/{order.pk}/").json()

    assert body["id"] == str(order.pk)
    assert body["order_number"] == order.number
    assert body["order_status"] == body["order_status_code"] == "ORDER_PLACED"
    assert body["order_status_name"] == "Order Placed"
    for money in ("subtotal", "discount", "delivery_fee", "tip", "tax_amount", "total_amount"):
        assert isinstance(body[money], str) and Decimal(body[money]) >= 0
    assert body["currency"] == "USD"
    assert body["delivery_address"]["street"] == "500 Howard Street"
    assert body["customer_latitude"] == "37.787000" and body["restaurant_latitude"] == "37.774900"
    assert body["items"][0]["customizations"] == [
        {"group_name": "Size", "choice_name": "Small", "price_adjustment": "0.00"}
    ]
    assert body["delivery_person"] is None and body["delivery_person_location"] is None
    assert body["refund"] is None and body["refund_status"] == "none"
    assert body["next_statuses"] == ["CANCELLED"]
    assert "history" not in body and "payments" not in body


def test_detail_shows_the_courier_and_their_position(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    courier_user.first_name, courier_user.last_name = "Dave", "Rider"
    courier_user.save()

    body = alice.get(f"/api/orders/{order.pk}/").json()

    assert body["delivery_person"] == str(user_public_id(courier_user.pk))
    assert body["delivery_person_name"] == "Dave Rider"
    assert body["delivery_person_location"]["latitude"] == "37.776000"
    assert body["delivery_status"] == "in_transit"


def test_detail_shows_the_refund_of_a_cancelled_paid_order(alice, customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)
    alice.post(f"/api/orders/{order.pk}/cancel/", {"reason": "changed my mind"}, format="json")

    body = alice.get(f"/api/orders/{order.pk}/?include=payments").json()

    assert body["order_status"] == "CANCELLED"
    assert body["refund_status"] == "pending"
    assert body["refund"]["status"] == "pending" and body["refund"]["amount"] == body["total_amount"]
    assert body["payments"][0]["status"] == "SUCCEEDED"
    assert body["cancellation_reason"] == "changed my mind" and body["cancelled_by"] == "customer"


def test_include_history_and_payments(alice, customer, menu):
    order = place_order(customer, menu["pizza"], payment_method="online", paid=True)

    body = alice.get(f"/api/orders/{order.pk}/", {"include": "history,payments"}).json()

    assert [entry["status"] for entry in body["history"]] == ["PAYMENT_PENDING", "PAYMENT_SUCCESS"]
    assert [entry["sequence"] for entry in body["history"]] == [1, 2]
    assert body["payments"][0]["amount"] == body["total_amount"]


def test_unknown_include_is_400(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = problem(alice.get(f"/api/orders/{order.pk}/", {"include": "history,secrets"}), 400, "validation_error")
    assert "include" in body["errors"]


def test_pickup_order_has_no_delivery_address(alice, customer, menu):
    order = place_order(customer, menu["pizza"], delivery_type="pickup")

    assert alice.get(f"/api/orders/{order.pk}/").json()["delivery_address"] is None


def test_lookup_by_order_number(alice, carol, customer, menu):
    order = place_order(customer, menu["pizza"])

    assert alice.get(f"/api/orders/number/{order.number}/").json()["id"] == str(order.pk)
    problem(carol.get(f"/api/orders/number/{order.number}/"), 404, "order_not_found")


# ---------------------------------------------------------------- who sees it


def test_each_role_sees_it_with_its_own_next_steps(alice, kitchen, admin, customer, menu):
    order = place_order(customer, menu["pizza"])

    assert alice.get(f"/api/orders/{order.pk}/").json()["next_statuses"] == ["CANCELLED"]
    assert kitchen.get(f"/api/orders/{order.pk}/").json()["next_statuses"] == [
        "RESTAURANT_CONFIRMED",
        "RESTAURANT_REJECTED",
        "CANCELLED",
    ]
    assert admin.get(f"/api/orders/{order.pk}/").status_code == 200


def test_other_restaurants_staff_and_other_customers_get_404(carol, other_kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(carol.get(f"/api/orders/{order.pk}/"), 404, "order_not_found")
    problem(other_kitchen.get(f"/api/orders/{order.pk}/"), 404, "order_not_found")


def test_couriers_see_offered_and_their_own_orders_only(dave, erin, customer, staff_user, courier_user, menu):
    unconfirmed = place_order(customer, menu["pizza"])
    offered = to_ready(place_order(customer, menu["pizza"]), staff_user)
    taken = to_ready(place_order(customer, menu["pizza"]), staff_user)
    assign(taken, courier_user)

    problem(dave.get(f"/api/orders/{unconfirmed.pk}/"), 404, "order_not_found")
    assert dave.get(f"/api/orders/{offered.pk}/").status_code == 200
    assert dave.get(f"/api/orders/{taken.pk}/").status_code == 200
    problem(erin.get(f"/api/orders/{taken.pk}/"), 404, "order_not_found")


def test_detail_query_count_does_not_grow_with_the_order(alice, customer, restaurant, django_assert_num_queries):
    def order_with(lines):
        order = OrderFactory(customer=customer, restaurant=restaurant, number=f"ORD-LINES-{lines}")
        for _ in range(lines):
            item = OrderItemFactory(order=order)
            item.customizations.create(group_name="Size", choice_name="Large", price_adjustment=Decimal("1.00"))
            item.customizations.create(group_name="Extra", choice_name="Basil", price_adjustment=Decimal("0.50"))
        return order

    small, large = order_with(1), order_with(30)
    # access, order (+ restaurant, courier, refund), items, customizations, events, payments
    with django_assert_num_queries(6):
        alice.get(f"/api/orders/{small.pk}/", {"include": "history,payments"})
    with django_assert_num_queries(6):
        response = alice.get(f"/api/orders/{large.pk}/", {"include": "history,payments"})
    assert len(response.json()["items"]) == 30


# ---------------------------------------------------------------- lean status


def test_lean_status_is_small_and_has_an_etag(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    response = alice.get(f"/api/orders/{order.pk}/status/")

    assert response.status_code == 200
    assert response.json() == {
        "order_id": str(order.pk),
        "order_number": order.number,
        "status": "ORDER_PLACED",
        "payment_status": "pending",
        "delivery_status": "unassigned",
        "last_update": order.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "estimated_delivery_time": order.estimated_delivery_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sequence": 1,
    }
    assert response["ETag"] == f'"{order.pk}:1"'
    assert response["Cache-Control"] == "no-cache"


def test_lean_status_stays_under_300_bytes_with_the_longest_values(alice, customer, restaurant):
    order = OrderFactory(
        customer=customer,
        restaurant=restaurant,
        number="ORD-20261231-WWWWWW",
        status=OrderStatus.RESTAURANT_CONFIRMED,
        delivery_status="UNASSIGNED",
        payment_status="REFUNDED",
        estimated_delivery_at=timezone.now(),
        sequence=999999,
    )

    response = alice.get(f"/api/orders/{order.pk}/status/")

    assert len(response.content) < 300
    assert json.loads(response.content)["sequence"] == 999999


def test_if_none_match_gives_304_until_the_order_changes(alice, kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    etag = alice.get(f"/api/orders/{order.pk}/status/")["ETag"]

    unchanged = alice.get(f"/api/orders/{order.pk}/status/", HTTP_IF_NONE_MATCH=etag)
    also_unchanged = alice.get(f"/api/orders/{order.pk}/status/", HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {}, format="json")
    changed = alice.get(f"/api/orders/{order.pk}/status/", HTTP_IF_NONE_MATCH=etag)

    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == etag and unchanged["Cache-Control"] == "no-cache"
    assert also_unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed["ETag"] == f'"{order.pk}:2"'
    assert changed.json()["status"] == "RESTAURANT_CONFIRMED"


def test_lean_status_is_two_indexed_reads(alice, customer, menu, django_assert_num_queries):
    order = place_order(customer, menu["pizza"])

    with django_assert_num_queries(2):  # the user's relation to the order, then the row
        alice.get(f"/api/orders/{order.pk}/status/")


def test_lean_status_of_an_overdue_order_is_never_still_waiting(alice, customer, menu, settings):
    order = place_order(customer, menu["pizza"])
    with freeze_time(timezone.now() + timedelta(seconds=settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS + 1)):
        body = alice.get(f"/api/orders/{order.pk}/status/").json()

    assert body["status"] == "CANCELLED"
    assert body["sequence"] == 2
    order.refresh_from_db()
    assert (order.cancelled_by, order.cancellation_reason) == ("system", "restaurant_timeout")


def test_lean_status_before_the_deadline_changes_nothing(alice, customer, menu, settings):
    order = place_order(customer, menu["pizza"])
    with freeze_time(timezone.now() + timedelta(seconds=settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS - 5)):
        body = alice.get(f"/api/orders/{order.pk}/status/").json()

    assert (body["status"], body["sequence"]) == ("ORDER_PLACED", 1)


def test_lean_status_of_someone_elses_order_is_404(carol, customer, menu):
    order = place_order(customer, menu["pizza"])

    problem(carol.get(f"/api/orders/{order.pk}/status/"), 404, "order_not_found")


# ---------------------------------------------------------------- history


def test_history_in_the_order_process_shape(alice, kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {"estimated_prep_time": 15}, format="json")
    kitchen.post(f"/api/restaurants/orders/{order.pk}/cancel/", {"reason": "out of dough"}, format="json")

    body = alice.get(f"/api/orders/{order.pk}/history/").json()

    assert body["order_id"] == str(order.pk) and body["order_number"] == order.number
    assert [(e["sequence"], e["status"], e["previous_status"]) for e in body["history"]] == [
        (1, "ORDER_PLACED", None),
        (2, "RESTAURANT_CONFIRMED", "ORDER_PLACED"),
        (3, "CANCELLED", "RESTAURANT_CONFIRMED"),
    ]
    confirmed, cancelled = body["history"][1], body["history"][2]
    assert confirmed["status_name"] == "Order Confirmed"
    assert confirmed["metadata"] == {"estimated_prep_time": 15}
    assert confirmed["actor_role"] == "restaurant"
    assert cancelled["event_type"] == "order.cancelled"
    assert cancelled["reason"] == "out of dough"
    assert cancelled["description"].endswith(": out of dough")
    assert set(confirmed) >= {"id", "status", "status_name", "description", "created_at", "updated_by"}


# ---------------------------------------------------------------- ETA


def test_eta_before_a_courier_comes_from_preparation(alice, customer, menu):
    order = place_order(customer, menu["pizza"])

    body = alice.get(f"/api/orders/{order.pk}/eta/").json()

    assert body["basis"] == "preparation"
    assert body["estimated_delivery_time"] == order.estimated_delivery_at.isoformat().replace("+00:00", "Z")
    assert 20 <= body["current_eta_minutes"] <= 35
    assert body["delivery_person_location"] is None
    assert body["customer_location"] == {"latitude": "37.787000", "longitude": "-122.396000"}


def test_eta_out_for_delivery_comes_from_the_couriers_position(alice, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    # The courier is about 2.4 km from the customer: 6 minutes' ride plus 5 for the handoff.
    CourierProfile.objects.filter(user=courier_user).update(
        latitude=Decimal("37.766000"), longitude=Decimal("-122.410000"), location_updated_at=timezone.now()
    )

    body = alice.get(f"/api/orders/{order.pk}/eta/").json()

    assert body["status"] == "OUT_FOR_DELIVERY"
    assert body["basis"] == "courier_position"
    assert body["current_eta_minutes"] in (11, 12)
    assert body["delivery_person_location"]["latitude"] == "37.766000"

    CourierProfile.objects.filter(user=courier_user).update(
        latitude=Decimal("37.787000"), longitude=Decimal("-122.396000")
    )
    assert alice.get(f"/api/orders/{order.pk}/eta/").json()["current_eta_minutes"] == 5


def test_eta_of_an_assigned_order_waits_for_the_kitchen(alice, customer, staff_user, courier_user, menu):
    order = advance(place_order(customer, menu["pizza"]), staff_user, OrderStatus.RESTAURANT_CONFIRMED)
    assign(order, courier_user)
    Order.objects.filter(pk=order.pk).update(estimated_ready_at=timezone.now() + timedelta(minutes=40))

    body = alice.get(f"/api/orders/{order.pk}/eta/").json()

    # Ready in 40 minutes, then 2.6 km to the customer (6 min) and the handoff (5 min).
    assert body["basis"] == "courier_position"
    assert body["current_eta_minutes"] in (51, 52)


def test_eta_of_finished_orders(alice, kitchen, customer, menu):
    cancelled = place_order(customer, menu["pizza"])
    alice.post(f"/api/orders/{cancelled.pk}/cancel/", {}, format="json")

    body = alice.get(f"/api/orders/{cancelled.pk}/eta/").json()

    assert body["basis"] == "none"
    assert body["estimated_delivery_time"] is None and body["current_eta_minutes"] is None


def test_eta_of_someone_elses_order_is_404(carol, customer, menu):
    problem(
        carol.get(f"/api/orders/{place_order(customer, menu['pizza'], choices=[menu['small']]).pk}/eta/"),
        404,
        "order_not_found",
    )
    problem(carol.get(f"/api/orders/{uuid.uuid4()}/eta/"), 404, "order_not_found")
