"""Every order gets a public tracking token; existing orders get one each (a callable default
on AddField would give them all the same value)."""

from django.db import migrations, models

import orders.models

BATCH = 1000


def give_existing_orders_a_token(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    while True:
        batch = list(Order.objects.filter(tracking_token__isnull=True).only("pk")[:BATCH])
        if not batch:
            return
        for order in batch:
            order.tracking_token = orders.models.new_tracking_token()
        Order.objects.bulk_update(batch, ["tracking_token"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_trackingevent_from_tracking")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="tracking_token",
            field=models.CharField(blank=True, editable=False, max_length=43, null=True),
        ),
        migrations.RunPython(give_existing_orders_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="tracking_token",
            field=models.CharField(
                blank=True,
                default=orders.models.new_tracking_token,
                editable=False,
                max_length=43,
                null=True,
                unique=True,
            ),
        ),
    ]
