"""The poll's snapshots in process memory, kept current by what Redis announces.

A poll answered from Redis (orders.snapshots) pays one round trip; most polls ask about an order
that has not changed since the last one. Each server process keeps the snapshots it read, and
the users it saw marked active, in memory (`ORDERFLOW_POLL_MEMORY_CACHE`). They are kept only
while the process listens to Redis: every write of a snapshot and every user forgotten is
announced on one channel (`channel()`) in the same round trip as the write, and each listening
process drops what the announcement names. So an entry in memory is what Redis holds, give or
take the announcement's way across (a millisecond on a LAN; the poll's answer is a few seconds
old anyway).

Why no stale entry is kept:

- an entry is kept only while the process is subscribed; when the subscription breaks (Redis
  restarted, failed over, unreachable) everything is dropped at once and nothing is kept until
  it is subscribed again;
- an entry read from Redis is not kept if any announcement arrived while it was being read (it
  may be the older of two values);
- the process that writes drops its own entry at once, without waiting for the announcement;
- the listener pings Redis every second: memory answers only while Redis answered within the last
  3 s, so a connection that went silent without breaking (a partition) stops it as well;
- an entry lives at most `ORDERFLOW_POLL_MEMORY_SECONDS` (60 s) whatever happens.

Without Redis, or with the setting off (the test settings, whose tests change Redis behind the
application's back), there is no memory and every poll reads Redis or the database as before.
"""

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

import redis
from django.conf import settings

from core.redis_connections import redis_client

logger = logging.getLogger(__name__)


CHANNEL_PREFIX = "orderflow:order-poll:changed:"  # then the database: one channel per Redis database
USER_PREFIX = "user:"
LISTENER_NAME = "orderflow-poll-memory"  # the listener's client name in Redis, then its process id
MAX_ORDERS = 10000
MAX_USERS = 10000
RESUBSCRIBE_SECONDS = 1.0
# The listener pings Redis this often; memory answers only while Redis was heard from within
# HEARD_WITHIN_SECONDS, so a connection that went silent (a partition, no reset) stops it too.
PING_SECONDS = 1.0
HEARD_WITHIN_SECONDS = 3.0

# (snapshot, the poll's answer rendered): the snapshot is shared, and read-only for its readers.
Entry = tuple[dict[str, Any], bytes]


def channel(client: redis.Redis) -> str:
    """The announcements' channel for the database `client` uses (channels span databases)."""
    return f"{CHANNEL_PREFIX}{client.connection_pool.connection_kwargs.get('db', 0)}"


class PollMemory:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: OrderedDict[str, tuple[float, Entry]] = OrderedDict()
        self.users: OrderedDict[str, float] = OrderedDict()
        self.changes = 0  # announcements and resubscriptions seen: a read that spans one is not kept
        self.listening = False
        self.heard_at = 0.0  # when Redis last answered the listener (monotonic)
        self.stopped = threading.Event()

    # --- reads ------------------------------------------------------------------------------

    def get(self, order_id: str, user_id: str) -> Entry | None:
        """The order's entry, if the user is known active too; None sends the poll to Redis."""
        now = time.monotonic()
        if not self.listening or now - self.heard_at > HEARD_WITHIN_SECONDS:
            return None
        oldest = now - settings.ORDERFLOW_POLL_MEMORY_SECONDS
        with self.lock:
            stored = self.orders.get(order_id)
            known = self.users.get(user_id)
            if stored is None or known is None or stored[0] < oldest or known < oldest:
                return None
            return stored[1]

    def mark(self) -> int:
        return self.changes

    def keep(self, mark: int, order_id: str, entry: Entry, user_id: str | None) -> None:
        """Keep what was read from Redis, unless an announcement came while it was read."""
        now = time.monotonic()
        with self.lock:
            if not self.listening or self.changes != mark:
                return
            self.orders[order_id] = (now, entry)
            self.orders.move_to_end(order_id)
            if len(self.orders) > MAX_ORDERS:
                self.orders.popitem(last=False)
            if user_id is not None:
                self.users[user_id] = now
                self.users.move_to_end(user_id)
                if len(self.users) > MAX_USERS:
                    self.users.popitem(last=False)

    # --- changes ----------------------------------------------------------------------------

    def forget(self, name: str) -> None:
        """Drop what an announcement names: an order id, or `user:<id>`."""
        with self.lock:
            self.changes += 1
            if name.startswith(USER_PREFIX):
                self.users.pop(name.removeprefix(USER_PREFIX), None)
            else:
                self.orders.pop(name, None)

    def drop_all(self, *, listening: bool) -> None:
        with self.lock:
            self.changes += 1
            self.orders.clear()
            self.users.clear()
            self.listening = listening

    def listen(self) -> None:
        """Until stopped: subscribe, drop what each announcement names; on any failure drop
        everything, stop keeping, and subscribe again."""
        while not self.stopped.is_set():
            pubsub = None
            try:
                client = redis_client(
                    settings.REDIS_URL,
                    sentinels=settings.ORDERFLOW_REDIS_SENTINELS,
                    master_name=settings.ORDERFLOW_REDIS_MASTER_NAME,
                    socket_connect_timeout=2,
                    socket_keepalive=True,
                    health_check_interval=10,
                    client_name=f"{LISTENER_NAME}-{os.getpid()}",
                )
                pubsub = client.pubsub()
                pubsub.subscribe(channel(client))
                pinged_at = time.monotonic()
                while not self.stopped.is_set():
                    if time.monotonic() - pinged_at >= PING_SECONDS:
                        pubsub.ping()
                        pinged_at = time.monotonic()
                    message = pubsub.get_message(timeout=PING_SECONDS)
                    if message is None:
                        continue
                    self.heard_at = time.monotonic()
                    if message["type"] == "subscribe":
                        self.drop_all(listening=True)  # from now on every change is heard
                    elif message["type"] == "message":
                        self.forget(message["data"].decode())
            except (redis.RedisError, OSError) as exc:
                logger.warning("poll memory: not listening to Redis (%r); polls read Redis", exc)
            finally:
                self.drop_all(listening=False)
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass
            self.stopped.wait(RESUBSCRIBE_SECONDS)


_memory: PollMemory | None = None
_memory_pid: int | None = None
_start_lock = threading.Lock()


def poll_memory() -> PollMemory | None:
    """This process's memory (its listener started on first use), or None when there is none."""
    global _memory, _memory_pid
    if not settings.ORDERFLOW_POLL_MEMORY_CACHE or not settings.REDIS_URL:
        return None
    if _memory is not None and _memory_pid == os.getpid():
        return _memory
    with _start_lock:
        if _memory is None or _memory_pid != os.getpid():  # none yet, or inherited across a fork
            memory = PollMemory()
            threading.Thread(target=memory.listen, name="orderflow-poll-memory", daemon=True).start()
            _memory, _memory_pid = memory, os.getpid()
    return _memory


def forget_here(name: str) -> None:
    """What this process wrote: dropped at once, before the announcement comes back."""
    memory = _memory if _memory_pid == os.getpid() else None
    if memory is not None:
        memory.forget(name)
