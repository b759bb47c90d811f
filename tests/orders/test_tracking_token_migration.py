"""The migration that adds `Order.tracking_token` gives every existing order a token of its own."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0004_trackingevent_from_tracking")]
AFTER = [("orders", "0005_order_tracking_token")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_orders_each_get_a_distinct_token(customer, restaurant):
    old_apps = migrate(BEFORE)
    Order = old_apps.get_model("orders", "Order")
    now = timezone.now()
    for n in range(3):
        Order.objects.create(
            number=f"ORD-OLD-{n}",
            customer_id=customer.pk,
            restaurant_id=restaurant.pk,
            status="ORDER_PLACED",
            payment_method="cod",
            currency="USD",
            subtotal="10.00",
            total="10.00",
            placed_at=now,
            updated_at=now,
        )
    try:
        new_apps = migrate(AFTER)
        tokens = list(new_apps.get_model("orders", "Order").objects.values_list("tracking_token", flat=True))
        assert len(tokens) == 3
        assert all(token and len(token) >= 22 for token in tokens)
        assert len(set(tokens)) == 3
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
