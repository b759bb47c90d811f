from django.db import migrations


class Migration(migrations.Migration):
    """TrackingEvent now belongs to orders (orders/migrations/0004); its table stays (state only)."""

    dependencies = [
        ("tracking", "0001_initial"),
        ("orders", "0004_trackingevent_from_tracking"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TrackingEvent")],
            database_operations=[],
        ),
    ]
