from django.db import migrations

from restaurants.services import staff_group_ensure


def create_staff_group(apps, schema_editor):
    staff_group_ensure(apps=apps)


class Migration(migrations.Migration):
    """Production gets the group restaurant staff need to use the admin, not only the demo."""

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("restaurants", "0001_initial"),
        ("orders", "0001_initial"),
        ("payments", "0001_initial"),
        ("tracking", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_staff_group, migrations.RunPython.noop)]
