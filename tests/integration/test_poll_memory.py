"""The poll's snapshots kept in process memory (orders/poll_cache.py), on the Redis of REDIS_URL:
a poll answered from memory makes no round trip; what another process writes reaches it through
Redis's announcement; a broken subscription drops everything; a read that spans an announcement
is not kept. One case runs two real server processes, each with its own memory.
"""

import json
import os
import time

import pytest
import redis
import requests
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from orders import poll_cache, snapshots
from orders.models import Order, OrderStatus
from orders.snapshots import KEY_PREFIX, SNAPSHOT_FIELDS, status_snapshot_store
from tests.factories import confirm, place_order
from tests.faults.processes import HttpServer, database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def memory(settings):
    settings.ORDERFLOW_POLL_MEMORY_CACHE = True
    started = poll_cache.poll_memory()
    assert started is not None
    until(lambda: started.listening, "the poll memory to subscribe")
    return started


def until(condition, what: str, seconds: float = 10) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, f"waited {seconds} s for {what}"
        time.sleep(0.02)


def redis_of_snapshots() -> redis.Redis:
    client = snapshots._redis()
    assert client is not None, "REDIS_URL names no Redis"
    return client


def kill_listener() -> None:
    """Cut this process's listener's connection (only its own: Redis is shared)."""
    shared = redis_of_snapshots()
    name = f"{poll_cache.LISTENER_NAME}-{os.getpid()}"
    (listener,) = [client for client in shared.client_list() if client["name"] == name]
    shared.client_kill_filter(_id=listener["id"])


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def kept_after_polls(memory, client, order, user) -> None:
    """Poll until the order is answered from memory. A poll that fills it may be overtaken by an
    announcement (the first poll's own store of what it read, from the full path), and is then
    not kept: the next one is."""
    until(lambda: status_of(client, order) and memory.get(str(order.pk), str(user.pk)) is not None, "a kept entry")


def status_of(client, order) -> str:
    response = client.get(f"/api/orders/{order.pk}/status/")
    assert response.status_code == 200, response.content
    return response.json()["status"]


class RoundTrips:
    """Counts the poll's reads from Redis (the MGET), by wrapping the pool's connections."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        pool = redis_of_snapshots().connection_pool
        original = pool.get_connection

        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(pool, "get_connection", counted)


def test_a_second_poll_is_answered_from_memory_and_a_change_here_is_seen_at_once(
    memory, customer, staff_user, menu, monkeypatch
):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    assert status_of(client, order) == "ORDER_PLACED"  # the user row, then Redis, then kept
    kept_after_polls(memory, client, order, customer)
    trips = RoundTrips(monkeypatch)
    assert status_of(client, order) == "ORDER_PLACED"
    assert trips.count == 0

    confirm(order.pk, staff_user)  # this process writes the snapshot: its own entry goes at once
    assert status_of(client, order) == "RESTAURANT_CONFIRMED"


def test_what_another_process_writes_reaches_the_memory_through_the_announcement(memory, customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    kept_after_polls(memory, client, order, customer)

    # Another process's write: Redis holds a newer snapshot and announces it; nothing here is told.
    row = Order.objects.values(*SNAPSHOT_FIELDS).get(pk=order.pk)
    row.update(status=OrderStatus.RESTAURANT_CONFIRMED, sequence=row["sequence"] + 1)
    value = b"\n".join(
        (
            str(row["sequence"]).encode(),
            json.dumps(snapshots._snapshot(row), separators=(",", ":"), default=str).encode(),
            snapshots._RENDERER.render(snapshots._snapshot(row)["status"]),
        )
    )
    shared = redis_of_snapshots()
    shared.set(f"{KEY_PREFIX}{order.pk}", value)
    assert status_of(client, order) == "ORDER_PLACED"  # not yet announced: memory still answers
    shared.publish(poll_cache.channel(shared), str(order.pk))
    until(lambda: memory.get(str(order.pk), str(customer.pk)) is None, "the announcement")
    assert status_of(client, order) == "RESTAURANT_CONFIRMED"


def test_a_broken_subscription_drops_everything_until_it_is_back(memory, customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    kept_after_polls(memory, client, order, customer)

    kill_listener()
    until(lambda: memory.get(str(order.pk), str(customer.pk)) is None, "the memory to be dropped")
    until(lambda: memory.listening, "the memory to subscribe again")
    kept_after_polls(memory, client, order, customer)


def test_a_read_that_spans_an_announcement_is_not_kept(memory, customer, menu):
    order = place_order(customer, menu["pizza"])
    mark = memory.mark()
    memory.forget("some-other-order")  # an announcement arrives while the read is under way
    memory.keep(mark, str(order.pk), ({"status": {}}, b"{}"), str(customer.pk))
    assert memory.get(str(order.pk), str(customer.pk)) is None
    memory.keep(memory.mark(), str(order.pk), ({"status": {}}, b"{}"), str(customer.pk))
    assert memory.get(str(order.pk), str(customer.pk)) is not None


def test_a_user_forgotten_is_not_answered_from_memory(memory, customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    kept_after_polls(memory, client, order, customer)
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert memory.get(str(order.pk), str(customer.pk)) is None
    assert client.get(f"/api/orders/{order.pk}/status/").status_code == 401


def test_two_server_processes_each_see_a_transition_made_elsewhere(customer, staff_user, menu):
    """Two granian processes with their own memory: each has answered the poll (and kept it);
    the kitchen confirms through a third process (this one); both then answer the new status."""
    order = place_order(customer, menu["pizza"])
    status_snapshot_store(Order.objects.values(*SNAPSHOT_FIELDS).get(pk=order.pk))
    environment = {"ORDERFLOW_POLL_MEMORY_CACHE": "1"}
    servers = [HttpServer(database_url=database_url(), redis_url=snapshots.settings.REDIS_URL, environment=environment)
               for _ in range(2)]  # fmt: skip
    headers = {"Authorization": f"Bearer {AccessToken.for_user(customer)}"}
    try:

        def statuses() -> list[str]:
            path = f"/api/orders/{order.pk}/status/"
            return [requests.get(s.http + path, headers=headers, timeout=10).json()["status"] for s in servers]

        for _ in range(3):
            assert statuses() == ["ORDER_PLACED", "ORDER_PLACED"]
        confirm(order.pk, staff_user)
        until(lambda: statuses() == ["RESTAURANT_CONFIRMED"] * 2, "both servers to answer the confirmation", 5)
    finally:
        for server in servers:
            server.close()


def test_memory_answers_only_while_redis_was_heard_from_lately(memory, customer, menu):
    order = place_order(customer, menu["pizza"])
    client = signed_in(customer)
    kept_after_polls(memory, client, order, customer)
    # The listener pings every second: a connection that went silent (no reset, no answer) leaves
    # the last answer behind, and past the bound nothing is answered from memory.
    memory.heard_at = time.monotonic() - poll_cache.HEARD_WITHIN_SECONDS - 1
    assert memory.get(str(order.pk), str(customer.pk)) is None
    until(lambda: memory.get(str(order.pk), str(customer.pk)) is not None, "the next answer to a ping")
