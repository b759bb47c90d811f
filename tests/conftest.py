import os

import psycopg
import pytest
import redis
from django.conf import settings

from core.actors import Actor
from core.effects import Effect, Registry, registry, registry_replace
from tests.factories import (
    CourierFactory,
    CustomizationChoiceFactory,
    CustomizationGroupFactory,
    MenuItemFactory,
    RestaurantFactory,
    StaffFactory,
    UserFactory,
)


def _integration_services_missing() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    missing = []
    if "postgresql" not in engine:
        missing.append("DATABASE_URL naming PostgreSQL")
    if not settings.REDIS_URL:
        missing.append("REDIS_URL")
    return " and ".join(missing)


def pytest_collection_modifyitems(config, items):
    missing = _integration_services_missing()
    if not missing:
        return
    integration = [item for item in items if item.get_closest_marker("integration")]
    if not integration:
        return
    if os.environ.get("ORDERFLOW_REQUIRE_SERVICES") == "1":
        raise pytest.UsageError(f"integration tests need {missing}, and ORDERFLOW_REQUIRE_SERVICES=1 is set")
    for item in integration:
        item.add_marker(pytest.mark.skip(reason=f"integration test: set {missing} to run it"))


@pytest.fixture
def offers_dispatch(settings):
    """Courier dispatch by offers (a courier accepts) instead of the default automatic assignment."""
    settings.ORDERFLOW_COURIER_DISPATCH = "offers"


@pytest.fixture
def restaurant(db):
    return RestaurantFactory(name="Pizza Palace")


@pytest.fixture
def other_restaurant(db):
    return RestaurantFactory(name="Sushi Bar")


@pytest.fixture
def customer(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_customer(db):
    return UserFactory(username="carol")


@pytest.fixture
def staff_user(restaurant):
    return StaffFactory(restaurant=restaurant, user__username="pizza_staff").user


@pytest.fixture
def other_staff_user(other_restaurant):
    return StaffFactory(restaurant=other_restaurant, user__username="sushi_staff").user


@pytest.fixture
def courier_user(db):
    return CourierFactory(user__username="dave").user


@pytest.fixture
def other_courier_user(db):
    return CourierFactory(user__username="erin").user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def menu(restaurant):
    """A margherita with a required size (one of two) and optional toppings (up to two)."""
    pizza = MenuItemFactory(restaurant=restaurant, name="Margherita", price="12.00")
    size = CustomizationGroupFactory(menu_item=pizza, name="Size", min_choices=1, max_choices=1)
    toppings = CustomizationGroupFactory(menu_item=pizza, name="Toppings", min_choices=0, max_choices=2)
    salad = MenuItemFactory(restaurant=restaurant, name="Caesar Salad", price="9.00")
    sold_out = MenuItemFactory(restaurant=restaurant, name="Calzone", price="14.00", is_available=False)
    return {
        "pizza": pizza,
        "salad": salad,
        "sold_out": sold_out,
        "small": CustomizationChoiceFactory(group=size, name="Small", price_adjustment="0.00"),
        "large": CustomizationChoiceFactory(group=size, name="Large", price_adjustment="3.00"),
        "olives": CustomizationChoiceFactory(group=toppings, name="Olives", price_adjustment="1.25"),
        "basil": CustomizationChoiceFactory(group=toppings, name="Basil", price_adjustment="0.75"),
        "anchovies": CustomizationChoiceFactory(group=toppings, name="Anchovies", price_adjustment="2.00"),
    }


@pytest.fixture
def actors(customer, staff_user, courier_user, admin_user):
    return {
        "customer": Actor.customer(customer),
        "restaurant": Actor.restaurant(staff_user),
        "courier": Actor.courier(courier_user),
        "admin": Actor.admin(admin_user),
        "payment": Actor.payment_provider("simulated"),
        "system": Actor.system(),
    }


def pytest_sessionstart(session):
    """Under CI, prove the real services answer before any test runs."""
    if os.environ.get("ORDERFLOW_REQUIRE_SERVICES") != "1":
        return
    missing = _integration_services_missing()
    if missing:
        raise pytest.UsageError(f"ORDERFLOW_REQUIRE_SERVICES=1 but {missing} is not configured")
    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ).close()
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5).ping()
    except Exception as exc:
        raise pytest.UsageError(f"integration services unreachable: {exc}") from exc


@pytest.fixture
def order_event_effects():
    """Replace the registry's effects of committed order events for one test:
    `order_event_effects([fn, ...])`, each `fn` taking a batch (a list) of events."""
    from orders.services.events import ORDER_EVENT_TOPIC

    def replace(functions):
        configured = registry()
        registry_replace(
            Registry(
                topics=configured.topics,
                effects=[
                    *(effect for effect in configured.effects if effect.topic != ORDER_EVENT_TOPIC),
                    *(Effect(f"test.{number}", ORDER_EVENT_TOPIC, run) for number, run in enumerate(functions)),
                ],
                order_change_hooks=configured.order_change_hooks,
                handoff_verifier=configured.handoff_verifier,
            )
        )

    yield replace
    registry_replace(None)


@pytest.fixture
def people(restaurant, other_restaurant, customer, other_customer, staff_user, other_staff_user, admin_user):
    """One user of every relation to an order of `restaurant` placed by `customer` (the couriers
    become related once an order waits for one, or is given to `courier`)."""
    return {
        "customer": customer,
        "other_customer": other_customer,
        "staff": staff_user,
        "other_staff": other_staff_user,
        "courier": CourierFactory(user__username="matrix_courier").user,
        "other_online_courier": CourierFactory(user__username="matrix_online").user,
        "offline_courier": CourierFactory(user__username="matrix_offline", is_online=False).user,
        "admin": admin_user,
    }
