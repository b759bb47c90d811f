"""Every hot read stays on an index when the tables are large.

30,000 orders (with their lines, events and payments) are written in bulk by PostgreSQL
(tests/bulk_orders.py), ANALYZEd, and every hot read is made the way users make it (through the
API, the admin or the sweep); each SQL statement it runs is EXPLAINed, and none may read a large
table from end to end (`Seq Scan` on orders, lines, events or payments). A sequential scan of a
table that grows with history makes the read cost more every day (docs/operations/performance.md).
The searches, which an index walked in order would also serve by reading every order, are run
with EXPLAIN ANALYZE and must read few rows.
The rows live in one transaction per module, rolled back at the end.
"""

import json

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from orders.lifecycle import KITCHEN_STATUSES
from orders.models import KITCHEN_QUEUE_STATUSES, Order
from restaurants.services import staff_group_ensure
from tests.bulk_orders import analyze, bulk_active, bulk_orders, bulk_world
from tests.plan_limits import under_limit

# Marked for the database so that pytest-django creates the test database; each test then runs
# in a savepoint inside the module's transaction.
pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LARGE_TABLES = {"orders_order", "orders_orderitem", "tracking_trackingevent", "payments_payment"}
HISTORY = 30_000


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        world = bulk_world(customers=500, couriers=50, prefix="plans")
        bulk_orders(world, count=1000, start=0, customer_id=world.regular_id)
        bulk_active(world, count=200, start=1000)
        bulk_orders(world, count=HISTORY, start=1200)
        analyze()
        from django.contrib.auth import get_user_model

        staff = get_user_model().objects.get(pk=world.staff_ids[0])
        staff.is_staff = True
        staff.save(update_fields=["is_staff"])
        staff.groups.add(staff_group_ensure())
        yield world
        transaction.set_rollback(True)


def _client(user_id: int) -> Client:
    from django.contrib.auth import get_user_model

    return Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(get_user_model().objects.get(pk=user_id))}")


def _sequential_scans(node: dict, *, limited: bool = False) -> list[str]:
    """Sequential scans of large tables, except one that a Limit stops (`LIMIT n` with nothing
    between that must read everything first): it reads until it has n rows, as the bounded count
    of a long list does (core.pagination.LongListPaginator)."""
    limited = under_limit(node, limited=limited)
    found = []
    if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES and not limited:
        found.append(node["Relation Name"])
    for child in node.get("Plans", []):
        found += _sequential_scans(child, limited=limited)
    return found


def _plans(make_call, *, analyze: bool = False) -> list[tuple[str, dict]]:
    """Run the call, then EXPLAIN (and with `analyze`, run again) every SELECT it ran: (sql, plan)."""
    with CaptureQueriesContext(connection) as captured:
        make_call()
    statements = [query["sql"] for query in captured.captured_queries if query["sql"].lstrip().startswith("SELECT")]
    assert statements, "the call ran no query"
    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            plans.append((sql, plan[0]["Plan"]))
    return plans


def assert_index_served(make_call) -> None:
    """Run the call, EXPLAIN every statement it ran, and fail on a sequential scan of a large table."""
    offenders = [
        f"Seq Scan on {', '.join(scans)}: {sql[:300]}"
        for sql, plan in _plans(make_call)
        if (scans := _sequential_scans(plan))
    ]
    assert not offenders, "\n".join(offenders)


SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def _rows_read(node: dict) -> int:
    """Rows of large tables the plan's scans read: those they kept and those their filters dropped."""
    read = 0
    if node["Node Type"] in SCANS and node.get("Relation Name") in LARGE_TABLES:
        dropped = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        read += (node["Actual Rows"] + dropped) * node["Actual Loops"]
    return read + sum(_rows_read(child) for child in node.get("Plans", []))


def assert_reads_few(make_call, most: int) -> None:
    """Run the call and fail when a statement's scans read more than `most` rows of the large
    tables: an index walked from end to end with a filter costs what a sequential scan does."""
    heavy = [
        f"{read} rows read: {sql[:300]}"
        for sql, plan in _plans(make_call, analyze=True)
        if (read := _rows_read(plan)) > most
    ]
    assert not heavy, "\n".join(heavy)


def _get(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return response


def test_the_kitchen_statuses_are_those_of_the_queue_index():
    assert tuple(KITCHEN_STATUSES) == KITCHEN_QUEUE_STATUSES


def test_order_detail_and_status_through_the_database(world):
    order = Order.objects.filter(customer_id=world.regular_id).values_list("pk", flat=True).first()
    customer = _client(world.regular_id)
    assert_index_served(lambda: _get(customer, f"/api/orders/{order}/?include=history,payments"))


def test_kitchen_queue(world):
    staff = _client(world.staff_ids[0])
    assert_index_served(lambda: _get(staff, "/api/restaurants/orders/queue/"))


def test_sweep_overdue_detection(world):
    def overdue():
        return list(
            Order.objects.filter(deadline_at__lte=timezone.now()).order_by("deadline_at").values_list("pk")[:500]
        )

    assert_index_served(overdue)


@pytest.mark.parametrize(
    "query",
    [
        "?queue=active",
        "",
        "?status__exact=COMPLETED",
        "?payment_status__exact=PAID",
        "?placed_at__gte=2020-01-01",
    ],
)
def test_staff_admin_order_list(world, query):
    from django.contrib.auth import get_user_model

    admin_client = Client()
    admin_client.force_login(get_user_model().objects.get(pk=world.staff_ids[0]))
    assert_index_served(lambda: _get(admin_client, f"/admin/orders/order/{query}"))


def test_customer_list_of_a_thousand_orders(world):
    customer = _client(world.regular_id)
    assert_index_served(lambda: _get(customer, "/api/orders/?page_size=20"))


def test_staff_api_list_by_cursor(world):
    staff = _client(world.staff_ids[0])
    assert_index_served(lambda: _get(staff, "/api/orders/?page_size=20&pagination=cursor"))


def _piece_of_a_number(world) -> str:
    """Four characters of the drawn part of the number (`ORD-YYYYMMDD-XXXXXXn`) of an order of the
    first staff member's restaurant."""
    orders = Order.objects.filter(restaurant_id=world.restaurant_ids[0]).order_by("pk")
    number = orders.values_list("number", flat=True)[500]
    return number[14:18].lower()


def test_staff_api_search_by_a_piece_of_the_number(world):
    staff = _client(world.staff_ids[0])
    piece = _piece_of_a_number(world)
    path = f"/api/orders/?page_size=20&include_cancelled=true&search={piece}"
    assert _get(staff, path).json()["results"], piece
    assert_index_served(lambda: _get(staff, path))
    assert_reads_few(lambda: _get(staff, path), most=HISTORY // 20)


@pytest.mark.parametrize("term", ["number", "customer", "both"])
def test_staff_admin_search_box(world, term):
    from django.contrib.auth import get_user_model

    admin_client = Client()
    admin_client.force_login(get_user_model().objects.get(pk=world.staff_ids[0]))
    words = {"number": _piece_of_a_number(world), "customer": "plans-customer-17"}
    words["both"] = f"{words['customer']} {words['number']}"
    path = f"/admin/orders/order/?q={words[term]}"
    assert_index_served(lambda: _get(admin_client, path))
    assert_reads_few(lambda: _get(admin_client, path), most=HISTORY // 20)
