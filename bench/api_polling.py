"""How cheap the API's reads are: latency, payload size and queries per request.

Runs in-process (Django's test client, a real JWT) against a throwaway test database on
whatever DATABASE_URL names (SQLite by default):

    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/api_polling.py [--orders 500] [--rounds 300]
"""

import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from _setup import customer_with_orders, orders_and_rounds, repeated  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def measure(client, path, rounds, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return {
        "status": response.status_code,
        "bytes": len(response.content),
        "queries": len(queries.captured_queries),
        **repeated(lambda: client.get(path, **headers), rounds),
    }


def main():
    args = orders_and_rounds()

    setup_test_environment()
    logging.disable(logging.INFO)
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        orders, client = customer_with_orders(args.orders)
        order = orders[-1]
        etag = client.get(f"/api/orders/{order.pk}/status/")["ETag"]
        cases = {
            "status (200)": measure(client, f"/api/orders/{order.pk}/status/", args.rounds),
            "status (304)": measure(client, f"/api/orders/{order.pk}/status/", args.rounds, HTTP_IF_NONE_MATCH=etag),
            "detail": measure(client, f"/api/orders/{order.pk}/", args.rounds),
            "list, 20 per page": measure(client, "/api/orders/?page_size=20", args.rounds),
            "list, 100 per page": measure(client, "/api/orders/?page_size=100", args.rounds // 3),
            "list, cursor, 100": measure(client, "/api/orders/?pagination=cursor&page_size=100", args.rounds // 3),
        }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"{connection.vendor}, {args.orders} orders, JWT auth, in-process client")
    print(f"{'request':<22}{'status':>7}{'bytes':>8}{'queries':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for name, row in cases.items():
        print(
            f"{name:<22}{row['status']:>7}{row['bytes']:>8}{row['queries']:>9}"
            f"{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
        )


if __name__ == "__main__":
    main()
