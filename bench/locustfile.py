"""The mixed scenario of bench/serving.py (it passes the accounts and orders in BENCH_DATA).

- PollingCustomer: polls their order's lean status every 2-4 s, sending back the ETag (304s);
- SocketCustomer: holds their order's WebSocket (through the proxy), reading what comes;
- Kitchen: places an order as a customer, then as staff confirms it and starts preparing it;
- Courier: posts a position every 2-4 s (within the API's rate limit).
"""

import json
import os
import random
import time

import websocket
from locust import HttpUser, between, events, task

DATA = json.loads(open(os.environ["BENCH_DATA"]).read())


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class PollingCustomer(HttpUser):
    weight = 10
    wait_time = between(2, 4)

    def on_start(self) -> None:
        self.order = random.choice(DATA["orders"])
        self.etag = None

    @task
    def poll(self) -> None:
        headers = auth(self.order["token"])
        if self.etag:
            headers["If-None-Match"] = self.etag
        with self.client.get(
            f"/api/orders/{self.order['id']}/status/", headers=headers, name="status", catch_response=True
        ) as response:
            if response.status_code == 200:
                self.etag = response.headers.get("ETag")
                response.success()
            elif response.status_code == 304:
                response.success()
            else:
                response.failure(f"{response.status_code}")


class SocketCustomer(HttpUser):
    weight = 4
    wait_time = between(1, 2)

    def on_start(self) -> None:
        self.order = random.choice(DATA["orders"])
        self.socket: websocket.WebSocket | None = None
        self.connect()

    def connect(self) -> None:
        assert self.host, "locust runs with --host"
        url = self.host.replace("http://", "ws://") + f"/ws/orders/{self.order['id']}/?token={self.order['token']}"
        started = time.perf_counter()
        try:
            self.socket = websocket.create_connection(url, timeout=10)
            snapshot = json.loads(self.socket.recv())
            assert snapshot["type"] == "snapshot", snapshot
            error = None
        except Exception as exc:
            self.socket, error = None, exc
        events.request.fire(
            request_type="WS",
            name="connect + snapshot",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    @task
    def hold(self) -> None:
        if self.socket is None:
            self.connect()
            return
        self.socket.settimeout(0.5)
        try:
            self.socket.recv()
        except websocket.WebSocketTimeoutException:
            pass
        except websocket.WebSocketConnectionClosedException:
            self.socket = None

    def on_stop(self) -> None:
        if self.socket is not None:
            self.socket.close()


class Kitchen(HttpUser):
    weight = 1
    wait_time = between(1, 3)

    @task
    def place_confirm_prepare(self) -> None:
        customer = random.choice(DATA["orders"])
        body = {
            "restaurant": DATA["restaurant"],
            "items": [{"menu_item": DATA["item"], "quantity": 1, "customizations": []}],
            "delivery_type": "pickup",
            "payment_method": "cod",
        }
        placed = self.client.post("/api/orders/", json=body, headers=auth(customer["token"]), name="place")
        if placed.status_code != 201:
            return
        order = placed.json()["id"]
        kitchen = f"/api/restaurants/orders/{order}"
        self.client.post(f"{kitchen}/confirm/", json={}, headers=auth(DATA["staff"]), name="confirm")
        self.client.post(f"{kitchen}/start-preparing/", json={}, headers=auth(DATA["staff"]), name="start-preparing")


class Courier(HttpUser):
    weight = 2
    wait_time = between(2, 4)
    taken = 0

    def on_start(self) -> None:
        # One account each: the API limits positions per courier (30 a minute by default).
        self.token = DATA["couriers"][Courier.taken % len(DATA["couriers"])]
        Courier.taken += 1

    @task
    def report_position(self) -> None:
        position = {
            "latitude": round(37.77 + random.random() / 100, 6),
            "longitude": round(-122.41 + random.random() / 100, 6),
        }
        self.client.post("/api/delivery/location/", json=position, headers=auth(self.token), name="location")
