"""EXPLAIN a user's order list at scale: the one-OR visibility filter against the policy's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow python scripts/explain_order_lists.py [--orders 200000]

Creates (and drops again) a scratch database `<name>_explain` beside the one DATABASE_URL
names, migrates it, bulk-inserts orders with SQL `generate_series` (one customer holds 1,000 of
them), and for a customer, a member of staff, a courier and a user who is all three prints the
plan and the median time of the first page of their list, newest first: once filtered as
`customer_id = me OR restaurant_id IN (...) OR courier_id = me`, once as
`orders.visibility.orders_related_to` builds it. Not a test: timings depend on the host.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

RUNS = 15
PAGE = 20


def _scratch_database(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base, f"{name}_explain"


def _recreate(base: str, name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


SEED = """
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                       date_joined)
SELECT n, '!', false, 'user' || n, '', '', '', false, true, now() FROM generate_series(1, {users}) n;
INSERT INTO delivery_courierprofile (user_id, phone, is_online)
SELECT n, '', true FROM generate_series({users} - 200, {users} - 1) n;
INSERT INTO restaurants_restaurant (id, name, address, latitude, longitude, currency, is_open, delivery_fee, tax_rate,
                                    average_prep_minutes, time_zone, kitchen_status, busy_minutes,
                                    slot_capacity_unit, kitchen_stations, created_at)
SELECT md5('r' || n)::uuid, 'Restaurant ' || n, 'Street ' || n, 37.77, -122.41, 'USD', true, 0, 0, 20, 'UTC', 'open', 0,
       'orders', 4, now()
FROM generate_series(1, {restaurants}) n;
-- User 1 is the customer with 1,000 orders; user 2 also works at restaurant 1 and delivers.
INSERT INTO restaurants_staffmembership (user_id, restaurant_id, role) VALUES (2, md5('r1')::uuid, 'staff');
-- The last user works at restaurant 2 and places no orders; the 200 before it deliver.
INSERT INTO restaurants_staffmembership (user_id, restaurant_id, role) VALUES ({users}, md5('r2')::uuid, 'staff');
INSERT INTO delivery_courierprofile (user_id, phone, is_online) VALUES (2, '', true);
INSERT INTO orders_order (id, number, customer_id, restaurant_id, courier_id, status, payment_status, delivery_status,
                          refund_status, delivery_type, payment_method, currency, subtotal, discount, delivery_fee,
                          tip, tax, total, delivery_title, delivery_street, delivery_city, delivery_state,
                          delivery_postal_code, delivery_country, notes, placed_at, cancelled_by,
                          cancellation_reason, deadline_kind, sequence, updated_at)
SELECT md5('o' || n)::uuid, 'ORD-' || n,
       CASE WHEN n % ({orders} / 1000) = 0 THEN 1 WHEN n % 997 = 0 THEN 2 ELSE 3 + n % ({users} - 202) END,
       md5('r' || (1 + n % {restaurants}))::uuid,
       CASE WHEN n % 5000 = 0 THEN 2 WHEN n % 3 = 0 THEN {users} - 1 - n % 200 END,
       'DELIVERED', 'PAID', 'DELIVERED', 'NONE', 'DELIVERY', 'CARD', 'USD', 10, 0, 0, 0, 0, 10,
       '', '', '', '', '', '', '', now() - n * interval '1 minute', '', '', '', 1, now()
FROM generate_series(1, {orders}) n;
ANALYZE;
"""


def _median_ms(queryset) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        list(queryset.all())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="leave the scratch database in place")
    options = parser.parse_args()
    base, name = _scratch_database(os.environ["DATABASE_URL"])
    _recreate(base, name)
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    try:
        _explain(options.orders, base, name)
    finally:
        if not options.keep:
            from django.db import connections

            connections.close_all()
            _recreate(base, name, drop_only=True)


def _explain(orders: int, base: str, name: str) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Q

    from orders.models import Order
    from orders.visibility import orders_related_to
    from restaurants.models import StaffMembership

    call_command("migrate", verbosity=0)
    with psycopg.connect(f"{base}/{name}", autocommit=True) as connection:
        connection.execute(SEED.format(users=5_000, restaurants=50, orders=int(orders)).encode())
    print(f"{Order.objects.count()} orders")
    actors = (("customer only", 1), ("staff only", 5_000), ("courier only", 4_999), ("customer, staff and courier", 2))
    for label, user_id in actors:
        user = get_user_model().objects.get(pk=user_id)
        one_or = Order.objects.filter(
            Q(customer_id=user.pk)
            | Q(restaurant_id__in=StaffMembership.objects.filter(user_id=user.pk).values("restaurant_id"))
            | Q(courier_id=user.pk)
        )
        for shape, orders_seen in (("one OR", one_or), ("policy", orders_related_to(user=user))):
            page = orders_seen.order_by("-placed_at", "-id")[:PAGE]
            count = orders_seen.order_by()
            print(f"\n== {label}, {shape}: first page {_median_ms(page):.1f} ms (median of {RUNS}),", end=" ")
            started = time.perf_counter()
            total = count.count()
            print(f"count {total} in {(time.perf_counter() - started) * 1000:.1f} ms")
            print(page.explain(analyze=True))


if __name__ == "__main__":
    main()
