"""One visibility policy (orders/visibility.py), asked by every entry point.

Part one walks every relation a user can have to an order across the entry points that show an
order (the native API's detail, list and status poll, the order socket, each client contract's
detail, the customer's order page and the admin) and checks that each answers as the policy
says. Part two reads the source: a module that decides on its own who may see an order (a
lookup or comparison on the order's customer or courier, a staff-membership check) fails the
test unless it is the policy or on the allow-list below, with its reason.
"""

import ast
import uuid
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from delivery.models import CourierProfile
from orders.models import OrderStatus
from orders.visibility import ALLOWANCES, CUSTOMER_TRACKING_ROLES, Relation, order_access, orders_related_to
from restaurants.services import staff_group_ensure
from tests.api.test_authorization_matrix import RELATIONS as PEOPLE  # every user of the `people` fixture
from tests.factories import CourierFactory, OrderFactory, UserFactory, assign, place_order, to_ready
from tests.tracking.conftest import IN_MEMORY_LAYER, close_code, receive, socket
from tracking.contracts.mobile_orders import ID_SHIFT

ROOT = Path(__file__).resolve().parent.parent

# Who is what to the two orders of `orders`: `waiting` waits for a courier (online couriers may
# claim it); `assigned` is `courier`'s. Anyone not named has no relation (the order is hidden).
EXPECTED = {
    "waiting": {
        "customer": Relation.CUSTOMER,
        "staff": Relation.RESTAURANT_STAFF,
        "courier": Relation.CLAIMABLE_COURIER,
        "other_online_courier": Relation.CLAIMABLE_COURIER,
        "admin": Relation.OPERATOR,
    },
    "assigned": {
        "customer": Relation.CUSTOMER,
        "staff": Relation.RESTAURANT_STAFF,
        "courier": Relation.ASSIGNED_COURIER,
        "admin": Relation.OPERATOR,
    },
}
CELLS = [(name, person) for name in EXPECTED for person in PEOPLE]


@pytest.fixture
def orders(people, menu, offers_dispatch):
    waiting = to_ready(place_order(people["customer"], menu["salad"], quantity=2), people["staff"])
    assigned = to_ready(place_order(people["customer"], menu["salad"], quantity=2), people["staff"])
    assign(assigned, people["courier"])
    CourierProfile.objects.filter(user=people["offline_courier"]).update(is_online=False)
    return {"waiting": waiting, "assigned": assigned}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def expected(name: str, person: str) -> Relation | None:
    return EXPECTED[name].get(person)


# ---------------------------------------------------------------- every relation x every entry point


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "person"), CELLS)
def test_the_policy_names_each_relation(name, person, people, orders):
    relation = expected(name, person)
    if relation is None:
        with pytest.raises(Exception, match="visible"):
            order_access(user=people[person], order_id=orders[name].pk)
        return
    access = order_access(user=people[person], order_id=orders[name].pk)
    assert (access.relation, access.actor.role) == (relation, ALLOWANCES[relation].role)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "person"), CELLS)
def test_the_native_api_answers_per_the_policy(name, person, people, orders):
    order, relation = orders[name], expected(name, person)
    client = api(people[person])

    detail = client.get(f"/api/orders/{order.pk}/")
    status = client.get(f"/api/orders/{order.pk}/status/")
    listed = [row["id"] for row in client.get("/api/orders/", {"page_size": 100}).json()["results"]]

    if relation is None:
        assert (detail.status_code, status.status_code) == (404, 404)
    else:
        assert (detail.status_code, status.status_code) == (200, 200)
        # Who does not see the customer sees the courier's preview (the drop-off as an area).
        assert ("drop_off_area" in detail.json()) is not ALLOWANCES[relation].sees_customer
    assert (str(order.pk) in listed) is (relation is not None and ALLOWANCES[relation].listed)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "person"), CELLS)
def test_each_client_contract_answers_per_the_policy(name, person, people, orders):
    order, relation = orders[name], expected(name, person)
    client = api(people[person])
    reads_customer_side = relation is not None and ALLOWANCES[relation].role in CUSTOMER_TRACKING_ROLES
    sees_customer = relation is not None and ALLOWANCES[relation].sees_customer

    answers = {
        "customer tracking detail": client.get(f"/api/v1/orders/{order.pk}").status_code,
        "customer tracking status": client.get(f"/api/v1/orders/{order.pk}/status").status_code,
        "three-status detail": client.get(f"/v1/online-ordering/orders/{order.pk}").status_code,
        "poll-status": client.get(f"/api/orders/{order.pk}/poll-status").status_code,
        "mobile detail": client.get(f"/mobile/api/orders/{order.pk.int >> ID_SHIFT}").status_code,
    }

    assert answers == {
        "customer tracking detail": 200 if reads_customer_side else 404,
        "customer tracking status": 200 if reads_customer_side else 404,
        "three-status detail": 200 if relation is not None else 404,
        "poll-status": 200 if relation is not None else 404,
        "mobile detail": 200 if relation is not None and ALLOWANCES[relation].listed and sees_customer else 404,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "person"), CELLS)
def test_the_order_socket_opens_per_the_policy(name, person, people, orders, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER
    order, relation = orders[name], expected(name, person)

    @async_to_sync
    async def first_frame() -> dict:
        communicator = socket(f"ws/orders/{order.pk}/", people[person])
        connected, _ = await communicator.connect()
        assert connected
        try:
            if relation is None:
                return {"closed": await close_code(communicator)}
            return await receive(communicator)
        finally:
            await communicator.disconnect()

    frame = first_frame()
    if relation is None:
        assert frame == {"closed": 4404}
    else:
        assert (frame["type"], frame["order_id"]) == ("snapshot", str(order.pk))


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "person"), CELLS)
def test_the_customer_order_page_is_the_customers_alone(name, person, people, orders):
    client = Client()
    client.force_login(people[person])
    response = client.get(f"/orders/{orders[name].pk}/")
    assert response.status_code == (200 if person == "customer" else 404)


@pytest.mark.django_db
@pytest.mark.parametrize("person", ["staff", "other_staff", "admin"])
def test_the_order_admin_shows_per_the_policy(person, people, orders):
    user = people[person]
    if not user.is_superuser:
        user.groups.add(staff_group_ensure())
    client = Client()
    client.force_login(user)
    for name, order in orders.items():
        response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
        # The admin sends a hidden (or missing) object back to its index.
        assert response.status_code == (200 if expected(name, person) else 302), (name, person)


@pytest.mark.django_db
def test_a_hidden_order_answers_exactly_as_a_missing_one(people, orders):
    client = api(people["other_customer"])
    for path in ("/api/orders/{}/", "/api/orders/{}/status/", "/api/v1/orders/{}", "/api/orders/{}/poll-status"):
        hidden = client.get(path.format(orders["assigned"].pk))
        missing = client.get(path.format(uuid.uuid4()))
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content), path


# ---------------------------------------------------------------- no module decides on its own

POLICY = "orders/visibility.py"
APPS = ("core", "orders", "delivery", "payments", "tracking", "pages", "privacy", "restaurants", "notifications")

# Modules that touch an order's customer or courier, or staff memberships, for something other
# than deciding who may see an order, and why.
ALLOWED = {
    "orders/services/erasure.py": "erases the data of the customer it is given, as the system",
    "orders/services/placing.py": "counts a customer's own recent placements for the rate limit",
    "delivery/selectors.py": "a courier's offers (CourierOffer rows addressed to them), not orders",
    "delivery/services.py": "courier assignment: claim races and offers, after orders.visibility answered",
    "restaurants/admin.py": "edits staff memberships (an inline)",
    "restaurants/management/commands/seed_demo.py": "creates the demo's staff memberships",
    "restaurants/permissions.py": "whether the user works at any restaurant (restaurant endpoints, no order)",
    "restaurants/selectors.py": "the restaurants a user works at (menus and restaurant endpoints)",
    "restaurants/services.py": "the restaurant whose kitchen status and hours a member of staff may set (no order)",
    "notifications/subscribers.py": "whom to notify of a restaurant's new order (its staff)",
}

# An order's people, as a query keyword or a compared attribute or key.
ORDER_PEOPLE_KEYWORDS = {"customer", "customer_id", "courier", "courier_id"}
ORDER_PEOPLE_FIELDS = {"customer_id", "courier_id"}
QUERY_CALLS = {"filter", "exclude", "get", "Q"}
# Comparing them with someone (`is None`, whether the order has a courier at all, decides nothing).
WHO_COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
# The names of the deciders the policy replaced: none may come back.
REPLACED = {"READERS", "_READERS", "_ENTERERS", "_may_read", "_role_towards", "admin_actor", "LINK_OWNER_ROLES"}


def _decisions(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in QUERY_CALLS:
                for keyword in node.keywords:
                    arg = keyword.arg or ""
                    if arg in ORDER_PEOPLE_KEYWORDS or "staff__user" in arg or "restaurant_memberships" in arg:
                        found.append(f"line {node.lineno}: {name}({arg}=...)")
        elif isinstance(node, ast.Compare) and any(isinstance(op, WHO_COMPARISONS) for op in node.ops):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and side.attr in ORDER_PEOPLE_FIELDS:
                    found.append(f"line {node.lineno}: compares .{side.attr}")
                elif (
                    isinstance(side, ast.Subscript)
                    and isinstance(side.slice, ast.Constant)
                    and side.slice.value in ORDER_PEOPLE_FIELDS
                ):
                    found.append(f"line {node.lineno}: compares [{side.slice.value!r}]")
        elif isinstance(node, ast.Name) and node.id == "StaffMembership":
            found.append(f"line {node.lineno}: StaffMembership")
        elif isinstance(node, ast.Attribute) and node.attr == "restaurant_memberships":
            found.append(f"line {node.lineno}: .restaurant_memberships")
        elif isinstance(node, ast.FunctionDef | ast.Assign | ast.AnnAssign):
            names = [node.name] if isinstance(node, ast.FunctionDef) else _assigned_names(node)
            found += [f"line {node.lineno}: defines {name}" for name in names if name in REPLACED]
    return found


def _assigned_names(node: ast.Assign | ast.AnnAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [target.id for target in targets if isinstance(target, ast.Name)]


def _modules() -> dict[str, ast.AST]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(), filename=str(path))
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    }


def _imports_policy(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.module == "orders.visibility" for node in ast.walk(tree))


def test_no_module_decides_visibility_on_its_own():
    deciding = {path: found for path, tree in _modules().items() if (found := _decisions(tree))}
    assert POLICY in deciding  # the scan does see the policy's own decisions
    unexpected = {path: found for path, found in deciding.items() if path != POLICY and path not in ALLOWED}
    assert not unexpected, f"ask orders.visibility instead (or allow-list with a reason): {unexpected}"
    stale = set(ALLOWED) - set(deciding)
    assert not stale, f"no longer decides anything; take it off the allow-list: {stale}"


def test_the_scan_catches_a_module_that_decides_on_its_own():
    source = (
        "def mine(user, order):\n"
        "    return Order.objects.filter(customer_id=user.pk) if order.courier_id == user.pk else None\n"
        "READERS = frozenset()\n"
    )
    assert len(_decisions(ast.parse(source))) == 3


ENTRY_POINTS = (
    "orders/api.py",
    "orders/polling.py",
    "orders/selectors.py",
    "orders/serializers.py",
    "orders/services/transitions.py",
    "orders/tracking_links.py",
    "delivery/api.py",
    "delivery/dispatch.py",
    "delivery/handoff.py",
    "delivery/services.py",
    "tracking/api.py",
    "tracking/selectors.py",
    "tracking/contracts/customer_tracking.py",
    "tracking/contracts/customer_tracking_hub.py",
    "tracking/contracts/mobile_orders.py",
    "tracking/contracts/poll_status.py",
    "tracking/contracts/three_status.py",
    "restaurants/order_admin.py",
    "pages/selectors.py",
    "privacy/selectors.py",
)


def test_every_entry_point_asks_the_policy():
    modules = _modules()
    assert [path for path in ENTRY_POINTS if not _imports_policy(modules[path])] == []


# ---------------------------------------------------------------- lists, by relation


@pytest.mark.django_db
def test_a_list_holds_every_relation_of_a_user_in_several_capacities(restaurant, other_restaurant, staff_user):
    CourierFactory(user=staff_user)
    placed = OrderFactory(customer=staff_user, restaurant=other_restaurant)
    cooked = OrderFactory(restaurant=restaurant)
    delivered = OrderFactory(restaurant=other_restaurant, courier=staff_user, status=OrderStatus.DELIVERED)
    OrderFactory(restaurant=other_restaurant)  # none of theirs

    assert set(orders_related_to(user=staff_user)) == {placed, cooked, delivered}


@pytest.mark.django_db
def test_a_list_of_one_relation_filters_on_that_relation_alone(customer, staff_user, restaurant):
    placed = OrderFactory(customer=customer, restaurant=restaurant)

    assert _where(orders_related_to(user=customer)) == f'"orders_order"."customer_id" = {customer.pk}'
    assert _where(orders_related_to(user=staff_user)).startswith('"orders_order"."restaurant_id" IN (')
    assert list(orders_related_to(user=staff_user)) == [placed]
    assert list(orders_related_to(user=UserFactory())) == []


def _where(orders) -> str:
    return str(orders.query).partition(" WHERE ")[2].partition(" ORDER BY ")[0]
