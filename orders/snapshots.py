"""Each order's lean status, kept in Redis so that a poll costs one cache read.

`status_snapshot_on_events` is an effect of committed order events (config/effects.py): it
reads the orders' rows and stores the poll's answer under the order's id, together with who
may read it (the customer, the courier, the restaurant) and the deadline. A write never
replaces a newer snapshot (a higher sequence) with an older one, whatever the order in which
server processes get to it. A snapshot lives `ORDERFLOW_STATUS_SNAPSHOT_TTL_SECONDS`, which
also bounds how long one could outlive a write lost while Redis was unreachable.

Without Redis (the embedded default) there are no snapshots: every poll reads the database.
"""

import json
import logging
import uuid
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from rest_framework.renderers import JSONRenderer

from core.publishing import after_commit
from core.redis_connections import redis_client
from core.timestamps import iso
from orders.models import Order, OrderStatus, TrackingEvent
from orders.poll_cache import USER_PREFIX, channel, forget_here, poll_memory
from orders.selectors import STATUS_SNAPSHOT_FIELDS

logger = logging.getLogger(__name__)

# One string per order: "<sequence>\n<snapshot JSON>\n<the poll's answer, rendered>", so that
# a poll reads it and the user's mark with one native MGET.
KEY_PREFIX = "orderflow:order-poll:"
_RENDERER = JSONRenderer()
SNAPSHOT_FIELDS = (*STATUS_SNAPSHOT_FIELDS, "customer_id", "courier_id", "restaurant_id")

# Replace the stored snapshot unless it is newer (a higher sequence). An equal sequence does
# replace it: writes that carry no event (a deadline dropped) keep the same sequence.
_WRITE_UNLESS_NEWER = """
local stored = redis.call('GET', KEYS[1])
if stored and tonumber(string.match(stored, '^%d+')) > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

_client: redis.Redis | None = None
_write_script: Any = None  # the registered Lua script (redis.commands.core.Script)


def _redis() -> redis.Redis | None:
    global _client, _write_script
    if not settings.REDIS_URL:
        return None
    if _client is None:
        # Short timeouts: a slow Redis must cost a poll little before it falls back to the database.
        _client = redis_client(
            settings.REDIS_URL,
            sentinels=settings.ORDERFLOW_REDIS_SENTINELS,
            master_name=settings.ORDERFLOW_REDIS_MASTER_NAME,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        _write_script = _client.register_script(_WRITE_UNLESS_NEWER)
    return _client


def status_payload(row: dict[str, Any], *, lean: bool = False) -> dict[str, Any]:
    """One order's status from a row of STATUS_SNAPSHOT_FIELDS, as a socket's snapshot sends it.

    `lean` gives the fast poll's answer instead, well under 300 bytes: no status name or refund,
    the sub-statuses in the order-process API's lower case, times to the second.
    """
    status = row["status"]
    payload = {"order_id": str(row["id"]), "order_number": row["number"], "status": status}
    if lean:
        payload |= {
            "payment_status": row["payment_status"].lower(),
            "delivery_status": row["delivery_status"].lower(),
            "last_update": iso(row["updated_at"], timespec="seconds"),
            "estimated_delivery_time": iso(row["estimated_delivery_at"], timespec="seconds"),
        }
    else:
        payload |= {
            "status_name": OrderStatus(status).label if status in OrderStatus.values else status,
            "payment_status": row["payment_status"],
            "delivery_status": row["delivery_status"],
            "refund_status": row["refund_status"],
            "last_update_timestamp": iso(row["updated_at"]),
            "estimated_delivery_time": iso(row["estimated_delivery_at"]),
        }
    payload["sequence"] = row["sequence"]
    return payload


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": status_payload(row, lean=True),
        # The row itself, for a socket's snapshot (tracking.selectors.order_watch).
        "row": {field: _jsonable(row[field]) for field in STATUS_SNAPSHOT_FIELDS},
        "customer_id": row["customer_id"],
        "courier_id": row["courier_id"],
        "restaurant_id": str(row["restaurant_id"]),
        "deadline_at": row["deadline_at"].timestamp() if row["deadline_at"] else None,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def status_snapshot_row(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    """The order's status row as stored with the snapshot (what `order_status_snapshot` reads)."""
    row = snapshot.get("row")
    if row is None:
        return None
    return {**row, **{field: _datetime(row[field]) for field in _DATETIME_FIELDS}}


_DATETIME_FIELDS = ("updated_at", "estimated_delivery_at", "deadline_at")


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def status_snapshot_store(row: dict[str, Any]) -> None:
    """Store the snapshot of a committed order row (a dict of `SNAPSHOT_FIELDS`)."""
    status_snapshots_store([row])


def status_snapshots_store(rows: list[dict[str, Any]]) -> None:
    """Store several in one round trip to Redis."""
    client = _redis()
    if client is None or not rows:
        return
    for row in rows:
        forget_here(str(row["id"]))
    ttl = settings.ORDERFLOW_STATUS_SNAPSHOT_TTL_SECONDS
    try:
        with client.pipeline(transaction=False) as pipeline:
            for row in rows:
                snapshot = _snapshot(row)
                value = b"\n".join(
                    (
                        str(row["sequence"]).encode(),
                        json.dumps(snapshot, separators=(",", ":")).encode(),
                        _RENDERER.render(snapshot["status"]),  # byte for byte what the API would send
                    )
                )
                _write_script(keys=[f"{KEY_PREFIX}{row['id']}"], args=[row["sequence"], value, ttl], client=pipeline)
                # Every process keeping this order's snapshot in memory drops it (orders/poll_cache.py).
                pipeline.publish(channel(client), str(row["id"]))
            pipeline.execute()
    except redis.RedisError as exc:
        logger.warning(
            "status snapshots of %s not stored: %r; polls read the database",
            ", ".join(str(row["id"]) for row in rows),
            exc,
        )


def status_snapshot_store_on_commit(row: dict[str, Any]) -> None:
    """Store what a poll read from the database, once that is known to be committed (a cache
    filled by a read, not an effect of a change)."""
    after_commit(lambda: status_snapshot_store(row))


def status_snapshot_read(order_id: Any) -> dict[str, Any] | None:
    """The stored snapshot of the order, or None (no Redis, nothing stored, Redis unreachable)."""
    return status_snapshot_and_user_read(order_id, None)[0]


def status_snapshot_and_user_read(order_id: Any, user_id: Any) -> tuple[dict[str, Any] | None, bool]:
    """The order's snapshot and whether the user is known to be active, in one round trip.

    (None, False) without Redis or when it cannot be reached.
    """
    snapshot, _response, active = status_snapshot_response_and_user_read(order_id, user_id)
    return snapshot, active


def status_snapshot_response_and_user_read(
    order_id: Any, user_id: Any
) -> tuple[dict[str, Any] | None, bytes | None, bool]:
    """The same, plus the poll's answer rendered as JSON: (snapshot, response body, known active).

    (None, None, False) without Redis or when it cannot be reached. The poll's one round trip:
    a native MGET on a pooled connection, without the client's per-command machinery.
    """
    client = _redis()
    if client is None:
        return None, None, False
    memory = poll_memory()
    if memory is not None:
        kept = memory.get(str(order_id), str(user_id))
        if kept is not None:
            return kept[0], kept[1], True
        mark = memory.mark()
    pool = client.connection_pool
    try:
        connection = pool.get_connection()
        try:
            connection.send_command("MGET", f"{KEY_PREFIX}{order_id}", f"{ACTIVE_USER_PREFIX}{user_id}")
            value, active = connection.read_response()
        except BaseException:
            connection.disconnect()  # a reply may still be on its way: never reuse the connection
            raise
        finally:
            pool.release(connection)
    except redis.RedisError as exc:
        logger.warning("status snapshot of order %s unreadable: %r; reading the database", order_id, exc)
        return None, None, False
    if value is None:
        return None, None, active is not None
    _sequence, body, response = value.split(b"\n", 2)
    snapshot = json.loads(body)
    if memory is not None:
        memory.keep(mark, str(order_id), (snapshot, response), str(user_id) if active is not None else None)
    return snapshot, response, active is not None


# Users the database showed active, so that a poll needs no user query. Saving or deleting a
# user forgets them (OrdersConfig connects `active_user_forget`); an update that bypasses
# save() is seen after the TTL.
ACTIVE_USER_PREFIX = "orderflow:active-user:"


def active_user_store(user_id: Any) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.set(f"{ACTIVE_USER_PREFIX}{user_id}", 1, ex=settings.ORDERFLOW_STATUS_SNAPSHOT_TTL_SECONDS)
    except redis.RedisError as exc:
        logger.warning("active user %s not stored: %r", user_id, exc)


def active_user_forget(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """A `post_save`/`post_delete` receiver for the user model: the next poll reads the user row."""
    client = _redis()
    if client is None or instance is None:
        return
    forget_here(f"{USER_PREFIX}{instance.pk}")
    try:
        with client.pipeline(transaction=False) as pipeline:
            pipeline.delete(f"{ACTIVE_USER_PREFIX}{instance.pk}")
            pipeline.publish(channel(client), f"{USER_PREFIX}{instance.pk}")
            pipeline.execute()
    except redis.RedisError as exc:
        logger.warning("active user %s not forgotten: %r; forgotten after the TTL", instance.pk, exc)


def status_snapshot_on_events(events: list[TrackingEvent]) -> None:
    """Effect of committed events: their orders' snapshots, one read of the rows, one round trip to Redis."""
    if _redis() is None:
        return
    # An event followed by a later one of the same order in its transaction leaves the
    # snapshot to that one.
    order_ids = {event.order_id for event in events if event.order.sequence <= event.sequence}
    if order_ids:
        status_snapshots_store(list(Order.objects.filter(pk__in=order_ids).values(*SNAPSHOT_FIELDS)))
