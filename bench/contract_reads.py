"""What the client contracts cost next to the native API: the same reads through each
contract's adapter, with latency, payload size and queries per request.

In-process (Django's test client, a real JWT) on a scratch PostgreSQL database named after
DATABASE_URL's (`<name>_bench`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow \
      .venv/bin/python bench/contract_reads.py [--orders 500] [--rounds 300]

The native reads are the baseline: an adapter should add renaming, not queries.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

from _setup import customer_with_orders, orders_and_rounds, repeated, scratch_database
from django.db import connection
from django.test.utils import setup_test_environment

from tracking.contracts.mobile_orders import int_id


class QueryCounter:
    """Counts the statements a request runs (the debug log is reset by each request as it starts)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(client, path, rounds):
    queries = QueryCounter()
    with connection.execute_wrapper(queries):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return {"bytes": len(response.content), "queries": queries.count, **repeated(lambda: client.get(path), rounds)}


def main():
    args = orders_and_rounds()

    setup_test_environment()
    with scratch_database():
        orders, client = customer_with_orders(args.orders)
        order = orders[-1]
        rounds, fewer = args.rounds, max(args.rounds // 3, 10)
        groups = {
            "lean status": [
                ("native /api/orders/{id}/status/", f"/api/orders/{order.pk}/status/", rounds),
                ("customer tracking /status", f"/api/v1/orders/{order.pk}/status", rounds),
                ("poll-status", f"/api/orders/{order.pk}/poll-status", rounds),
            ],
            "one order in full": [
                ("native /api/orders/{id}/", f"/api/orders/{order.pk}/", rounds),
                ("customer tracking", f"/api/v1/orders/{order.pk}", rounds),
                ("three-status", f"/v1/online-ordering/orders/{order.pk}", rounds),
                ("mobile orders", f"/mobile/api/orders/{int_id(order.pk)}?include=payments", rounds),
            ],
            "a list page": [
                ("native, 20 a page", "/api/orders/?page_size=20", fewer),
                ("customer tracking, 10 a page", "/api/v1/orders/my?pageSize=10", fewer),
                ("three-status, 20 a page", "/v1/online-ordering/orders?limit=20", fewer),
                ("mobile orders, 15 a page", "/mobile/api/orders", fewer),
            ],
        }
        results = {
            group: [(name, measure(client, path, n)) for name, path, n in cases] for group, cases in groups.items()
        }

    print(f"{connection.vendor}, {args.orders} orders of one customer, JWT auth, in-process client")
    print(f"{'request':<34}{'bytes':>8}{'queries':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for group, rows in results.items():
        print(f"-- {group}")
        for name, row in rows:
            print(f"{name:<34}{row['bytes']:>8}{row['queries']:>9}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}")


if __name__ == "__main__":
    main()
