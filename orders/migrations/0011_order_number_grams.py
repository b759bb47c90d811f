"""The index of order numbers by their bigrams (orders.search), in PostgreSQL only."""

from django.db import migrations

CREATE = (
    """
CREATE FUNCTION orderflow_number_grams(number text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(upper(number), i, 2)), '{}')
    FROM generate_series(1, length(number) - 1) AS i
$$
""",
    "CREATE INDEX order_number_grams_idx ON orders_order USING gin (orderflow_number_grams(number))",
)
DROP = ("DROP INDEX IF EXISTS order_number_grams_idx", "DROP FUNCTION IF EXISTS orderflow_number_grams(text)")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("orders", "0010_orders_for_later")]

    operations = [migrations.RunPython(create, drop)]
