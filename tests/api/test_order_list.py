from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import DeliveryType, OrderStatus, PaymentMethod, PaymentStatus
from tests.api.support import problem
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

S = OrderStatus
SUMMARY_FIELDS = {  # the list's summary fields, in alphabetical order
    "currency",
    "customer",
    "delivery_status",
    "delivery_type",
    "id",
    "item_count",
    "last_update",
    "order_number",
    "order_placed_at",
    "order_status",
    "order_status_name",
    "payment_method",
    "payment_status",
    "restaurant",
    "restaurant_name",
    "total_amount",
}


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["order_number"] for row in response.json()["results"]]


def make(customer, restaurant, status, *, minutes_ago=0, **fields):
    return OrderFactory(
        customer=customer,
        restaurant=restaurant,
        status=status,
        number=fields.pop("number", f"ORD-{status[:10]}-{minutes_ago:03d}-{fields.get('delivery_type', 'd')[:1]}"),
        placed_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


# ---------------------------------------------------------------- who sees what


def test_lists_your_orders_newest_first_as_lean_summaries(alice, customer, other_customer, restaurant):
    old = make(customer, restaurant, S.ORDER_PLACED, minutes_ago=30)
    OrderItemFactory(order=old, quantity=2)
    OrderItemFactory(order=old, quantity=3)
    new = make(customer, restaurant, S.PREPARING, minutes_ago=1)
    make(other_customer, restaurant, S.ORDER_PLACED, minutes_ago=2, number="CAROLS")

    response = alice.get("/api/orders/")

    assert numbers(response) == [new.number, old.number]
    body = response.json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    row = body["results"][1]
    assert set(row) == SUMMARY_FIELDS
    assert row["item_count"] == 5
    assert row["restaurant_name"] == "Pizza Palace"
    assert row["total_amount"] == "26.99" and row["currency"] == "USD"


def test_staff_list_their_restaurants_orders(kitchen, other_kitchen, customer, restaurant, other_restaurant):
    pizza = make(customer, restaurant, S.ORDER_PLACED)
    sushi = make(customer, other_restaurant, S.ORDER_PLACED, minutes_ago=5)

    assert numbers(kitchen.get("/api/orders/")) == [pizza.number]
    assert numbers(other_kitchen.get("/api/orders/")) == [sushi.number]


def test_couriers_list_their_deliveries(dave, erin, customer, restaurant, courier_user):
    mine = make(customer, restaurant, S.OUT_FOR_DELIVERY, courier=courier_user)
    make(customer, restaurant, S.RESTAURANT_CONFIRMED, minutes_ago=3)  # offered, listed under /available/

    assert numbers(dave.get("/api/orders/")) == [mine.number]
    assert numbers(erin.get("/api/orders/")) == []


def test_superuser_lists_every_order(admin, customer, other_customer, restaurant, other_restaurant):
    make(customer, restaurant, S.ORDER_PLACED)
    make(other_customer, other_restaurant, S.ORDER_PLACED, minutes_ago=1)

    assert len(numbers(admin.get("/api/orders/"))) == 2


# ---------------------------------------------------------------- tabs (the mobile order API)

TAB_CASES = [
    # (status, delivery type, returned, tab)
    (S.PAYMENT_PENDING, "delivery", False, "to_pay"),
    (S.ORDER_PLACED, "delivery", False, "to_ship"),
    (S.PAYMENT_SUCCESS, "delivery", False, "to_ship"),
    (S.RESTAURANT_CONFIRMED, "delivery", False, "to_ship"),
    (S.PREPARING, "pickup", False, "to_ship"),
    (S.READY_FOR_PICKUP, "delivery", False, "to_ship"),
    (S.READY_FOR_PICKUP, "pickup", False, "to_receive"),
    (S.ORDER_PICKED_UP, "delivery", False, "to_receive"),
    (S.OUT_FOR_DELIVERY, "delivery", False, "to_receive"),
    (S.DELIVERED, "delivery", False, "completed"),
    (S.COMPLETED, "pickup", False, "completed"),
    (S.CANCELLED, "delivery", False, "cancelled"),
    (S.RESTAURANT_REJECTED, "delivery", False, "cancelled"),
    (S.PAYMENT_FAILED, "delivery", False, "cancelled"),
    (S.REFUND_COMPLETED, "delivery", False, "cancelled"),
    (S.RETURNED, "delivery", True, "returned"),
    (S.REFUND_COMPLETED, "delivery", True, "returned"),
]
TABS = ["to_pay", "to_ship", "to_receive", "completed", "cancelled", "returned"]


@pytest.fixture
def every_state(customer, restaurant):
    orders = {}
    for index, (status, delivery_type, returned, tab) in enumerate(TAB_CASES):
        order = make(
            customer,
            restaurant,
            status,
            minutes_ago=index,
            delivery_type=delivery_type,
            returned_at=timezone.now() if returned else None,
        )
        orders[order.number] = tab
    return orders


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_holds_exactly_its_orders(alice, every_state, tab):
    expected = {number for number, order_tab in every_state.items() if order_tab == tab}

    listed = numbers(alice.get("/api/orders/", {"tab": tab, "page_size": 100}))

    assert set(listed) == expected
    assert len(listed) == len(expected)


def test_tabs_cover_every_status_once(every_state):
    assert sorted(every_state.values()) == sorted(tab for *_, tab in TAB_CASES)
    assert {status for status, *_ in TAB_CASES} == set(OrderStatus)


def test_cancelled_orders_are_left_out_unless_asked_for(alice, every_state):
    cancelled = {number for number, tab in every_state.items() if tab == "cancelled"}

    default = set(numbers(alice.get("/api/orders/", {"page_size": 100})))
    included = set(numbers(alice.get("/api/orders/", {"page_size": 100, "include_cancelled": "true"})))

    assert default == set(every_state) - cancelled
    assert included == set(every_state)


# ---------------------------------------------------------------- field filters


def test_status_filter_takes_one_or_several_and_aliases(alice, every_state):
    single = numbers(alice.get("/api/orders/", {"status": "PREPARING"}))
    repeated = numbers(alice.get("/api/orders/?status=PREPARING&status=ORDER_CONFIRMED"))
    comma = numbers(alice.get("/api/orders/?status=preparing,FOOD_BEING_PREPARED,CANCELLED"))

    assert single == ["ORD-PREPARING-004-p"]
    assert set(repeated) == {"ORD-PREPARING-004-p", "ORD-RESTAURANT-003-d"}
    assert set(comma) == {"ORD-PREPARING-004-p", "ORD-CANCELLED-011-d"}  # asking for CANCELLED includes it


def test_field_filters_combine_with_and(alice, customer, restaurant, other_restaurant):
    now = timezone.now()
    target = make(
        customer,
        restaurant,
        S.DELIVERED,
        number="ORD-20260101-TARGET",
        payment_status=PaymentStatus.PAID,
        payment_method=PaymentMethod.ONLINE,
        delivery_type=DeliveryType.PICKUP,
    )
    make(
        customer,
        other_restaurant,
        S.DELIVERED,
        number="ORD-20260101-OTHERR",
        payment_status=PaymentStatus.PAID,
        delivery_type=DeliveryType.PICKUP,
    )
    make(customer, restaurant, S.DELIVERED, number="ORD-20260101-UNPAID", delivery_type=DeliveryType.PICKUP)
    make(customer, restaurant, S.DELIVERED, number="ORD-20260101-DELIVR", payment_status=PaymentStatus.PAID)
    make(
        customer,
        restaurant,
        S.DELIVERED,
        number="ORD-20260101-OLDONE",
        payment_status=PaymentStatus.PAID,
        delivery_type=DeliveryType.PICKUP,
        minutes_ago=3 * 24 * 60,
    )

    params = {
        "payment_status": "paid",
        "delivery_type": "PICKUP",
        "restaurant": str(restaurant.pk),
        "date_from": (now - timedelta(days=1)).isoformat(),
        "date_to": (now + timedelta(minutes=1)).isoformat(),
    }

    assert numbers(alice.get("/api/orders/", params)) == [target.number]
    assert numbers(alice.get("/api/orders/", {**params, "search": "target"})) == [target.number]
    assert numbers(alice.get("/api/orders/", {**params, "search": "nothing"})) == []
    # Sub-statuses are written in lower case and read in either.
    assert numbers(alice.get("/api/orders/", {**params, "payment_status": "PAID"})) == [target.number]
    assert alice.get("/api/orders/", params).json()["results"][0]["payment_status"] == "paid"


def test_dates_may_be_whole_days(alice, customer, restaurant):
    today = timezone.now().date()
    order = make(customer, restaurant, S.ORDER_PLACED)
    make(customer, restaurant, S.ORDER_PLACED, minutes_ago=2 * 24 * 60)

    assert numbers(alice.get("/api/orders/", {"date_from": today.isoformat(), "date_to": today.isoformat()})) == [
        order.number
    ]
    assert numbers(alice.get("/api/orders/", {"date_to": (today - timedelta(days=3)).isoformat()})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tab": "to_teleport"}, "tab"),
        ({"status": "EATEN"}, "status"),
        ({"status": "PREPARING,EATEN"}, "status"),
        ({"payment_status": "maybe"}, "payment_status"),
        ({"delivery_type": "drone"}, "delivery_type"),
        ({"restaurant": "pizza-palace"}, "restaurant"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-13-45"}, "date_to"),
        ({"include_cancelled": "perhaps"}, "include_cancelled"),
        ({"search": "x" * 200}, "search"),
        ({"page": "first"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "-5"}, "page_size"),
        ({"page_size": "9" * 40}, "page_size"),
        ({"pagination": "infinite"}, "pagination"),
        ({"cursor": "bm9wZQ=="}, "cursor"),
    ],
)
def test_unknown_filter_values_are_400_naming_the_field(alice, params, field):
    body = problem(alice.get("/api/orders/", params), 400, "validation_error")

    assert list(body["errors"]) == [field]


# ---------------------------------------------------------------- pagination


@pytest.fixture
def seven_orders(customer, restaurant):
    return [make(customer, restaurant, S.ORDER_PLACED, minutes_ago=minutes).number for minutes in range(7)]


def test_page_pagination(alice, seven_orders):
    first = alice.get("/api/orders/", {"page_size": 3}).json()
    third = alice.get("/api/orders/", {"page_size": 3, "page": 3}).json()

    assert first["count"] == 7
    assert [row["order_number"] for row in first["results"]] == seven_orders[:3]
    assert "page=2" in first["next"] and first["previous"] is None
    assert [row["order_number"] for row in third["results"]] == seven_orders[6:]
    assert third["next"] is None and "page=2" in third["previous"]


def test_page_past_the_end_is_404(alice, seven_orders):
    problem(alice.get("/api/orders/", {"page": 9}), 404, "not_found")


def test_page_size_is_capped(alice, seven_orders, settings):
    settings.ORDERFLOW_API_MAX_PAGE_SIZE = 5

    assert len(alice.get("/api/orders/", {"page_size": 1000}).json()["results"]) == 5


def test_cursor_pagination_walks_every_order_once(alice, seven_orders):
    seen, pages = [], 0
    page = alice.get("/api/orders/", {"pagination": "cursor", "page_size": 3}).json()
    while True:
        pages += 1
        assert set(page) == {"has_more", "next_cursor", "results"}
        seen += [row["order_number"] for row in page["results"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        page = alice.get("/api/orders/", {"cursor": page["next_cursor"], "page_size": 3}).json()

    assert seen == seven_orders
    assert pages == 3


def test_cursor_pagination_keeps_filters(alice, seven_orders, customer, restaurant):
    make(customer, restaurant, S.PREPARING, minutes_ago=100, number="ORD-PREP-ONLY")

    page = alice.get("/api/orders/", {"pagination": "cursor", "status": "PREPARING"}).json()

    assert [row["order_number"] for row in page["results"]] == ["ORD-PREP-ONLY"]
    assert page["has_more"] is False


# ---------------------------------------------------------------- query counts


def _orders_with_lines(customer, restaurant, count):
    for minutes in range(count):
        order = make(customer, restaurant, S.ORDER_PLACED, minutes_ago=minutes, number=f"ORD-Q-{minutes:03d}")
        OrderItemFactory(order=order)
        OrderItemFactory(order=order)


@pytest.mark.parametrize("params", [{}, {"pagination": "cursor"}, {"tab": "to_ship", "status": "ORDER_PLACED"}])
def test_list_query_count_does_not_grow_with_the_page(alice, customer, restaurant, django_assert_num_queries, params):
    _orders_with_lines(customer, restaurant, 25)
    # The caller's relations (orders.visibility.orders_related_to), (the planner's estimate and
    # the count, core.pagination.LongListPaginator +) one page query.
    expected = 2 if params.get("pagination") == "cursor" else 4

    with django_assert_num_queries(expected):
        small = alice.get("/api/orders/", {**params, "page_size": 2})
    with django_assert_num_queries(expected):
        large = alice.get("/api/orders/", {**params, "page_size": 25})

    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 25
