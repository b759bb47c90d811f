"""The lean status poll served from Redis: never stale after a commit, never to someone refused.

Transactions really commit here (the snapshot is written after commit), on PostgreSQL and the
Redis of REDIS_URL; clients sign in with a real JWT, as apps do.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

import orders.api
import orders.polling
import tracking.selectors
from core.actors import Actor, ActorRole
from delivery.services import order_assign_courier
from orders import snapshots
from orders.models import Order, OrderStatus
from orders.services.transitions import order_transition
from orders.snapshots import SNAPSHOT_FIELDS, status_snapshot_read, status_snapshot_store
from restaurants.models import StaffMembership
from tests.factories import place_order
from tracking.selectors import order_watch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def poll(client, order, **headers):
    return client.get(f"/api/orders/{order.pk}/status/", **headers)


def test_placing_stores_the_snapshot_and_a_customer_poll_reads_no_table(customer, menu, django_assert_num_queries):
    order = place_order(customer, menu["pizza"])
    assert status_snapshot_read(order.pk)["status"]["sequence"] == 1
    client = signed_in(customer)
    with django_assert_num_queries(3):  # the first poll: the user, the relation, the row
        client.get(f"/api/orders/{order.pk}/status/")

    with django_assert_num_queries(0):  # then the JWT alone, and one round trip to Redis
        response = poll(client, order)

    assert response.status_code == 200
    assert response.json()["status"] == "ORDER_PLACED"
    assert response["ETag"] == f'"{order.pk}:1"'


def test_a_poll_right_after_each_committed_transition_shows_it(customer, staff_user, courier_user, menu, settings):
    settings.ORDERFLOW_COURIER_DISPATCH = "offers"  # the courier is assigned below, by the test
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    kitchen = signed_in(staff_user)
    etag = poll(client, order)["ETag"]

    for target in (OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING):
        assert (
            kitchen.post(f"/api/orders/{order.pk}/status/", {"status_code": target}, format="json").status_code == 200
        )
        answer = poll(client, order, HTTP_IF_NONE_MATCH=etag)
        assert answer.status_code == 200 and answer.json()["status"] == target
        etag = answer["ETag"]
        assert poll(client, order, HTTP_IF_NONE_MATCH=etag).status_code == 304

    order_assign_courier(order_id=order.pk, courier=courier_user, actor=Actor.system())
    body = poll(signed_in(courier_user), order).json()
    assert (body["delivery_status"], body["sequence"]) == ("assigned", 4)
    assert poll(client, order).json()["sequence"] == 4


def test_the_snapshot_matches_the_database_answer(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"])
    order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))
    cached = poll(signed_in(customer), order).json()

    row = Order.objects.filter(pk=order.pk).values(*SNAPSHOT_FIELDS).get()
    assert cached == snapshots.status_payload(row, lean=True)
    assert cached["status"] == "RESTAURANT_CONFIRMED" and cached["sequence"] == 2


def test_a_deactivated_user_is_refused_although_the_snapshot_names_them(customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    assert poll(client, order).status_code == 200

    customer.is_active = False
    customer.save(update_fields=["is_active"])

    refused = poll(client, order)
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"


def test_staff_whose_membership_is_revoked_are_refused(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"])
    kitchen = signed_in(staff_user)
    assert poll(kitchen, order).json()["status"] == "ORDER_PLACED"

    StaffMembership.objects.filter(user=staff_user).delete()

    response = poll(kitchen, order)
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


def test_someone_else_gets_404_with_the_snapshot_in_place(
    customer, other_customer, other_staff_user, courier_user, menu
):
    order = place_order(customer, menu["pizza"])
    assert status_snapshot_read(order.pk) is not None

    for stranger in (other_customer, other_staff_user, courier_user):
        response = poll(signed_in(stranger), order)
        assert response.status_code == 404 and response.json()["code"] == "order_not_found"


def test_an_offered_courier_and_an_admin_read_through_the_database(
    customer, staff_user, courier_user, admin_user, menu
):
    courier_user.courier_profile.is_online = True
    courier_user.courier_profile.save(update_fields=["is_online"])
    order = place_order(customer, menu["pizza"])
    order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))

    assert poll(signed_in(courier_user), order).json()["status"] == "RESTAURANT_CONFIRMED"
    assert poll(signed_in(admin_user), order).json()["status"] == "RESTAURANT_CONFIRMED"


def test_sweep_on_poll_holds_with_a_snapshot(customer, menu, settings):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    assert poll(client, order).json()["status"] == "ORDER_PLACED"

    later = timezone.now() + timedelta(seconds=settings.ORDERFLOW_CONFIRM_TIMEOUT_SECONDS + 1)
    with freeze_time(later):
        body = signed_in(customer).get(f"/api/orders/{order.pk}/status/").json()

    assert (body["status"], body["sequence"]) == ("CANCELLED", 2)
    assert status_snapshot_read(order.pk)["status"]["status"] == "CANCELLED"


def test_an_older_write_never_replaces_a_newer_snapshot(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"])
    old_row = Order.objects.filter(pk=order.pk).values(*SNAPSHOT_FIELDS).get()
    order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))

    status_snapshot_store(old_row)  # a slower process storing what it read before the transition

    assert status_snapshot_read(order.pk)["status"]["status"] == "RESTAURANT_CONFIRMED"
    assert poll(signed_in(customer), order).json()["sequence"] == 2


def test_a_missing_snapshot_is_read_from_the_database_and_stored(customer, menu):
    order = place_order(customer, menu["pizza"])
    snapshots._redis().delete(f"{snapshots.KEY_PREFIX}{order.pk}")

    assert poll(signed_in(customer), order).json()["status"] == "ORDER_PLACED"
    assert status_snapshot_read(order.pk)["status"]["sequence"] == 1


def test_polls_fall_back_to_the_database_when_redis_is_unreachable(customer, staff_user, menu, settings, monkeypatch):
    order = place_order(customer, menu["pizza"])
    monkeypatch.setattr(snapshots, "_client", None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    try:
        order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))
        body = poll(signed_in(customer), order).json()
    finally:
        monkeypatch.setattr(snapshots, "_client", None)

    assert (body["status"], body["sequence"]) == ("RESTAURANT_CONFIRMED", 2)
    assert set(body) == {
        "order_id",
        "order_number",
        "status",
        "payment_status",
        "delivery_status",
        "last_update",
        "estimated_delivery_time",
        "sequence",
    }


def test_the_fast_path_sends_what_the_full_path_sends(customer, menu, monkeypatch):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    poll(client, order)  # the user is now known to be active
    fast, fast_304 = poll(client, order), poll(client, order, HTTP_IF_NONE_MATCH=f'"{order.pk}:1"')

    monkeypatch.setattr(orders.polling, "status_response_from_snapshot", lambda *args: None)
    full, full_304 = poll(client, order), poll(client, order, HTTP_IF_NONE_MATCH=f'"{order.pk}:1"')

    assert fast.content == full.content
    assert (fast_304.status_code, full_304.status_code) == (304, 304)
    for header in (
        "Content-Type",
        "ETag",
        "Cache-Control",
        "Vary",
        "Allow",
        "Content-Security-Policy",
        "X-Frame-Options",
    ):
        assert fast[header] == full[header], header
        assert fast_304.get(header) == full_304.get(header), header


def test_a_remembered_token_is_refused_once_it_expires(customer, menu, settings):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    assert poll(client, order).status_code == 200 and poll(client, order).status_code == 200

    later = timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1)
    with freeze_time(later):
        refused = poll(client, order)

    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"


def test_polls_the_fast_path_leaves_alone_are_answered_the_same(customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    poll(client, order)

    with_query = client.get(f"/api/orders/{order.pk}/status/?format=json")
    assert with_query.status_code == 200 and with_query.json()["status"] == "ORDER_PLACED"
    browsable = client.get(f"/api/orders/{order.pk}/status/", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
    tampered = APIClient()
    tampered.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(customer)}x")
    assert poll(tampered, order).status_code == 401


# ---------------------------------------------------------------- a live socket's handshake


def _watch_from_database(user, order, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(tracking.selectors, "order_row_from_snapshot", lambda **kwargs: None)
        return order_watch(user=user, order_id=str(order.pk))


def test_a_socket_handshake_reads_the_snapshot_not_the_order(
    customer, staff_user, menu, monkeypatch, django_assert_num_queries
):
    order = place_order(customer, menu["pizza"])
    order_transition(order_id=order.pk, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))

    with django_assert_num_queries(0):
        watch = order_watch(user=customer, order_id=str(order.pk))
    with django_assert_num_queries(1):  # staff: is the membership still there
        kitchen = order_watch(user=staff_user, order_id=str(order.pk))

    assert watch.snapshot == _watch_from_database(customer, order, monkeypatch).snapshot
    assert watch.snapshot["status"] == "RESTAURANT_CONFIRMED" and watch.snapshot["sequence"] == 2
    assert (watch.actor.role, kitchen.actor.role) == (ActorRole.CUSTOMER, ActorRole.RESTAURANT)
    assert watch.deadline_at == _watch_from_database(customer, order, monkeypatch).deadline_at


def test_a_socket_handshake_refuses_whom_the_database_refuses(customer, other_customer, staff_user, admin_user, menu):
    order = place_order(customer, menu["pizza"])
    StaffMembership.objects.filter(user=staff_user).delete()

    assert order_watch(user=other_customer, order_id=str(order.pk)) is None
    assert order_watch(user=staff_user, order_id=str(order.pk)) is None
    admin = order_watch(user=admin_user, order_id=str(order.pk))  # from the database
    assert admin.actor.role == ActorRole.ADMIN and admin.snapshot["status"] == "ORDER_PLACED"
