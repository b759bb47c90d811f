"""Redis connections for every client of the project, direct or through Sentinel.

With `ORDERFLOW_REDIS_SENTINELS` (comma-separated `host:port` of the sentinels) every client asks
the sentinels which server is the primary of `ORDERFLOW_REDIS_MASTER_NAME`, and asks again on its
next connection once the one it had fails: after a failover each reaches the promoted replica
without a restart. `REDIS_URL` still gives the database number and the password; its host is not
used then. The clients: the cache (`SentinelPool` below as Django's `pool_class`), the channel
layer (channels_redis's own sentinel pool, `redis_channel_layer_host`), the status snapshots and
the queue-depth metric (`redis_client`), Celery's broker and result backend (kombu's
`sentinel://` transport) and beat's schedule and lock (celery-redbeat), all set up in
config/settings/base.py.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

# Asking a sentinel is quick or the sentinel is gone: the next one is asked.
SENTINEL_TIMEOUT_SECONDS = 1.0


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
        timeout: float | None = None,  # BlockingConnectionPool's wait: no such wait here
        **options: Any,
    ) -> SentinelConnectionPool:
        db, password = url_database_and_password(url)
        if options.get("parser_class") is None:
            options.pop("parser_class", None)
        return SentinelConnectionPool(master_name, sentinel(sentinels), db=db, password=password, **options)


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
