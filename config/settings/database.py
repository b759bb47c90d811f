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

Behind PgBouncer in transaction pooling mode (`ORDERFLOW_DB_TRANSACTION_POOLING=1`), a server
connection belongs to a client only for one transaction: no server-side cursors (they live
across transactions; `DISABLE_SERVER_SIDE_CURSORS`), no prepared statements (Django's psycopg
default, `prepare_threshold` None, kept), and the session settings a connection starts with
(time zone, role) are the ones PgBouncer tracks and sets again for each transaction. The pool
checks a connection before lending it (`DATABASE_CONN_HEALTH_CHECKS`, on by default there): a
restarted PgBouncer closes every client connection, and without the check each pooled connection
would fail one request before being replaced.

PostgreSQL restarted (or unreachable): the check finds each pooled connection dead and the pool
opens new ones by itself once the server is back. Until then a request waits at most the pool's
timeout (10 s by default; a connection attempt itself gives up after
`ORDERFLOW_DB_CONNECT_TIMEOUT_SECONDS`) and is answered 503 problem+json, code
`database_unavailable`, with Retry-After (core/errors.py): never a 500, never an open-ended wait.
The check is on by default for the same reason, with or without PgBouncer.
"""

import environ


def postgresql_with_pool(database: dict, env: environ.Env) -> dict:
    database = dict(database)
    transaction_pooling = env.bool("ORDERFLOW_DB_TRANSACTION_POOLING", default=False)
    if transaction_pooling:
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    database["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "connect_timeout": env.int("ORDERFLOW_DB_CONNECT_TIMEOUT_SECONDS", default=3),
    }
    if not env.bool("ORDERFLOW_DB_POOL", default=True):
        database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
        return database
    database["CONN_MAX_AGE"] = 0
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "pool": {
            "min_size": env.int("ORDERFLOW_DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("ORDERFLOW_DB_POOL_MAX_SIZE", default=4),
            # How long a request waits for a free connection before it is answered 503. A web
            # process's threads never outnumber its pool, so this wait is spent only when
            # PostgreSQL cannot be reached or refuses more connections.
            "timeout": env.float("ORDERFLOW_DB_POOL_TIMEOUT_SECONDS", default=10.0),
            # A connection unused this long is closed (down to min_size).
            "max_idle": env.float("ORDERFLOW_DB_POOL_MAX_IDLE_SECONDS", default=300.0),
        },
    }
    return database
