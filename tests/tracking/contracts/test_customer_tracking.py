"""The customer tracking API: its REST reads against the document's examples (same keys, same
types), its errors, and its SignalR hub speaking the JSON hub protocol on the real ASGI app."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from config.asgi import application
from orders.models import OrderStatus
from tests import factories
from tests.factories import place_order
from tests.tracking.conftest import run_async, token_for
from tracking.contracts.customer_tracking_hub import RECORD_SEPARATOR

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async

STATUS_EXAMPLE = {
    "orderId": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "status": "Preparing",
    "lastUpdateTimestamp": "2025-09-27T18:25:43Z",
    "estimatedDeliveryTime": "2025-09-27T18:55:00Z",
}
ORDER_EXAMPLE_KEYS = {
    "orderId": str,
    "orderNumber": str,
    "customerId": str,
    "restaurantId": str,
    "status": str,
    "placementTimestamp": str,
    "lastUpdateTimestamp": str,
    "estimatedDeliveryTime": (str, type(None)),
    "actualDeliveryTime": (str, type(None)),
    "currency": str,
    "subtotalAmount": float,
    "discountAmount": float,
    "deliveryFeeAmount": float,
    "tipAmount": float,
    "taxAmount": float,
    "totalAmount": float,
    "appliedCouponId": type(None),
    "sourceTeamCartId": type(None),
    "deliveryAddress_Street": str,
    "deliveryAddress_City": str,
    "deliveryAddress_State": str,
    "deliveryAddress_Country": str,
    "deliveryAddress_PostalCode": str,
    "items": list,
}
ITEM_KEYS = {
    "orderItemId": str,
    "menuItemId": str,
    "name": str,
    "quantity": int,
    "unitPriceAmount": float,
    "lineItemTotalAmount": float,
    "customizations": list,
}
SUMMARY_KEYS = {
    "orderId": str,
    "orderNumber": str,
    "status": str,
    "placementTimestamp": str,
    "restaurantId": str,
    "customerId": str,
    "totalAmount": float,
    "totalCurrency": str,
    "itemCount": int,
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_shape(body: dict, shape: dict) -> None:
    assert set(body) == set(shape), set(body) ^ set(shape)
    for key, kind in shape.items():
        assert isinstance(body[key], kind), (key, body[key])


def test_lean_status_has_the_documented_fields(customer, menu):
    order = place_order(customer, menu["pizza"])
    body = client_for(customer).get(f"/api/v1/orders/{order.pk}/status").json()
    assert set(body) == set(STATUS_EXAMPLE)
    assert body["orderId"] == str(order.pk) and body["status"] == "Placed"
    assert body["lastUpdateTimestamp"].endswith("Z") and len(body["lastUpdateTimestamp"]) == 20


def test_detail_and_history_have_the_documented_fields(customer, staff_user, menu):
    order = place_order(customer, menu["pizza"])
    factories.confirm(order.pk, staff_user)
    factories.start_preparing(order.pk, staff_user)
    body = client_for(customer).get(f"/api/v1/orders/{order.pk}").json()
    assert set(body) == {"order"}
    assert_shape(body["order"], ORDER_EXAMPLE_KEYS)
    assert body["order"]["status"] == "Preparing" and body["order"]["orderNumber"] == order.number
    assert body["order"]["totalAmount"] == float(order.total)
    item = body["order"]["items"][0]
    assert_shape(item, ITEM_KEYS)
    assert item["customizations"] == [{"groupName": "Size", "choiceName": "Small", "priceAdjustmentAmount": 0.0}]
    # Staff of the restaurant read it too.
    assert client_for(staff_user).get(f"/api/v1/orders/{order.pk}").status_code == 200


def test_my_orders_pages_by_number_newest_first(customer, other_customer, menu):
    orders = [place_order(customer, menu["pizza"]) for _ in range(3)]
    place_order(other_customer, menu["pizza"])
    client = client_for(customer)
    first = client.get("/api/v1/orders/my?pageNumber=1&pageSize=2").json()
    assert set(first) == {"items", "pageNumber", "totalPages", "totalCount"}
    assert (first["pageNumber"], first["totalPages"], first["totalCount"]) == (1, 2, 3)
    assert [o["orderId"] for o in first["items"]] == [str(orders[2].pk), str(orders[1].pk)]
    assert_shape(first["items"][0], SUMMARY_KEYS)
    assert first["items"][0]["itemCount"] == 1
    second = client.get("/api/v1/orders/my", {"pageNumber": 2, "pageSize": 2}).json()
    assert [o["orderId"] for o in second["items"]] == [str(orders[0].pk)]
    assert client.get("/api/v1/orders/my").json()["totalCount"] == 3  # default page size 10


@pytest.mark.parametrize(
    ("path", "code"),
    [("/api/v1/orders/{id}/status", "GetOrderStatus.NotFound"), ("/api/v1/orders/{id}", "GetOrderById.NotFound")],
)
def test_someone_elses_order_is_the_documented_problem(path, code, customer, other_customer, courier_user, menu):
    order = place_order(customer, menu["pizza"])
    for user in (other_customer, courier_user):
        response = client_for(user).get(path.format(id=order.pk))
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["title"] == code and body["code"] == code and body["status"] == 404
    missing = client_for(customer).get(path.format(id="not-an-id"))
    assert missing.status_code == 404 and missing.json()["code"] == code


def test_bad_page_numbers_and_unknown_parameters_are_400_problems(customer):
    client = client_for(customer)
    bad = client.get("/api/v1/orders/my?pageNumber=0")
    assert bad.status_code == 400 and bad.json()["errors"] == {
        "pageNumber": ["Must be one whole number of at least 1."]
    }
    unknown = client.get("/api/v1/orders/my?page=2")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_query_parameter"
    assert "page" in unknown.json()["errors"]


def test_anonymous_is_401(customer, menu):
    order = place_order(customer, menu["pizza"])
    assert APIClient().get(f"/api/v1/orders/{order.pk}/status").status_code == 401


# ---------------------------------------------------------------- the SignalR hub, in process


def negotiate(user, version: int = 1) -> dict:
    response = APIClient().post(
        f"/hubs/customer-orders/negotiate?negotiateVersion={version}", HTTP_AUTHORIZATION=f"Bearer {token_for(user)}"
    )
    assert response.status_code == 200, response.content
    return response.json()


class Hub:
    """A SignalR JSON-protocol client over Channels' test communicator."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.pending: list[dict] = []

    async def send(self, message: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(message) + RECORD_SEPARATOR)

    async def receive(self, timeout: float = 3) -> dict:
        while not self.pending:
            output = await self.communicator.receive_output(timeout=timeout)
            if output["type"] == "websocket.close":
                return {"closed": output.get("code")}
            text = output["text"]
            assert text.endswith(RECORD_SEPARATOR), text
            self.pending += [json.loads(part) for part in text.split(RECORD_SEPARATOR)[:-1]]
        return self.pending.pop(0)

    async def invoke(self, invocation_id: str, target: str, *arguments) -> dict:
        await self.send({"type": 1, "invocationId": invocation_id, "target": target, "arguments": list(arguments)})
        return await self.receive()


async def open_hub(user, *, token=True) -> Hub:
    negotiated = await db(negotiate)(user)
    path = f"/hubs/customer-orders?id={negotiated['connectionToken']}"
    if token:
        path += f"&access_token={token_for(user)}"
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect()
    assert connected
    hub = Hub(communicator)
    await hub.send({"protocol": "json", "version": 1})
    assert await hub.receive() == {}
    return hub


def test_negotiate_offers_websockets_with_a_connection_token(customer):
    body = negotiate(customer)
    assert body["negotiateVersion"] == 1 and body["connectionToken"] and body["connectionId"]
    assert body["availableTransports"] == [{"transport": "WebSockets", "transferFormats": ["Text"]}]
    legacy = negotiate(customer, version=0)
    assert legacy["negotiateVersion"] == 0 and "connectionToken" not in legacy
    assert APIClient().post("/hubs/customer-orders/negotiate?negotiateVersion=1").status_code == 401


@run_async
async def test_the_hub_sends_each_change_once_as_its_documented_method(customer, staff_user, courier_user, menu):
    order = await db(place_order)(customer, menu["pizza"])
    hub = await open_hub(customer)
    assert await hub.invoke("1", "SubscribeToOrder", str(order.pk)) == {"type": 3, "invocationId": "1", "result": None}

    await db(factories.confirm)(order.pk, staff_user)  # the default dispatch assigns the courier too
    changed = await hub.receive()
    assert changed["type"] == 1 and changed["target"] == "ReceiveOrderStatusChanged"
    dto = changed["arguments"][0]
    assert set(dto) == {
        "orderId",
        "orderNumber",
        "status",
        "restaurantId",
        "lastUpdateTimestamp",
        "estimatedDeliveryTime",
        "actualDeliveryTime",
        "deliveredAt",
        "occurredOnUtc",
        "eventId",
    }
    assert (dto["orderId"], dto["status"], dto["restaurantId"]) == (str(order.pk), "Accepted", str(order.restaurant_id))
    await db(factories.start_preparing)(order.pk, staff_user)
    assert (await hub.receive())["arguments"][0]["status"] == "Preparing"
    await db(factories.mark_ready)(order.pk, staff_user)
    await db(factories.pick_up)(order.pk, courier_user)
    await db(factories.start_delivery)(order.pk, courier_user)
    await db(factories.complete_delivery)(order.pk, courier_user)
    statuses = [(await hub.receive())["arguments"][0]["status"] for _ in range(4)]
    assert statuses == ["ReadyForDelivery", "ReadyForDelivery", "ReadyForDelivery", "Delivered"]
    assert await hub.communicator.receive_nothing(timeout=0.3)
    await hub.communicator.disconnect()


@run_async
async def test_a_payment_reaches_the_hub_as_its_own_method(customer, menu):
    from payments.services import payment_record_result

    order = await db(place_order)(customer, menu["pizza"], payment_method="online")
    hub = await open_hub(customer)
    await hub.invoke("7", "SubscribeToOrder", str(order.pk))
    await db(payment_record_result)(order_id=order.pk, succeeded=True, provider_reference="pi_hub")
    message = await hub.receive()
    assert message["target"] == "ReceiveOrderPaymentSucceeded" and message["arguments"][0]["status"] == "Placed"
    await hub.communicator.disconnect()


@run_async
async def test_someone_elses_order_and_unknown_methods_fail_their_invocation(customer, other_customer, menu):
    order = await db(place_order)(customer, menu["pizza"])
    hub = await open_hub(other_customer)
    assert await hub.invoke("1", "SubscribeToOrder", str(order.pk)) == {
        "type": 3,
        "invocationId": "1",
        "error": "Order not found.",
    }
    assert (await hub.invoke("2", "SubscribeToOrder", "junk"))["error"] == "Order not found."
    assert "Unknown hub method" in (await hub.invoke("3", "Nope", 1))["error"]
    await hub.send({"type": 6})  # a client ping needs no answer
    assert await hub.communicator.receive_nothing(timeout=0.2)
    await hub.send({"type": 7})
    assert await hub.receive() == {"closed": 1000}


@run_async
async def test_the_hub_pings_and_refuses_strangers(customer, other_customer, settings):
    settings.ORDERFLOW_SIGNALR_KEEPALIVE_SECONDS = 0.1
    hub = await open_hub(customer)
    assert await hub.receive() == {"type": 6}
    await hub.communicator.disconnect()
    # A connection token is bound to the user who negotiated it; no token at all is refused.
    negotiated = await db(negotiate)(customer)
    for path in (
        f"/hubs/customer-orders?id={negotiated['connectionToken']}&access_token={token_for(other_customer)}",
        f"/hubs/customer-orders?id={negotiated['connectionToken']}",
        f"/hubs/customer-orders?id=forged&access_token={token_for(customer)}",
    ):
        connected, _ = await WebsocketCommunicator(application, path).connect()
        assert not connected, path


@run_async
async def test_a_wrong_protocol_is_refused_in_the_handshake(customer):
    negotiated = await db(negotiate)(customer)
    communicator = WebsocketCommunicator(
        application, f"/hubs/customer-orders?id={negotiated['connectionToken']}&access_token={token_for(customer)}"
    )
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data=json.dumps({"protocol": "messagepack", "version": 1}) + RECORD_SEPARATOR)
    reply = await communicator.receive_from(timeout=2)
    assert "error" in json.loads(reply.rstrip(RECORD_SEPARATOR))
    assert (await communicator.receive_output(timeout=2))["type"] == "websocket.close"


def test_final_orders_are_not_followed(customer, menu):
    order = place_order(customer, menu["pizza"])
    order.status = OrderStatus.DELIVERED
    order.save(update_fields=["status"])
    assert client_for(customer).get(f"/api/v1/orders/{order.pk}/status").json()["status"] == "Delivered"
