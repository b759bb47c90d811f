"""A client written only from the order-process API document (docs/contracts/order-process.md), against a live server.

Every endpoint the document lists, called the way its "Python/Django Example" calls them
(requests, a Bearer token, JSON bodies), and every field of each example response compared by
name, type and casing with the example itself, copied below from the document's text. Fields
of our own beside them are allowed: the native API is a superset of the document. Also from the
document's text: "Handle 400: Invalid status transition", verifying a code ("13. Verify OTP")
then picking up with it ("8. Delivery Partner: Pickup Order"), and the "Real-Time Updates"
socket with `order.status_changed`.

Orders are placed in this process (checkout is before the document starts); everything else
goes over HTTP and WebSocket to a daphne process serving config.asgi (tests/tracking/live.py).
"""

import re
import time
from datetime import datetime

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from orders.models import HandoffPurpose, Order
from tests.factories import handoff_code, place_order
from tests.tracking.live import LiveSocket, SocketLoop

pytestmark = [pytest.mark.integration, pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

# ---------------------------------------------------------------- the document's examples, verbatim

LIST = object()  # the document writes "items": [...]

DETAIL = {  # "1. Get Order Details"
    "id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "user": "990e8400-e29b-41d4-a716-446655440000",
    "user_name": "John Doe",
    "vendor": "550e8400-e29b-41d4-a716-446655440000",
    "vendor_name": "Pizza Palace",
    "order_status": "ORDER_CONFIRMED",
    "order_status_name": "Order Confirmed",
    "order_status_code": "ORDER_CONFIRMED",
    "delivery_status": "assigned",
    "delivery_person": "aa0e8400-e29b-41d4-a716-446655440000",
    "delivery_person_name": "Delivery Person",
    "delivery_address": {"id": 1, "title": "Home", "address_line_1": "123 Main Street"},
    "subtotal": "748.00",
    "delivery_fee": "25.00",
    "tax_amount": "37.40",
    "total_amount": "810.40",
    "payment_method": "cod",
    "payment_status": "pending",
    "order_placed_at": "2024-01-15T10:30:00Z",
    "estimated_delivery_time": "2024-01-15T12:15:00Z",
    "items": LIST,
    "customer_latitude": "19.076000",
    "customer_longitude": "72.877700",
    "restaurant_latitude": "19.082000",
    "restaurant_longitude": "72.880000",
}
LIST_PAGE = {  # "2. List Orders"
    "count": 10,
    "next": None,
    "previous": None,
    "results": [
        {
            "id": "880e8400-e29b-41d4-a716-446655440000",
            "order_number": "ORD12345678",
            "order_status": "ORDER_CONFIRMED",
            "total_amount": "810.40",
            "order_placed_at": "2024-01-15T10:30:00Z",
        }
    ],
}
STATUS_CHANGED = {  # "3. Update Order Status (Generic)"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "previous_status": "ORDER_PLACED",
    "new_status": "ORDER_CONFIRMED",
    "status_name": "Order Confirmed",
    "tracking_id": "tracking-uuid",
    "message": "Order status updated successfully",
}
CONFIRMED = {  # "4. Restaurant: Confirm Order"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "RESTAURANT_CONFIRMED",
    "estimated_ready_time": "2024-01-15T11:00:00Z",
    "message": "Order confirmed successfully",
}
PREPARING = {  # "5. Restaurant: Start Preparing"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "PREPARING",
    "message": "Order preparation started",
}
READY = {  # "6. Restaurant: Mark Ready for Pickup"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "READY_FOR_PICKUP",
    "ready_time": "2024-01-15T11:20:00Z",
    "message": "Order marked ready for pickup",
}
QUEUE = {  # "7. Restaurant: Get Order Queue"
    "count": 5,
    "orders": [
        {
            "id": "880e8400-e29b-41d4-a716-446655440000",
            "order_number": "ORD12345678",
            "order_status": "PREPARING",
            "total_amount": "810.40",
            "order_placed_at": "2024-01-15T10:30:00Z",
        }
    ],
}
PICKED_UP = {  # "8. Delivery Partner: Pickup Order"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "ORDER_PICKED_UP",
    "message": "Order picked up successfully",
}
DELIVERY_STARTED = {  # "9. Delivery Partner: Start Delivery"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "OUT_FOR_DELIVERY",
    "message": "Delivery started",
}
DELIVERED = {  # "10. Delivery Partner: Complete Delivery"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "DELIVERED",
    "actual_delivery_time": "2024-01-15T12:10:00Z",
    "message": "Order delivered successfully",
}
CANCELLED = {  # "11. Customer: Cancel Order"
    "success": True,
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "status": "CANCELLED",
    "refund_status": "pending",
    "message": "Order cancelled successfully",
}
OTP = {  # "12. Get Order OTP"
    "otp": "123456",
    "type": "delivery",
    "expires_at": "2024-01-15T12:30:00Z",
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
}
OTP_VERIFIED = {"success": True, "verified": True, "message": "OTP verified successfully"}  # "13. Verify OTP"
HISTORY = {  # "14. Get Order Status History"
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "history": [
        {
            "id": "tracking-uuid",
            "status": "ORDER_PLACED",
            "status_name": "Order Placed",
            "description": "Order placed by customer",
            "created_at": "2024-01-15T10:30:00Z",
            "updated_by": "Customer Name",
        }
    ],
}
ETA = {  # "15. Get Order ETA"
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "estimated_delivery_time": "2024-01-15T12:15:00Z",
    "current_eta_minutes": 25,
    "status": "OUT_FOR_DELIVERY",
    "delivery_person_location": {"latitude": "19.080000", "longitude": "72.879000"},
    "customer_location": {"latitude": "19.076000", "longitude": "72.877700"},
}
SOCKET_EVENT = {  # "Real-Time Updates", "Event Payload"
    "event_type": "order.status_changed",
    "order_id": "880e8400-e29b-41d4-a716-446655440000",
    "order_number": "ORD12345678",
    "previous_status": "ORDER_PLACED",
    "new_status": "ORDER_CONFIRMED",
    "status_name": "Order Confirmed",
    "timestamp": "2024-01-15T10:35:00Z",
    "updated_by": "Restaurant Name",
}

# ---------------------------------------------------------------- comparing an answer with an example

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_DECIMAL = re.compile(r"-?\d+\.(\d+)")
# Code words, whose casing is the contract: ORDER_CONFIRMED; pending, cod, order.status_changed.
_UPPER_WORD = re.compile(r"[A-Z][A-Z_]*")
_LOWER_WORD = re.compile(r"[a-z][a-z_.]*")


def like(actual, example, path="$") -> list[str]:
    """Where `actual` differs from the document's `example` in a field's presence, type or casing."""
    if example is LIST:
        return [] if isinstance(actual, list) else [f"{path}: a list, got {actual!r}"]
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: an object, got {actual!r}"]
        problems = []
        for key, value in example.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += like(actual[key], value, f"{path}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list) or not actual:
            return [f"{path}: a non-empty list, got {actual!r}"]
        return [problem for item in actual for problem in like(item, example[0], f"{path}[]")]
    if example is None or isinstance(example, bool):
        ok = actual is example if isinstance(example, bool) else True
        return [] if ok or isinstance(actual, bool) else [f"{path}: a boolean, got {actual!r}"]
    if isinstance(example, int):
        return [] if type(actual) is int else [f"{path}: an integer, got {actual!r}"]
    if not isinstance(actual, str):
        return [f"{path}: a string like {example!r}, got {actual!r}"]
    if _UUID.fullmatch(example) or example.startswith("tracking-uuid"):
        return [] if _UUID.fullmatch(actual) else [f"{path}: a UUID, got {actual!r}"]
    if _TIMESTAMP.match(example):
        try:
            datetime.fromisoformat(actual.replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: a timestamp, got {actual!r}"]
        return []
    decimal = _DECIMAL.fullmatch(example)
    if decimal:
        places = len(decimal.group(1))
        found = _DECIMAL.fullmatch(actual)
        return [] if found and len(found.group(1)) == places else [f"{path}: {places} decimals, got {actual!r}"]
    if example.isdigit():
        return [] if actual.isdigit() and len(actual) == len(example) else [f"{path}: digits, got {actual!r}"]
    if path.endswith(".order_number"):
        return []  # an identifier of its own shape: ours reads ORD-20240115-7K2M9Q
    if _UPPER_WORD.fullmatch(example):
        return [] if _UPPER_WORD.fullmatch(actual) else [f"{path}: an upper-case word like {example!r}, got {actual!r}"]
    if _LOWER_WORD.fullmatch(example):
        return [] if _LOWER_WORD.fullmatch(actual) else [f"{path}: a lower-case word like {example!r}, got {actual!r}"]
    return []  # free text: "John Doe", "Order Confirmed"


def assert_like(actual, example):
    problems = like(actual, example)
    assert not problems, problems


# ---------------------------------------------------------------- the document's client


class Client:
    """The document's `OrderAPI`/`RestaurantAPI` shape: a base URL, a Bearer token, JSON."""

    def __init__(self, base_url: str, user) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}", "Content-Type": "application/json"}

    def get(self, path, **params):
        return requests.get(f"{self.base_url}{path}", headers=self.headers, params=params, timeout=20)

    def post(self, path, body=None):
        return requests.post(f"{self.base_url}{path}", headers=self.headers, json=body, timeout=20)


def ok(response) -> dict:
    assert response.status_code == 200, (response.request.method, response.url, response.status_code, response.text)
    return response.json()


@pytest.fixture
def sockets():
    loop = SocketLoop()
    opened: list[LiveSocket] = []

    def open_socket(url: str) -> LiveSocket:
        socket = LiveSocket(loop, url)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        if socket.close_code is None:
            socket.close()
    loop.stop()


def test_every_endpoint_answers_like_the_documents_examples(
    server, sockets, customer, other_customer, staff_user, courier_user, menu
):
    alice, kitchen, dave = (Client(server.http, user) for user in (customer, staff_user, courier_user))
    order = place_order(customer, menu["pizza"])
    by_alias = place_order(customer, menu["pizza"])
    paid = place_order(customer, menu["pizza"], payment_method="online", paid=True)
    socket = sockets(f"{server.ws}/ws/orders/{order.pk}/?token={AccessToken.for_user(customer)}")
    socket.wait_for(lambda messages: messages and messages[0]["type"] == "snapshot")

    # 4. Confirm: the courier is assigned at once ("Triggers delivery partner assignment").
    confirmed = ok(kitchen.post(f"/api/restaurants/orders/{order.pk}/confirm/", {"estimated_prep_time": 20}))
    assert_like(confirmed, CONFIRMED)
    assert confirmed["status"] == "RESTAURANT_CONFIRMED"

    # 3. The generic status change with the document's alias, echoed back (the courier is busy now).
    body = {"status_code": "ORDER_CONFIRMED", "reason": "Restaurant confirmed order", "metadata": {}}
    changed = ok(kitchen.post(f"/api/orders/{by_alias.pk}/status/", body))
    assert_like(changed, STATUS_CHANGED)
    assert (changed["previous_status"], changed["new_status"]) == ("ORDER_PLACED", "ORDER_CONFIRMED")

    # 1. The detail, as the document's example shows it: confirmed, courier assigned (right after
    # the confirmation's commit: a client that reads at once may find it still unassigned).
    detail = ok(alice.get(f"/api/orders/{order.pk}/"))
    deadline = time.monotonic() + 10
    while detail["delivery_status"] != "assigned" and time.monotonic() < deadline:
        time.sleep(0.1)
        detail = ok(alice.get(f"/api/orders/{order.pk}/"))
    assert_like(detail, DETAIL)
    assert (detail["delivery_status"], detail["payment_status"], detail["payment_method"]) == (
        "assigned",
        "pending",
        "cod",
    )
    assert detail["user"] != str(customer.pk) and detail["delivery_person"] != str(courier_user.pk)
    assert ok(dave.get(f"/api/orders/{order.pk}/"))["delivery_person"] == detail["delivery_person"]  # stable

    # 2. The list, and its documented filters.
    assert_like(ok(alice.get("/api/orders/")), LIST_PAGE)
    assert_like(ok(alice.get("/api/orders/", status="ORDER_CONFIRMED", page=1, page_size=1)), LIST_PAGE)

    # 5, 6, 7: the kitchen.
    assert_like(ok(kitchen.post(f"/api/restaurants/orders/{order.pk}/start-preparing/")), PREPARING)
    assert_like(ok(kitchen.get("/api/restaurants/orders/queue/")), QUEUE)
    # "Handle 400: Invalid status transition": preparing is not yet ready to pick up.
    refused = dave.post(f"/api/orders/{order.pk}/pickup/", {"otp": "123456"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_transition"
    assert refused.json()["current_status"] == "PREPARING"
    assert_like(ok(kitchen.post(f"/api/restaurants/orders/{order.pk}/mark-ready/")), READY)

    # 12 then 13 then 8: the restaurant reads the pickup code, the courier verifies it, then picks up with it.
    pickup_code = ok(kitchen.get(f"/api/orders/{order.pk}/otp/", type="pickup"))
    assert_like(pickup_code, OTP)
    assert pickup_code["type"] == "pickup" and pickup_code["otp"] == handoff_code(order.pk, HandoffPurpose.PICKUP)
    wrong = "000000" if pickup_code["otp"] != "000000" else "111111"
    assert ok(dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": wrong, "type": "pickup"}))["verified"] is False
    verified = ok(dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": pickup_code["otp"], "type": "pickup"}))
    assert_like(verified, OTP_VERIFIED)
    assert ok(alice.get(f"/api/orders/{order.pk}/"))["order_status"] == "READY_FOR_PICKUP"  # verifying changes nothing
    assert_like(ok(dave.post(f"/api/orders/{order.pk}/pickup/", {"otp": pickup_code["otp"]})), PICKED_UP)

    # 9, 12 (the customer's delivery code, the default type), 15, 13, 10.
    assert_like(ok(dave.post(f"/api/orders/{order.pk}/start-delivery/")), DELIVERY_STARTED)
    delivery_code = ok(alice.get(f"/api/orders/{order.pk}/otp/"))
    assert_like(delivery_code, OTP)
    assert delivery_code["type"] == "delivery"
    eta = ok(alice.get(f"/api/orders/{order.pk}/eta/"))
    assert_like(eta, ETA)
    assert ok(dave.post(f"/api/orders/{order.pk}/otp/verify/", {"otp": delivery_code["otp"], "type": "delivery"}))[
        "verified"
    ]
    delivered = ok(
        dave.post(
            f"/api/orders/{order.pk}/complete-delivery/",
            {"otp": delivery_code["otp"], "delivery_notes": "Delivered to customer"},
        )
    )
    assert_like(delivered, DELIVERED)

    # 14. The history.
    history = ok(alice.get(f"/api/orders/{order.pk}/history/"))
    assert_like(history, HISTORY)
    assert history["history"][0]["status"] == "ORDER_PLACED"

    # 11. Cancelling a paid order: "Automatic refund initiated".
    cancelled = ok(alice.post(f"/api/orders/{paid.pk}/cancel/", {"reason": "Changed my mind"}))
    assert_like(cancelled, CANCELLED)
    assert cancelled["refund_status"] == "pending"

    # "Handle 404" and "Handle 403".
    assert Client(server.http, other_customer).get(f"/api/orders/{order.pk}/").status_code == 404
    assert alice.post(f"/api/restaurants/orders/{by_alias.pk}/start-preparing/").status_code == 403

    # "Real-Time Updates": order.status_changed for every status change, with the document's fields.
    messages = socket.wait_for(lambda ms: sum(m.get("new_status") == "DELIVERED" for m in ms) == 1)
    changes = [m for m in messages if m.get("event_type") == "order.status_changed"]
    assert [m["new_status"] for m in changes] == [
        "RESTAURANT_CONFIRMED",
        "PREPARING",
        "READY_FOR_PICKUP",
        "ORDER_PICKED_UP",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    for message in changes:
        assert_like(message, SOCKET_EVENT)
    assert "order.picked_up" in changes[3]["event_types"] and "order.delivered" in changes[5]["event_types"]
    assert socket.wait_closed() == 1000
    # "Reconnect: Implement automatic reconnection": after the final event, a snapshot and a close
    # of its own, which tells the client to stop.
    again = sockets(f"{server.ws}/ws/orders/{order.pk}/?token={AccessToken.for_user(customer)}")
    assert again.wait_closed() == 4410
    assert [(m["type"], m["status"], m["final"]) for m in again.messages] == [("snapshot", "DELIVERED", True)]
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"
