import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """IdempotencyRecord moves here from orders; its table stays as it is (state only)."""

    initial = True

    dependencies = [
        ("orders", "0002_idempotency_record"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=255)),
                        ("method", models.CharField(max_length=8)),
                        ("path", models.CharField(max_length=500)),
                        ("body_hash", models.CharField(max_length=64)),
                        (
                            "state",
                            models.CharField(
                                choices=[("in_progress", "In progress"), ("completed", "Completed")],
                                default="in_progress",
                                max_length=16,
                            ),
                        ),
                        ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField()),
                        ("completed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orders_idempotencyrecord",
                        "indexes": [models.Index(fields=["created_at"], name="idempotency_created_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("user", "key"), name="unique_idempotency_key_per_user")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
