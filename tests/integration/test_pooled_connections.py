"""A live ASGI server whose database role allows fewer connections than there are clients.

The server process (daphne, as `./scripts/serve` and the WebSocket processes run) signs in to
PostgreSQL as a role limited to ROLE_CONNECTION_LIMIT connections, created here for this test
database only, so the test never competes with anyone for the server's max_connections. More
clients than that at once get their answers (slower, waiting for a pooled connection), never
a 5xx: without the pool each request thread held its own connection until PostgreSQL said
"too many clients".
"""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import place_order
from tests.tracking.live import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROLE_CONNECTION_LIMIT = 6
POOL_SIZE = 4
CLIENTS = 24
REQUESTS_PER_CLIENT = 8


def limited_role() -> str:
    """A login role for this test database with at most ROLE_CONNECTION_LIMIT connections (idempotent)."""
    database = settings.DATABASES["default"]["NAME"]
    # Unquoted in SQL, so lower case (PostgreSQL folds it) and an identifier whatever the database's name.
    role = re.sub(r"[^a-z0-9_]", "_", f"orderflow_limited_{database}".lower())[:63]
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        cursor.execute(f"ALTER ROLE {role} LOGIN CONNECTION LIMIT {ROLE_CONNECTION_LIMIT}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return role


@pytest.fixture
def limited_server():
    role = limited_role()
    db = settings.DATABASES["default"]
    url = f"postgres://{role}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    server = ServerProcess(
        database_url=url,
        redis_url=settings.REDIS_URL,
        environment={"ORDERFLOW_DB_POOL_MIN_SIZE": "1", "ORDERFLOW_DB_POOL_MAX_SIZE": str(POOL_SIZE)},
    )
    yield server
    server.stop()


def test_more_clients_than_the_database_allows_connections_get_no_5xx(limited_server, customer, menu):
    assert CLIENTS > ROLE_CONNECTION_LIMIT > POOL_SIZE
    orders = [place_order(customer, menu["pizza"]) for _ in range(4)]
    headers = {"Authorization": f"Bearer {AccessToken.for_user(customer)}"}
    paths = [p for order in orders for p in (f"/api/orders/{order.pk}/", f"/api/orders/{order.pk}/status/")]
    paths.append("/api/orders/")

    def client(n: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.get(
                    f"{limited_server.http}{paths[(n + i) % len(paths)]}", headers=headers, timeout=60
                ).status_code
                for i in range(REQUESTS_PER_CLIENT)
            ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [status for answers in pool.map(client, range(CLIENTS)) for status in answers]

    assert len(statuses) == CLIENTS * REQUESTS_PER_CLIENT
    assert set(statuses) == {200}, (sorted(set(statuses)), limited_server.output()[-3000:])
    assert "too many" not in limited_server.output()
