"""Orders in bulk, written by PostgreSQL itself (`generate_series`): a year of history in minutes.

Used by the scale benchmark (bench/scale.py) and the query-plan test (tests/test_query_plans.py),
which need tables large enough for the planner to choose as it would in production. The rows are
what the services would have written for finished orders (the order, one line, its tracking
events, a card payment for half of them, a courier for deliveries) but are inserted directly:
placing a million orders through `order_place` would take hours.

`bulk_world` makes the people and places once: two restaurants with one staff member each,
`customers` customers, `couriers` couriers online, and one "regular" customer whose history is
loaded separately (`regular_orders`), so that their list holds the same number of orders at every
size. `bulk_orders` then adds `count` finished orders spread over the past year; `bulk_active`
adds orders still in the kitchen or on the way, placed in the last hour, with deadlines.
"""

from dataclasses import dataclass

from django.db import connection

# Finished statuses in the proportions of a year of history: most orders end well.
HISTORY_STATUSES = ["COMPLETED"] * 14 + ["DELIVERED"] * 3 + ["CANCELLED", "RESTAURANT_REJECTED", "PAYMENT_FAILED"]
ACTIVE_STATUSES = ["ORDER_PLACED", "PAYMENT_SUCCESS", "RESTAURANT_CONFIRMED", "PREPARING", "READY_FOR_PICKUP"]


@dataclass(frozen=True)
class World:
    restaurant_ids: list[str]
    staff_ids: list[int]
    customer_ids: list[int]
    courier_ids: list[int]
    regular_id: int
    menu_item_ids: list[str]


def bulk_world(*, customers: int = 2000, couriers: int = 200, prefix: str = "bulk") -> World:
    """Restaurants, staff, customers (and a regular) and online couriers; nothing else."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO restaurants_restaurant (id, name, address, latitude, longitude, currency, is_open,
                delivery_fee, tax_rate, average_prep_minutes, time_zone, kitchen_status, busy_minutes,
                slot_capacity_unit, kitchen_stations, created_at)
            SELECT gen_random_uuid(), %s || ' kitchen ' || n, n || ' Bulk Street', 37.77, -122.41, 'USD', true,
                2.50, 0.0825, 20, 'UTC', 'open', 0, 'orders', 4, now()
            FROM generate_series(1, 2) AS n RETURNING id
            """,
            [prefix],
        )
        restaurant_ids = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            """
            INSERT INTO restaurants_menuitem (id, restaurant_id, name, description, price, is_available, position)
            SELECT gen_random_uuid(), r, 'Bulk pizza', '', 12.00, true, 0 FROM unnest(%s::uuid[]) AS r RETURNING id
            """,
            [restaurant_ids],
        )
        menu_item_ids = [str(row[0]) for row in cursor.fetchall()]

        def users(kind: str, count: int) -> list[int]:
            cursor.execute(
                """
                INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                    is_staff, is_active, date_joined)
                SELECT '!', false, %s || '-' || %s || '-' || n, '', '', %s || n || '@example.com', false, true, now()
                FROM generate_series(1, %s) AS n RETURNING id
                """,
                [prefix, kind, kind, count],
            )
            return [row[0] for row in cursor.fetchall()]

        staff_ids = users("staff", 2)
        customer_ids = users("customer", customers)
        regular_id = users("regular", 1)[0]
        courier_ids = users("courier", couriers)
        cursor.execute(
            "INSERT INTO restaurants_staffmembership (user_id, restaurant_id, role) "
            "SELECT * FROM unnest(%s::int[], %s::uuid[]) AS m(user_id, restaurant_id), (SELECT 'staff') AS r",
            [staff_ids, restaurant_ids],
        )
        cursor.execute(
            """
            INSERT INTO delivery_courierprofile (user_id, phone, is_online, latitude, longitude, location_updated_at)
            SELECT u, '', true, 37.77, -122.41, now() FROM unnest(%s::int[]) AS u
            """,
            [courier_ids],
        )
    return World(restaurant_ids, staff_ids, customer_ids, courier_ids, regular_id, menu_item_ids)


def bulk_orders(world: World, *, count: int, start: int, customer_id: int | None = None) -> None:
    """`count` finished orders numbered from `start` (unique across calls), placed over the past
    year, each with one line, three tracking events and, for card orders, a payment. They belong
    to `customer_id` when given, to the world's customers otherwise."""
    _orders(world, count=count, start=start, customer_id=customer_id, active=False)


def bulk_active(world: World, *, count: int, start: int) -> None:
    """`count` orders placed in the last hour, in the kitchen's statuses, each with a deadline one to
    two hours ahead: none falls due while a measurement reads them (a read that finds an order past
    its deadline carries the cancellation out first, which is a write, not the read measured)."""
    _orders(world, count=count, start=start, customer_id=None, active=True)


def _orders(world: World, *, count: int, start: int, customer_id: int | None, active: bool) -> None:
    statuses = ACTIVE_STATUSES if active else HISTORY_STATUSES
    # The placing time: the last hour for active orders, the past year (newest first) otherwise.
    placed = (
        "now() - (random() * interval '1 hour')"
        if active
        else "now() - interval '2 hours' - (random() * interval '365 days')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE TEMP TABLE bulk_batch AS
            SELECT gen_random_uuid() AS id, n, {placed} AS placed_at,
                (%(statuses)s::text[])[1 + (hashint4(n) & 2147483647) %% cardinality(%(statuses)s::text[])] AS status,
                (%(restaurants)s::uuid[])[1 + n %% 2] AS restaurant_id,
                (%(menu_items)s::uuid[])[1 + n %% 2] AS menu_item_id,
                coalesce(
                    %(customer)s::int,
                    (%(customers)s::int[])[1 + (hashint4(n + 7) & 2147483647) %% cardinality(%(customers)s::int[])]
                ) AS customer_id,
                (%(couriers)s::int[])[1 + n %% cardinality(%(couriers)s::int[])] AS courier_id,
                CASE WHEN n %% 3 = 0 THEN 'pickup' ELSE 'delivery' END AS delivery_type,
                CASE WHEN n %% 2 = 0 THEN 'card' ELSE 'cod' END AS payment_method
            FROM generate_series(%(start)s, %(start)s + %(count)s - 1) AS n
            """,
            {
                "statuses": statuses,
                "restaurants": world.restaurant_ids,
                "menu_items": world.menu_item_ids,
                "customer": customer_id,
                "customers": world.customer_ids,
                "couriers": world.courier_ids,
                "start": start,
                "count": count,
            },
        )
        cursor.execute(
            f"""
            INSERT INTO orders_order (id, number, tracking_token, customer_id, restaurant_id, courier_id, status,
                payment_status, delivery_status, refund_status, delivery_type, payment_method, currency,
                subtotal, discount, delivery_fee, tip, tax, total, delivery_title, delivery_street, delivery_city,
                delivery_state, delivery_postal_code, delivery_country, notes, placed_at, paid_at, confirmed_at,
                delivered_at, completed_at, cancelled_at, cancelled_by, cancellation_reason,
                deadline_at, deadline_kind, sequence, updated_at)
            SELECT id,
                'ORD-' || to_char(placed_at, 'YYYYMMDD') || '-'
                    || upper(translate(substr(md5(n::text), 1, 6), '0123456789abcdef', 'k7m2qxprtwz3h9lb')) || n,
                md5(id::text),
                customer_id, restaurant_id,
                CASE WHEN delivery_type = 'delivery' AND status IN ('COMPLETED', 'DELIVERED') THEN courier_id END,
                status,
                CASE WHEN status = 'PAYMENT_FAILED' THEN 'FAILED' WHEN payment_method = 'card' THEN 'PAID'
                     ELSE 'PENDING' END,
                CASE WHEN delivery_type = 'delivery' AND status IN ('COMPLETED', 'DELIVERED') THEN 'delivered'
                     ELSE 'unassigned' END,
                'none', delivery_type, payment_method, 'USD', 24.00, 0, 2.50, 0, 1.98, 28.48,
                '', '1 Bulk Way', 'Bulkville', '', '', '', '', placed_at,
                CASE WHEN payment_method = 'card' THEN placed_at END,
                placed_at + interval '2 minutes',
                CASE WHEN status IN ('COMPLETED', 'DELIVERED') THEN placed_at + interval '40 minutes' END,
                CASE WHEN status = 'COMPLETED' THEN placed_at + interval '41 minutes' END,
                CASE WHEN status IN ('CANCELLED', 'RESTAURANT_REJECTED', 'PAYMENT_FAILED') THEN placed_at END,
                CASE WHEN status = 'CANCELLED' THEN 'customer' WHEN status = 'RESTAURANT_REJECTED' THEN 'restaurant'
                     ELSE '' END,
                '',
                {"now() + interval '1 hour' + random() * interval '1 hour'" if active else "NULL"},
                {"'restaurant_timeout'" if active else "''"},
                3, placed_at + interval '41 minutes'
            FROM bulk_batch
            """
        )
        cursor.execute(
            """
            INSERT INTO orders_orderitem (id, order_id, menu_item_id, name, unit_price, quantity, line_total, notes)
            SELECT gen_random_uuid(), id, menu_item_id, 'Bulk pizza', 12.00, 2, 24.00, '' FROM bulk_batch
            """
        )
        cursor.execute(
            """
            INSERT INTO tracking_trackingevent (id, order_id, sequence, event_type, from_status, to_status,
                actor_role, actor_name, reason, metadata, created_at)
            SELECT gen_random_uuid(), id, s, 'order.status_changed', '', status, 'system', 'system', '', '{}',
                placed_at + (s * interval '10 minutes')
            FROM bulk_batch, generate_series(1, 3) AS s
            """
        )
        cursor.execute(
            """
            INSERT INTO payments_payment (id, order_id, provider, provider_reference, amount, currency, status,
                raw_payload, created_at, updated_at)
            SELECT gen_random_uuid(), id, 'bulk', 'bulk-' || n, 28.48, 'USD', 'SUCCEEDED', '{}', placed_at, placed_at
            FROM bulk_batch WHERE payment_method = 'card'
            """
        )
        cursor.execute("DROP TABLE bulk_batch")


def analyze(*, vacuum: bool = False) -> None:
    """Fresh planner statistics, as autovacuum would have them after a bulk load; with `vacuum`
    (outside a transaction only) the tables are vacuumed too, as autovacuum would have done by
    then: their visibility maps let indexes answer alone, and no autovacuum starts in the middle
    of a measurement."""
    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        for table in ("orders_order", "orders_orderitem", "tracking_trackingevent", "payments_payment", "auth_user"):
            cursor.execute(f"{command} {table}")
