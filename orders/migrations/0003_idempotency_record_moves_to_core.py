from django.db import migrations


class Migration(migrations.Migration):
    """IdempotencyRecord now belongs to core (core/migrations/0001); its table stays (state only)."""

    dependencies = [
        ("orders", "0002_idempotency_record"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
