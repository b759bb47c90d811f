"""Finding orders by a piece of their number (orders/search.py): the API's `search` and the staff
admin's search box. In PostgreSQL the bigram index narrows the orders and `ILIKE` keeps those that
hold the piece itself; whatever the index narrows, the answer is the one `ILIKE` alone gives.
(The same search on SQLite runs in tests/pages/test_one_command_start.py.)"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from orders import search
from orders.models import Order
from orders.search import number_grams, orders_matching_search, orders_with_number_holding
from restaurants.services import staff_group_ensure
from tests.factories import OrderFactory, UserFactory

CHANGELIST = reverse("admin:orders_order_changelist")
NUMBERS = {
    "plain": "ORD-20260101-X7K2AB",
    # Holds the bigrams of "X7X" (X7, 7X) but not "X7X" itself.
    "scattered": "ORD-20260101-X77XQQ",
    "together": "ORD-20260101-X7X000",
    "percent": "ORD-20260101-50%OFF",
    "underscore": "ORD-20260101-A_B000",
}


@pytest.fixture
def orders(restaurant, customer):
    return {
        name: OrderFactory(restaurant=restaurant, customer=customer, number=number) for name, number in NUMBERS.items()
    }


def found(queryset) -> set[str]:
    by_number = {number: name for name, number in NUMBERS.items()}
    return {by_number[number] for number in queryset.values_list("number", flat=True)}


def test_the_bigrams_of_a_piece():
    assert number_grams("x7k2") == ["7K", "K2", "X7"]
    assert number_grams("aaa") == ["AA"]
    assert number_grams("7") == []
    assert number_grams("") == []
    # Upper case outside ASCII is left to ILIKE alone: PostgreSQL's and Python's may differ.
    assert number_grams("ßx") == []


@pytest.mark.parametrize(
    ("piece", "expected"),
    [
        ("x7k2", {"plain"}),  # any case
        ("X7", {"plain", "scattered", "together"}),  # two characters: one bigram
        ("X7X", {"together"}),  # the bigrams alone would also find "scattered"
        ("7", {"plain", "scattered", "together"}),  # one character: no bigram
        ("%", {"percent"}),  # wildcards of LIKE are characters like any other
        ("_", {"underscore"}),
        ("A_B", {"underscore"}),
        ("ORD-2026", set(NUMBERS)),
        ("Ölçü", set()),
        ("ZZZ", set()),
    ],
)
def test_a_piece_of_the_number_finds_the_orders_that_hold_it(orders, piece, expected):
    assert found(orders_with_number_holding(Order.objects.all(), piece)) == expected
    assert found(Order.objects.filter(number__icontains=piece)) == expected


def test_postgresql_asks_the_bigram_index(orders):
    if connection.vendor != "postgresql":
        pytest.fail("the bigram index is PostgreSQL's; the test run uses PostgreSQL")
    with CaptureQueriesContext(connection) as captured:
        list(orders_with_number_holding(Order.objects.all(), "x7k"))
    assert "orderflow_number_grams" in captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT orderflow_number_grams('ord-1x7')")
        assert sorted(cursor.fetchone()[0]) == ["-1", "1X", "D-", "OR", "RD", "X7"]
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'order_number_grams_idx'")
        assert "gin (orderflow_number_grams((number)::text))" in cursor.fetchone()[0]


def test_the_api_search(orders, customer):
    client = APIClient()
    client.force_authenticate(customer)
    response = client.get("/api/orders/", {"search": "x7x"})
    assert response.status_code == 200, response.content
    assert [order["order_number"] for order in response.json()["results"]] == [NUMBERS["together"]]


def test_the_admin_search_box_by_number_customer_and_both(restaurant, staff_user, client):
    bob = UserFactory(username="bob", email="bob@example.com")
    zoe = UserFactory(username="zoe", email="zoe@bobcat.example")
    bobs = OrderFactory(restaurant=restaurant, customer=bob, number="ORD-20260101-X7K2AB")
    zoes = OrderFactory(restaurant=restaurant, customer=zoe, number="ORD-20260101-X7QQQQ")
    staff_user.groups.add(staff_group_ensure())
    client.force_login(staff_user)

    def listed(term: str) -> set[int]:
        response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return {order.pk for order in response.context["cl"].result_list}

    assert listed("x7k2") == {bobs.pk}
    assert listed("X7") == {bobs.pk, zoes.pk}
    assert listed("bob") == {bobs.pk, zoes.pk}  # zoe's email holds "bob"
    assert listed("bob@example.com") == {bobs.pk}
    assert listed("zoe x7") == {zoes.pk}  # every word must match
    assert listed('"zoe x7"') == set()  # a quoted phrase is one word
    assert listed("nobody") == set()


def test_a_word_naming_many_customers_is_looked_up_by_a_subquery(restaurant, customer, monkeypatch):
    bob = UserFactory(username="bob1")
    bob2 = UserFactory(username="bob2")
    first = OrderFactory(restaurant=restaurant, customer=bob, number="ORD-20260101-AAAAAA")
    second = OrderFactory(restaurant=restaurant, customer=bob2, number="ORD-20260101-BBBBBB")
    OrderFactory(restaurant=restaurant, customer=customer, number="ORD-20260101-CCCCCC")
    monkeypatch.setattr(search, "CUSTOMERS_AS_VALUES", 1)
    with CaptureQueriesContext(connection) as captured:
        pks = set(orders_matching_search(Order.objects.all(), "bob").values_list("pk", flat=True))
    assert pks == {first.pk, second.pk}
    assert "SELECT" in captured.captured_queries[-1]["sql"].split("WHERE", 1)[1]
