"""Whole orders walked through HTTP only, signed in with JWTs as the demo accounts are.

(The one step no user can make, an online payment succeeding, is the payment provider's
webhook; it is applied through its service here.)
"""

import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from payments.services import payment_record_result

pytestmark = pytest.mark.django_db


class Session:
    """A signed-in app: every call sends the bearer token and a fresh Idempotency-Key on POSTs."""

    def __init__(self, username: str):
        self.client = APIClient()
        tokens = self.client.post(
            "/api/auth/token/",
            {"username": username, "password": settings.ORDERFLOW_DEMO_PASSWORD},
            format="json",
        )
        assert tokens.status_code == 200, tokens.content
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")

    def get(self, path, params=None, status=200):
        response = self.client.get(path, params)
        assert response.status_code == status, response.content
        return response.json()

    def post(self, path, body=None, status=200):
        response = self.client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == status, response.content
        return response.json()


@pytest.fixture
def demo(customer, staff_user, courier_user):
    for user in (customer, staff_user, courier_user):
        user.set_password(settings.ORDERFLOW_DEMO_PASSWORD)
        user.save()
    return {"alice": Session("alice"), "pizza_staff": Session("pizza_staff"), "dave": Session("dave")}


def _order_from_the_menu(alice: Session, *, delivery_type: str, payment_method: str) -> dict:
    restaurant = alice.get("/api/restaurants/", {"search": "pizza"})["results"][0]
    menu = alice.get(f"/api/restaurants/{restaurant['id']}/menu/")
    pizza = next(item for item in menu["items"] if item["name"] == "Margherita")
    size = next(group for group in pizza["customization_groups"] if group["name"] == "Size")
    body = {
        "restaurant": restaurant["id"],
        "items": [{"menu_item": pizza["id"], "quantity": 2, "customizations": [size["choices"][1]["id"]]}],
        "delivery_type": delivery_type,
        "payment_method": payment_method,
    }
    if delivery_type == "delivery":
        body["delivery_address"] = {
            "street": "500 Howard Street",
            "city": "San Francisco",
            "postal_code": "94105",
            "latitude": 37.787,
            "longitude": -122.396,
        }
    return alice.post("/api/orders/", body, status=201)


def test_cash_delivery_order_from_placement_to_delivery(demo, menu):
    alice, kitchen, dave = demo["alice"], demo["pizza_staff"], demo["dave"]

    order = _order_from_the_menu(alice, delivery_type="delivery", payment_method="cod")
    order_id = order["id"]
    assert (
        order["order_status"] == "ORDER_PLACED" and order["total_amount"] == "35.47"
    )  # 2 x 15.00 + 2.48 tax + 2.99 delivery

    queue = kitchen.get("/api/restaurants/orders/queue/")
    assert [o["id"] for o in queue["orders"]] == [order_id]
    assert kitchen.post(f"/api/restaurants/orders/{order_id}/confirm/", {"estimated_prep_time": 15})["status"] == (
        "RESTAURANT_CONFIRMED"
    )

    dave.post("/api/delivery/availability/", {"online": True})
    dave.post("/api/delivery/location/", {"latitude": 37.7755, "longitude": -122.418})
    assert [o["id"] for o in dave.get("/api/orders/available/")["results"]] == [order_id]
    assert dave.post(f"/api/orders/{order_id}/accept/")["delivery_status"] == "assigned"
    assert dave.get("/api/orders/available/")["count"] == 0

    kitchen.post(f"/api/restaurants/orders/{order_id}/start-preparing/")
    assert alice.get("/api/orders/", {"tab": "to_ship"})["results"][0]["order_status"] == "PREPARING"
    kitchen.post(f"/api/restaurants/orders/{order_id}/mark-ready/")

    pickup_code = kitchen.get(f"/api/orders/{order_id}/otp/", {"type": "pickup"})["otp"]
    assert dave.post(f"/api/orders/{order_id}/pickup/", {"otp": pickup_code})["status"] == "ORDER_PICKED_UP"
    assert dave.post(f"/api/orders/{order_id}/start-delivery/")["status"] == "OUT_FOR_DELIVERY"
    assert alice.get("/api/orders/", {"tab": "to_receive"})["count"] == 1

    dave.post("/api/delivery/location/", {"latitude": 37.785, "longitude": -122.399})
    eta = alice.get(f"/api/orders/{order_id}/eta/")
    assert eta["basis"] == "courier_position" and eta["delivery_person_location"]["latitude"] == "37.785000"

    delivery_code = alice.get(f"/api/orders/{order_id}/otp/", {"type": "delivery"})["otp"]
    done = dave.post(
        f"/api/orders/{order_id}/complete-delivery/", {"otp": delivery_code, "delivery_notes": "Front door"}
    )
    assert done["status"] == "DELIVERED" and done["actual_delivery_time"]

    final = alice.get(f"/api/orders/{order_id}/", {"include": "history"})
    assert final["order_status"] == "DELIVERED"
    assert final["payment_status"] == "paid" and final["delivery_status"] == "delivered"
    assert [(e["event_type"], e["status"]) for e in final["history"]] == [
        ("order.placed", "ORDER_PLACED"),
        ("order.status_changed", "RESTAURANT_CONFIRMED"),
        ("order.assigned", "RESTAURANT_CONFIRMED"),
        ("order.status_changed", "PREPARING"),
        ("order.ready_for_pickup", "READY_FOR_PICKUP"),
        ("order.picked_up", "ORDER_PICKED_UP"),
        ("order.out_for_delivery", "OUT_FOR_DELIVERY"),
        ("order.delivered", "DELIVERED"),
    ]
    assert alice.get(f"/api/orders/{order_id}/status/")["sequence"] == 8
    assert alice.get("/api/orders/", {"tab": "completed"})["results"][0]["id"] == order_id


def test_self_pickup_order_from_placement_to_handover(demo, menu):
    alice, kitchen = demo["alice"], demo["pizza_staff"]

    order_id = _order_from_the_menu(alice, delivery_type="pickup", payment_method="cod")["id"]
    kitchen.post(f"/api/restaurants/orders/{order_id}/confirm/")
    kitchen.post(f"/api/restaurants/orders/{order_id}/start-preparing/")
    kitchen.post(f"/api/restaurants/orders/{order_id}/mark-ready/")
    assert alice.get("/api/orders/", {"tab": "to_receive"})["results"][0]["id"] == order_id

    counter_code = alice.get(f"/api/orders/{order_id}/otp/")["otp"]
    handed = kitchen.post(f"/api/restaurants/orders/{order_id}/handover/", {"otp": counter_code})

    assert handed["status"] == "DELIVERED" and handed["payment_status"] == "paid"
    assert alice.get(f"/api/orders/{order_id}/status/")["status"] == "DELIVERED"
    assert demo["dave"].get(f"/api/orders/{order_id}/", status=404)["code"] == "order_not_found"


def test_paid_online_order_cancelled_by_the_customer_is_refunded(demo, menu):
    alice, kitchen = demo["alice"], demo["pizza_staff"]

    order = _order_from_the_menu(alice, delivery_type="delivery", payment_method="online")
    order_id = order["id"]
    assert order["order_status"] == "PAYMENT_PENDING"
    assert alice.get("/api/orders/", {"tab": "to_pay"})["results"][0]["id"] == order_id
    assert kitchen.get("/api/restaurants/orders/queue/")["count"] == 0  # not the kitchen's until paid

    payment_record_result(order_id=order_id, succeeded=True, provider_reference="pi_test_1")
    assert alice.get(f"/api/orders/{order_id}/status/")["payment_status"] == "paid"
    assert kitchen.get("/api/restaurants/orders/queue/")["count"] == 1

    cancelled = alice.post(f"/api/orders/{order_id}/cancel/", {"reason": "Changed my mind"})
    assert cancelled["status"] == "CANCELLED" and cancelled["previous_status"] == "PAYMENT_SUCCESS"
    assert cancelled["refund_status"] == "pending"

    detail = alice.get(f"/api/orders/{order_id}/", {"include": "payments"})
    assert detail["refund"]["status"] == "pending" and detail["refund"]["amount"] == detail["total_amount"]
    assert alice.get("/api/orders/")["count"] == 0  # cancelled orders are left out by default
    assert alice.get("/api/orders/", {"tab": "cancelled"})["results"][0]["id"] == order_id
    assert kitchen.get("/api/restaurants/orders/queue/")["count"] == 0
