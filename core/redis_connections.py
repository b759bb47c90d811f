"""Redis connections for every client of the project, direct or through Sentinel.

With `ORDERFLOW_REDIS_SENTINELS` (comma-separated `host:port` of the sentinels) every client asks
the sentinels which server is the primary of `ORDERFLOW_REDIS_MASTER_NAME`, and asks again on its
next connection once the one it had fails: after a failover each reaches the promoted replica
without a restart. `REDIS_URL` still gives the database number and the password; its host is not
used then. The clients: the cache (`SentinelPool` below as Django's `pool_class`), the channel
layer (channels_redis's own sentinel pool, `redis_channel_layer_host`), the status snapshots and
the queue-depth metric (`redis_client`), Celery's broker and result backend (kombu's
`sentinel://` transport) and beat's schedule and lock (celery-redbeat), all set up in
config/settings/services.py.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel
from redis.backoff import ExponentialBackoff
from redis.sentinel import Sentinel, SentinelConnectionPool

# Asking a sentinel is quick or the sentinel is gone: the next one is asked.
SENTINEL_TIMEOUT_SECONDS = 1.0
# Every pool is bounded and blocking: a client that finds all its process's connections in use
# waits (back-pressure) this long for one to come back, instead of failing at once with
# MaxConnectionsError as redis-py's plain pools do (a reconnect storm of a thousand sockets would
# otherwise close some of them with 1011).
POOL_WAIT_SECONDS = 20.0


class BlockingSentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """The primary through the sentinels, with a bounded pool that makes a full pool wait."""


class AsyncBlockingSentinelPool(redis.asyncio.sentinel.SentinelConnectionPool, redis.asyncio.BlockingConnectionPool):
    """The same for asyncio clients (the channel layer)."""


def command_retry() -> redis.asyncio.retry.Retry:
    """A command that fails for want of a connection is sent again, twice, on a new connection: a
    pooled connection that Redis dropped while it was away (restarted, failed over) fails its next
    command once, and without this the channel layer's reader would hand that failure to every
    socket of the process (each closed with 1011) just after Redis came back."""
    return redis.asyncio.retry.Retry(ExponentialBackoff(cap=0.5, base=0.05), 2)


def async_blocking_pool(host: dict[str, Any]) -> redis.asyncio.ConnectionPool:
    """The channel layer's pool for one entry of its `hosts`: channels_redis's own `create_pool`,
    with the blocking pools above (`pool_timeout`: the wait, POOL_WAIT_SECONDS by default) and
    `command_retry`."""
    host = dict(host)
    wait = host.pop("pool_timeout", POOL_WAIT_SECONDS)
    host.setdefault("retry", command_retry())
    if "address" in host:
        return redis.asyncio.BlockingConnectionPool.from_url(host.pop("address"), timeout=wait, **host)
    master_name = host.pop("master_name", None)
    if master_name is not None:
        manager = redis.asyncio.sentinel.Sentinel(
            host.pop("sentinels"), sentinel_kwargs=host.pop("sentinel_kwargs", None)
        )
        return AsyncBlockingSentinelPool(master_name, manager, timeout=wait, **host)  # type: ignore[no-untyped-call]  # redis-py leaves its constructor unannotated
    return redis.asyncio.BlockingConnectionPool(timeout=wait, **host)


def parse_sentinels(value: str) -> list[tuple[str, int]]:
    """`"10.0.0.1:26379,10.0.0.2:26379"` -> `[("10.0.0.1", 26379), ("10.0.0.2", 26379)]`."""
    sentinels = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a sentinel is host:port, not {item!r}")
        sentinels.append((host, int(port)))
    return sentinels


def url_database_and_password(url: str) -> tuple[int, str | None]:
    parts = urlsplit(url)
    path = parts.path.strip("/")
    return (int(path) if path.isdigit() else 0), (unquote(parts.password) if parts.password else None)


def sentinel(sentinels: list[tuple[str, int]]) -> Sentinel:
    return Sentinel(
        sentinels,
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
        },
    )


class SentinelPool:
    """Django's RedisCache `pool_class` for a primary found through Sentinel: `from_url` takes the
    cache's `LOCATION` (for the database number and password) and the `sentinels` and
    `master_name` of its OPTIONS."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sentinels: list[tuple[str, int]],
        master_name: str,
        timeout: float | None = POOL_WAIT_SECONDS,
        **options: Any,
    ) -> SentinelConnectionPool:
        db, password = url_database_and_password(url)
        if options.get("parser_class") is None:
            options.pop("parser_class", None)
        return BlockingSentinelPool(  # type: ignore[no-untyped-call]  # redis-py leaves its constructor unannotated
            master_name, sentinel(sentinels), db=db, password=password, timeout=timeout, **options
        )


def redis_client(url: str, *, sentinels: list[tuple[str, int]], master_name: str, **options: Any) -> redis.Redis:
    """A client of the primary: through the sentinels when there are any, else at `url`."""
    if not sentinels:
        return redis.Redis.from_url(url, **options)
    db, password = url_database_and_password(url)
    client: redis.Redis = sentinel(sentinels).master_for(master_name, db=db, password=password, **options)
    return client


def kombu_sentinel_url(url: str, sentinels: list[tuple[str, int]]) -> str:
    """Celery's broker and result backend through the sentinels: kombu tries each in turn."""
    db, password = url_database_and_password(url)
    auth = f":{password}@" if password else ""
    return ";".join(f"sentinel://{auth}{host}:{port}/{db}" for host, port in sentinels)
