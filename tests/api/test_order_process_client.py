"""The order-process API's Python client ("Code Examples"), copied as published, against a live server.

Only its base URL and tokens are ours: the classes take them as arguments.
"""

import pytest
import requests

from tests.factories import place_order

# ---------------------------------------------------------------- the order-process API's client, verbatim


class OrderAPI:
    def __init__(self, base_url, token):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def get_order(self, order_id):
        url = f"{self.base_url}/api/orders/{order_id}/"
        response = requests.get(url, headers=self.headers)
        return response.json()

    def list_orders(self, **filters):
        url = f"{self.base_url}/api/orders/"
        response = requests.get(url, headers=self.headers, params=filters)
        return response.json()

    def cancel_order(self, order_id, reason):
        url = f"{self.base_url}/api/orders/{order_id}/cancel/"
        response = requests.post(url, headers=self.headers, json={"reason": reason})
        return response.json()

    def get_order_history(self, order_id):
        url = f"{self.base_url}/api/orders/{order_id}/history/"
        response = requests.get(url, headers=self.headers)
        return response.json()


class RestaurantAPI:
    def __init__(self, base_url, token):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def get_order_queue(self):
        url = f"{self.base_url}/api/restaurants/orders/queue/"
        response = requests.get(url, headers=self.headers)
        return response.json()

    def confirm_order(self, order_id, estimated_prep_time=20):
        url = f"{self.base_url}/api/restaurants/orders/{order_id}/confirm/"
        response = requests.post(url, headers=self.headers, json={"estimated_prep_time": estimated_prep_time})
        return response.json()

    def start_preparing(self, order_id):
        url = f"{self.base_url}/api/restaurants/orders/{order_id}/start-preparing/"
        response = requests.post(url, headers=self.headers)
        return response.json()

    def mark_ready(self, order_id):
        url = f"{self.base_url}/api/restaurants/orders/{order_id}/mark-ready/"
        response = requests.post(url, headers=self.headers)
        return response.json()


# ---------------------------------------------------------------- our side


def _token(base_url: str, username: str) -> str:
    response = requests.post(
        f"{base_url}/api/auth/token/", json={"username": username, "password": "pass-12345"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


@pytest.mark.django_db(transaction=True)
def test_the_order_process_python_client_gets_the_documented_answers(live_server, customer, staff_user, menu):
    first = place_order(customer, menu["pizza"])
    second = place_order(customer, menu["pizza"], delivery_type="pickup")
    order_api = OrderAPI(live_server.url, _token(live_server.url, "alice"))
    restaurant_api = RestaurantAPI(live_server.url, _token(live_server.url, "pizza_staff"))

    # "Usage" from the order-process API document: the customer reads the order's status...
    order = order_api.get_order(str(first.pk))
    assert order["order_status"] == "ORDER_PLACED"
    assert order["id"] == str(first.pk) and order["order_number"] == first.number
    assert order["vendor"] == str(first.restaurant_id) and order["user_name"]
    assert order["total_amount"] == str(first.total) and order["items"]

    # ...and the restaurant confirms everything in its queue.
    queue = restaurant_api.get_order_queue()
    assert queue["count"] == 2 and {o["id"] for o in queue["orders"]} == {str(first.pk), str(second.pk)}
    confirmations = [restaurant_api.confirm_order(order["id"], 20) for order in queue["orders"]]
    for confirmation in confirmations:
        assert confirmation["success"] is True
        assert confirmation["status"] == "RESTAURANT_CONFIRMED"
        assert confirmation["message"] == "Order confirmed successfully"
        assert confirmation["estimated_ready_time"]

    started = restaurant_api.start_preparing(str(first.pk))
    assert (started["status"], started["message"]) == ("PREPARING", "Order preparation started")
    ready = restaurant_api.mark_ready(str(first.pk))
    assert (ready["status"], ready["message"]) == ("READY_FOR_PICKUP", "Order marked ready for pickup")
    assert ready["ready_time"]

    listed = order_api.list_orders()
    assert set(listed) == {"count", "next", "previous", "results"} and listed["count"] == 2
    assert order_api.list_orders(status="ORDER_CONFIRMED")["results"][0]["id"] == str(second.pk)
    assert order_api.list_orders(status="READY_FOR_PICKUP", page_size=1)["count"] == 1

    cancelled = order_api.cancel_order(str(second.pk), "Changed my mind")
    assert cancelled == {
        "success": True,
        "order_id": str(second.pk),
        "order_number": second.number,
        "status": "CANCELLED",
        "previous_status": "RESTAURANT_CONFIRMED",
        "refund_status": "none",
        "message": "Order cancelled successfully",
    }
    assert order_api.list_orders(include_cancelled="true")["count"] == 2

    history = order_api.get_order_history(str(first.pk))
    assert history["order_id"] == str(first.pk) and history["order_number"] == first.number
    assert [entry["status"] for entry in history["history"]] == [
        "ORDER_PLACED",
        "RESTAURANT_CONFIRMED",
        "PREPARING",
        "READY_FOR_PICKUP",
    ]
    assert all({"id", "status_name", "description", "created_at", "updated_by"} <= set(e) for e in history["history"])

    # Refused requests answer the documented way too: 400 for a change the order's state forbids.
    too_late = order_api.cancel_order(str(first.pk), "Too slow")
    assert too_late["code"] == "invalid_transition" and too_late["current_status"] == "READY_FOR_PICKUP"
