from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from core.actors import Actor
from core.errors import Conflict, Forbidden, NotFound
from core.public_ids import user_public_id
from delivery.models import CourierOffer, OfferState
from delivery.selectors import courier_offers_open
from delivery.services import (
    courier_offer_accept,
    courier_offer_decline,
    courier_offer_next,
    courier_offers_renew,
    order_assign_courier,
)
from delivery.tasks import courier_offer_task, courier_offers_renew_task
from orders.models import DeliveryStatus, OrderStatus
from orders.services.transitions import order_cancel
from orders.visibility import orders_available_to_couriers
from tests.factories import CourierFactory, OrderFactory, move, place_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers_dispatch")]

START = "2026-03-01 12:00:00"

# The restaurant of the fixtures stands at 37.7749, -122.4194.
NEAR = (Decimal("37.776000"), Decimal("-122.419000"))  # ~130 m
MIDDLE = (Decimal("37.784000"), Decimal("-122.419000"))  # ~1 km
FAR = (Decimal("37.800000"), Decimal("-122.419000"))  # ~2.8 km
OUT_OF_RANGE = (Decimal("38.500000"), Decimal("-122.419000"))  # ~80 km


def courier_at(name, where, **kwargs):
    return CourierFactory(user__username=name, latitude=where[0], longitude=where[1], **kwargs).user


@pytest.fixture
def couriers(db):
    return {
        "near": courier_at("near", NEAR),
        "middle": courier_at("middle", MIDDLE),
        "far": courier_at("far", FAR),
    }


@pytest.fixture
def confirmed(customer, menu, staff_user):
    return move(
        place_order(customer, menu["salad"], quantity=2),
        OrderStatus.RESTAURANT_CONFIRMED,
        actor=Actor.restaurant(staff_user),
    )


@freeze_time(START)
def test_confirming_a_delivery_order_offers_it_to_the_nearest_courier(
    customer, menu, staff_user, couriers, django_capture_on_commit_callbacks
):
    order = place_order(customer, menu["salad"], quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))

    offer = CourierOffer.objects.get(order=order)
    assert offer.courier == couriers["near"]
    assert offer.state == OfferState.PENDING
    assert offer.expires_at == timezone.now() + timedelta(seconds=60)
    assert Decimal("0.05") < offer.distance_km < Decimal("0.3")
    assert list(courier_offers_open(courier=couriers["near"])) == [offer]
    assert order in orders_available_to_couriers(), "anyone may still claim it meanwhile"


def test_a_pickup_order_is_offered_to_nobody(customer, menu, staff_user, couriers, django_capture_on_commit_callbacks):
    order = place_order(customer, menu["salad"], quantity=2, delivery_type="pickup")

    with django_capture_on_commit_callbacks(execute=True):
        move(order, OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff_user))

    assert not CourierOffer.objects.exists()


def test_offering_again_while_the_offer_lasts_keeps_the_same_offer(confirmed, couriers):
    first = courier_offer_task(str(confirmed.pk))
    second = courier_offer_task(str(confirmed.pk))

    assert first == second
    assert CourierOffer.objects.filter(order=confirmed).count() == 1


@freeze_time(START)
def test_an_expired_offer_goes_to_the_next_nearest_courier_and_never_back(confirmed, couriers, settings):
    settings.ORDERFLOW_COURIER_OFFER_SECONDS = 30
    courier_offer_next(order_id=confirmed.pk)

    with freeze_time("2026-03-01 12:00:29"):
        assert courier_offers_renew() == 0
    with freeze_time("2026-03-01 12:00:30"):
        assert courier_offers_renew_task() == 1
    with freeze_time("2026-03-01 12:01:00"):
        courier_offers_renew()
    with freeze_time("2026-03-01 12:01:30"):
        courier_offers_renew()

    offers = list(CourierOffer.objects.filter(order=confirmed).order_by("offered_at"))
    assert [o.courier for o in offers] == [couriers["near"], couriers["middle"], couriers["far"]]
    assert [o.state for o in offers] == [OfferState.EXPIRED] * 3
    confirmed.refresh_from_db()
    assert confirmed.courier is None and confirmed in orders_available_to_couriers()


def test_busy_offline_far_and_already_considering_couriers_are_skipped(customer, menu, staff_user, confirmed, couriers):
    courier_at("offline", NEAR, is_online=False)
    courier_at("too_far", OUT_OF_RANGE)
    busy_order = OrderFactory(status=OrderStatus.PREPARING, courier=couriers["near"], restaurant=confirmed.restaurant)
    other = move(
        place_order(customer, menu["salad"], quantity=2),
        OrderStatus.RESTAURANT_CONFIRMED,
        actor=Actor.restaurant(staff_user),
    )
    courier_offer_next(order_id=other.pk)  # goes to "middle", now the nearest free one

    offer = courier_offer_next(order_id=confirmed.pk)

    assert busy_order.courier == couriers["near"]
    assert CourierOffer.objects.get(order=other).courier == couriers["middle"]
    assert offer.courier == couriers["far"]


def test_nobody_left_means_no_offer(confirmed):
    assert courier_offer_next(order_id=confirmed.pk) is None
    assert not CourierOffer.objects.exists()


def test_the_offered_courier_accepts_through_the_assignment_service(confirmed, couriers):
    offer = courier_offer_next(order_id=confirmed.pk)

    order = courier_offer_accept(offer_id=offer.pk, actor=Actor.courier(couriers["near"]))

    offer.refresh_from_db()
    assert (order.courier, order.delivery_status) == (couriers["near"], DeliveryStatus.ASSIGNED)
    assert offer.state == OfferState.ACCEPTED
    assert order not in orders_available_to_couriers()
    assert order.events.filter(event_type="order.assigned").count() == 1


def test_only_the_offered_courier_may_accept_and_only_while_it_lasts(confirmed, couriers, settings):
    offer = courier_offer_next(order_id=confirmed.pk)

    with pytest.raises(NotFound):
        courier_offer_accept(offer_id=offer.pk, actor=Actor.courier(couriers["far"]))
    with pytest.raises(NotFound):
        courier_offer_accept(offer_id="nonsense", actor=Actor.courier(couriers["near"]))
    with pytest.raises(Forbidden):
        courier_offer_accept(offer_id=offer.pk, actor=Actor.system())
    with freeze_time(timezone.now() + timedelta(seconds=settings.ORDERFLOW_COURIER_OFFER_SECONDS)):
        with pytest.raises(Conflict):
            courier_offer_accept(offer_id=offer.pk, actor=Actor.courier(couriers["near"]))


def test_someone_else_claiming_the_order_withdraws_the_offer(confirmed, couriers, django_capture_on_commit_callbacks):
    offer = courier_offer_next(order_id=confirmed.pk)

    with django_capture_on_commit_callbacks(execute=True):
        order_assign_courier(order_id=confirmed.pk, courier=couriers["far"], actor=Actor.courier(couriers["far"]))
    with pytest.raises(Conflict):
        courier_offer_accept(offer_id=offer.pk, actor=Actor.courier(couriers["near"]))

    offer.refresh_from_db()
    assert offer.state == OfferState.WITHDRAWN
    confirmed.refresh_from_db()
    assert confirmed.courier == couriers["far"]


def test_cancelling_the_order_withdraws_the_offer(confirmed, couriers, customer, django_capture_on_commit_callbacks):
    offer = courier_offer_next(order_id=confirmed.pk)

    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=confirmed.pk, actor=Actor.customer(customer), reason="")

    offer.refresh_from_db()
    assert offer.state == OfferState.WITHDRAWN


def test_a_declined_offer_goes_to_the_next_courier_at_once(confirmed, couriers, django_capture_on_commit_callbacks):
    offer = courier_offer_next(order_id=confirmed.pk)

    with django_capture_on_commit_callbacks(execute=True):
        courier_offer_decline(offer_id=offer.pk, actor=Actor.courier(couriers["near"]))

    offer.refresh_from_db()
    assert offer.state == OfferState.DECLINED
    assert CourierOffer.objects.get(order=confirmed, state=OfferState.PENDING).courier == couriers["middle"]


def test_a_courier_coming_online_later_is_offered_waiting_orders(confirmed):
    assert courier_offers_renew() == 0

    late = courier_at("late", MIDDLE)

    assert courier_offers_renew() == 1
    assert CourierOffer.objects.get(order=confirmed).courier == late


# ---------------------------------------------------------------- the courier's API


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_courier_lists_their_open_offers_over_the_api(confirmed, couriers):
    offer = courier_offer_next(order_id=confirmed.pk)

    mine = api_as(couriers["near"]).get("/api/delivery/offers/")
    theirs = api_as(couriers["far"]).get("/api/delivery/offers/")

    assert mine.status_code == 200
    assert [(row["offer_id"], row["order_id"], row["state"]) for row in mine.json()] == [
        (offer.pk, str(confirmed.pk), OfferState.PENDING)
    ]
    assert mine.json()[0]["order_number"] == confirmed.number
    assert theirs.status_code == 200 and theirs.json() == []


def test_accepting_an_offer_over_the_api_assigns_the_order(confirmed, couriers):
    offer = courier_offer_next(order_id=confirmed.pk)

    response = api_as(couriers["near"]).post(
        f"/api/delivery/offers/{offer.pk}/accept/", headers={"Idempotency-Key": "accept-1"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["delivery_person"] == str(user_public_id(couriers["near"].pk))
    offer.refresh_from_db()
    confirmed.refresh_from_db()
    assert (offer.state, confirmed.courier) == (OfferState.ACCEPTED, couriers["near"])
    again = api_as(couriers["near"]).post(
        f"/api/delivery/offers/{offer.pk}/accept/", headers={"Idempotency-Key": "accept-1"}
    )
    assert (again.status_code, again.json()) == (200, response.json())
    assert confirmed.events.filter(event_type="order.assigned").count() == 1


def test_declining_an_offer_over_the_api_offers_it_to_the_next_courier(
    confirmed, couriers, django_capture_on_commit_callbacks
):
    offer = courier_offer_next(order_id=confirmed.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(couriers["near"]).post(f"/api/delivery/offers/{offer.pk}/decline/")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == OfferState.DECLINED
    assert CourierOffer.objects.get(order=confirmed, state=OfferState.PENDING).courier == couriers["middle"]


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_only_the_offered_courier_may_answer_over_the_api(confirmed, couriers, customer, answer):
    offer = courier_offer_next(order_id=confirmed.pk)

    by_customer = api_as(customer).post(f"/api/delivery/offers/{offer.pk}/{answer}/")
    by_other = api_as(couriers["far"]).post(f"/api/delivery/offers/{offer.pk}/{answer}/")
    anonymous = APIClient().post(f"/api/delivery/offers/{offer.pk}/{answer}/")

    assert (by_customer.status_code, by_customer.json()["code"]) == (403, "not_a_courier")
    assert (by_other.status_code, by_other.json()["code"]) == (404, "offer_not_found")
    assert anonymous.status_code == 401
    offer.refresh_from_db()
    assert offer.state == OfferState.PENDING


def test_a_customer_may_not_list_offers(customer):
    response = api_as(customer).get("/api/delivery/offers/")

    assert (response.status_code, response.json()["code"]) == (403, "not_a_courier")


def test_a_closed_offer_is_a_conflict_over_the_api(confirmed, couriers):
    offer = courier_offer_next(order_id=confirmed.pk)
    courier_offer_decline(offer_id=offer.pk, actor=Actor.courier(couriers["near"]))

    response = api_as(couriers["near"]).post(f"/api/delivery/offers/{offer.pk}/accept/")

    assert (response.status_code, response.json()["code"]) == (409, "offer_closed")
