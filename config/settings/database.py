"""PostgreSQL through a pool of connections per server process (Django's psycopg pool).

Without a pool, Django under ASGI runs each request's database work in a thread of its own,
and with `CONN_MAX_AGE` every such thread keeps its own connection: a few dozen concurrent
clients use up PostgreSQL's `max_connections` and the next request fails with "too many
clients". A pool caps what one process holds (`ORDERFLOW_DB_POOL_MAX_SIZE`) and makes a
request wait for a free connection (at most `ORDERFLOW_DB_POOL_TIMEOUT_SECONDS`) instead.
A pool and persistent connections exclude each other, so `CONN_MAX_AGE` is 0 with a pool.

A deployment's connections to PostgreSQL are therefore bounded by
(web processes + WebSocket processes + Celery worker processes) x max pool size;
docs/operations/serving.md sizes them.
"""

import environ


def postgresql_with_pool(database: dict, env: environ.Env) -> dict:
    database = dict(database)
    if not env.bool("ORDERFLOW_DB_POOL", default=True):
        database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
        return database
    database["CONN_MAX_AGE"] = 0
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "pool": {
            "min_size": env.int("ORDERFLOW_DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("ORDERFLOW_DB_POOL_MAX_SIZE", default=4),
            # How long a request waits for a free connection before failing.
            "timeout": env.float("ORDERFLOW_DB_POOL_TIMEOUT_SECONDS", default=20.0),
            # A connection unused this long is closed (down to min_size).
            "max_idle": env.float("ORDERFLOW_DB_POOL_MAX_IDLE_SECONDS", default=300.0),
        },
    }
    return database
