import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from restaurants.services import staff_group_ensure


def adopt_content_type(apps, schema_editor):
    """Keep the event's content type (and the permissions hanging on it) under its new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="orders", model="trackingevent").exists():
        ContentType.objects.filter(app_label="tracking", model="trackingevent").update(app_label="orders")
    staff_group_ensure(apps=apps)


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="tracking", model="trackingevent").exists():
        ContentType.objects.filter(app_label="orders", model="trackingevent").update(app_label="tracking")


class Migration(migrations.Migration):
    """TrackingEvent moves here from tracking: the transition service writes it under the order's lock.

    Its table (`tracking_trackingevent`) and every row stay as they are (state only).
    """

    dependencies = [
        ("orders", "0003_idempotency_record_moves_to_core"),
        ("tracking", "0001_initial"),
        ("restaurants", "0002_restaurant_staff_group"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TrackingEvent",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("sequence", models.PositiveIntegerField()),
                        (
                            "event_type",
                            models.CharField(
                                choices=[
                                    ("order.placed", "Placed"),
                                    ("order.status_changed", "Status Changed"),
                                    ("order.payment_succeeded", "Payment Succeeded"),
                                    ("order.payment_failed", "Payment Failed"),
                                    ("order.assigned", "Assigned"),
                                    ("order.ready_for_pickup", "Ready For Pickup"),
                                    ("order.picked_up", "Picked Up"),
                                    ("order.out_for_delivery", "Out For Delivery"),
                                    ("order.delivered", "Delivered"),
                                    ("order.cancelled", "Cancelled"),
                                    ("order.refund_updated", "Refund Updated"),
                                ],
                                max_length=40,
                            ),
                        ),
                        ("from_status", models.CharField(blank=True, max_length=32)),
                        ("to_status", models.CharField(blank=True, max_length=32)),
                        (
                            "actor_role",
                            models.CharField(
                                choices=[
                                    ("customer", "Customer"),
                                    ("restaurant", "Restaurant"),
                                    ("courier", "Courier"),
                                    ("admin", "Platform admin"),
                                    ("payment", "Payment provider"),
                                    ("system", "System"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("actor_name", models.CharField(max_length=200)),
                        ("reason", models.CharField(blank=True, max_length=500)),
                        ("metadata", models.JSONField(blank=True, default=dict)),
                        ("estimated_delivery_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField()),
                        (
                            "actor_user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "order",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="events", to="orders.order"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "tracking_trackingevent",
                        "ordering": ["order", "sequence"],
                        "constraints": [models.UniqueConstraint(fields=("order", "sequence"), name="unique_event_sequence")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_content_type, restore_content_type),
    ]
