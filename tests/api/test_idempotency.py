from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from core import idempotency
from core.idempotency import request_fingerprint
from core.models import IdempotencyRecord, IdempotencyState
from core.services import idempotency_purge_expired
from delivery.models import HandoffCode
from orders.models import HandoffPurpose, Order, OrderStatus, TrackingEvent
from tests.api.support import order_body, problem
from tests.factories import advance, handoff_code, place_order, to_out_for_delivery, to_ready

pytestmark = pytest.mark.django_db


def post(client, path, body=None, key="key-1"):
    return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def reserve(user, path: str, *, created_at) -> IdempotencyRecord:
    """The reservation a first request with key-1 and an empty body holds while it runs."""
    return IdempotencyRecord.objects.create(
        user=user, key="key-1", method="POST", path=path, body_hash=request_fingerprint(b"{}"), created_at=created_at
    )


def test_same_key_and_body_replays_the_first_answer_without_acting_again(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"

    first = post(kitchen, path, {"estimated_prep_time": 15})
    events = TrackingEvent.objects.filter(order=order).count()
    second = post(kitchen, path, {"estimated_prep_time": 15})

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert TrackingEvent.objects.filter(order=order).count() == events


def test_without_a_key_a_repeat_acts_again(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"

    assert kitchen.post(path, {}, format="json").status_code == 200
    problem(kitchen.post(path, {}, format="json"), 400, "invalid_transition")


def test_placing_an_order_twice_with_one_key_places_it_once(alice, menu):
    first = post(alice, "/api/orders/", order_body(menu), key="checkout-42")
    second = post(alice, "/api/orders/", order_body(menu), key="checkout-42")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Order.objects.count() == 1


def test_key_order_and_spacing_of_the_body_do_not_matter():
    assert request_fingerprint(b'{"a": 1, "b": [1, 2]}') == request_fingerprint(b'{"b":[1,2],"a":1}')
    assert request_fingerprint(b"") == request_fingerprint(b"{}")
    assert request_fingerprint(b'{"a": 1}') != request_fingerprint(b'{"a": 2}')


def test_same_key_with_another_body_is_422(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    post(kitchen, path, {"estimated_prep_time": 15})

    problem(post(kitchen, path, {"estimated_prep_time": 30}), 422, "idempotency_key_reused")
    assert Order.objects.get(pk=order.pk).estimated_prep_minutes == 15


@pytest.mark.parametrize("second_if_match", ["", '"not-a-version"', "7", None])
def test_same_key_under_another_if_match_is_422_not_the_first_answer(kitchen, customer, menu, second_if_match):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    etag = kitchen.get(f"/api/orders/{order.pk}/status/")["ETag"]
    assert post_if_match(kitchen, path, etag).status_code == 200

    problem(post_if_match(kitchen, path, second_if_match), 422, "idempotency_key_reused")
    replayed = post_if_match(kitchen, path, etag)
    assert replayed.status_code == 200
    assert replayed["Idempotent-Replayed"] == "true"


def test_a_key_first_sent_without_if_match_is_refused_with_an_empty_one(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    assert post(kitchen, path).status_code == 200

    problem(post_if_match(kitchen, path, ""), 422, "idempotency_key_reused")
    assert post(kitchen, path)["Idempotent-Replayed"] == "true"


def post_if_match(client, path, if_match, key="key-1"):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_same_key_on_another_endpoint_is_422(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    post(kitchen, f"/api/restaurants/orders/{order.pk}/confirm/")

    problem(post(kitchen, f"/api/restaurants/orders/{order.pk}/start-preparing/"), 422, "idempotency_key_reused")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESTAURANT_CONFIRMED


def test_a_request_while_the_first_is_running_is_409(kitchen, staff_user, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    reserve(staff_user, path, created_at=timezone.now())

    problem(post(kitchen, path), 409, "idempotency_in_progress")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ORDER_PLACED


def test_a_reservation_abandoned_by_a_crashed_worker_is_taken_over(kitchen, staff_user, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    reserve(staff_user, path, created_at=timezone.now() - timedelta(minutes=10))

    assert post(kitchen, path).status_code == 200
    assert IdempotencyRecord.objects.get().state == IdempotencyState.COMPLETED


def test_refusals_are_replayed_too(alice, customer, staff_user, menu):
    order = advance(
        place_order(customer, menu["pizza"]),
        staff_user,
        OrderStatus.RESTAURANT_CONFIRMED,
        OrderStatus.PREPARING,
    )
    path = f"/api/orders/{order.pk}/cancel/"

    first = post(alice, path)
    second = post(alice, path)

    problem(first, 400, "invalid_transition")
    problem(second, 400, "invalid_transition")
    assert second["Idempotent-Replayed"] == "true" and second.content == first.content


def test_invalid_input_releases_the_key_for_the_corrected_request(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"

    problem(post(kitchen, path, {"estimated_prep_time": "soon"}), 400, "validation_error")
    corrected = post(kitchen, path, {"estimated_prep_time": 10})

    assert corrected.status_code == 200 and "Idempotent-Replayed" not in corrected


def test_keys_expire_after_24_hours(kitchen, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/restaurants/orders/{order.pk}/confirm/"
    post(kitchen, path)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    problem(post(kitchen, path), 400, "invalid_transition")  # acted on again, not replayed
    assert idempotency_purge_expired(now=timezone.now() + timedelta(hours=25)) == 1


def test_keys_belong_to_their_user(alice, carol, menu):
    post(alice, "/api/orders/", order_body(menu), key="shared")
    post(carol, "/api/orders/", order_body(menu), key="shared")

    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["", " ", "x" * 256])
def test_unusable_keys_are_400(alice, menu, key):
    errors = problem(post(alice, "/api/orders/", order_body(menu), key=key), 400, "validation_error")["errors"]

    assert "Idempotency-Key" in errors
    assert not Order.objects.exists()


def test_refusals_before_the_action_are_not_remembered(client_for, alice, customer, menu):
    order = place_order(customer, menu["pizza"])
    path = f"/api/orders/{order.pk}/accept/"

    problem(post(alice, path), 403, "not_a_courier")

    assert not IdempotencyRecord.objects.exists()
    problem(post(client_for(None), path), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("who", "path_template", "body"),
    [
        ("alice", "/api/orders/{id}/cancel/", {"reason": "x"}),
        ("alice", "/api/orders/{id}/status/", {"status_code": "CANCELLED"}),
        ("kitchen", "/api/restaurants/orders/{id}/reject/", {"reason": "closed"}),
        ("kitchen", "/api/restaurants/orders/{id}/cancel/", {"reason": "closed"}),
    ],
)
def test_every_action_honours_keys(request, customer, menu, who, path_template, body):
    client = request.getfixturevalue(who)
    order = place_order(customer, menu["pizza"])
    path = path_template.format(id=order.pk)

    first = post(client, path, body)
    second = post(client, path, body)

    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert TrackingEvent.objects.filter(order=order).count() == 2


def test_location_reports_honour_keys(dave):
    position = {"latitude": 37.7, "longitude": -122.4}

    first = post(dave, "/api/delivery/location/", position, key="ping-1")
    second = post(dave, "/api/delivery/location/", position, key="ping-1")

    assert second.content == first.content and second["Idempotent-Replayed"] == "true"


def test_an_action_whose_answer_could_not_be_kept_is_not_carried_out(alice, menu, settings, monkeypatch):
    """The action and its remembered answer commit together: when the second cannot be written (as
    when the process dies first), neither is, and the retry places the order once."""

    def lost(**kwargs):
        raise RuntimeError("the process died before the commit")

    monkeypatch.setattr(idempotency, "idempotency_complete", lost)
    with pytest.raises(RuntimeError):
        post(alice, "/api/orders/", order_body(menu), key="checkout-7")
    assert Order.objects.count() == 0
    assert IdempotencyRecord.objects.get().state == IdempotencyState.IN_PROGRESS

    monkeypatch.undo()
    settings.ORDERFLOW_IDEMPOTENCY_LOCK_SECONDS = 0  # the reservation is taken over at once
    retried = post(alice, "/api/orders/", order_body(menu), key="checkout-7")
    assert retried.status_code == 201
    assert Order.objects.count() == 1
    assert post(alice, "/api/orders/", order_body(menu), key="checkout-7").json()["id"] == retried.json()["id"]


def test_a_wrong_handoff_code_sent_with_a_key_still_uses_up_an_attempt(dave, customer, staff_user, courier_user, menu):
    order = to_out_for_delivery(to_ready(place_order(customer, menu["pizza"]), staff_user), courier_user)
    right = handoff_code(order.pk, HandoffPurpose.DELIVERY)
    path = f"/api/orders/{order.pk}/complete-delivery/"
    code = HandoffCode.objects.get(order=order, purpose=HandoffPurpose.DELIVERY)

    wrong = {"otp": "000000" if right != "000000" else "111111"}
    refused = post(dave, path, wrong, key="hand-1")
    problem(refused, 400, "otp_invalid")
    code.refresh_from_db()
    assert code.attempts_left == django_settings.ORDERFLOW_OTP_MAX_ATTEMPTS - 1
    assert post(dave, path, wrong, key="hand-1").content == refused.content
    code.refresh_from_db()
    assert code.attempts_left == django_settings.ORDERFLOW_OTP_MAX_ATTEMPTS - 1
