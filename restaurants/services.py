from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db.models import Q

STAFF_GROUP_NAME = "Restaurant staff"

# What restaurant staff need in the admin: act on their orders (through the admin
# actions, which need "change"), read the rest. Which rows they see is decided by
# the admin's querysets (orders.selectors), not by these model permissions.
STAFF_GROUP_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "order"): ("view", "change"),
    ("orders", "orderitem"): ("view",),
    ("orders", "trackingevent"): ("view",),
    ("payments", "payment"): ("view",),
    ("payments", "refund"): ("view",),
    ("restaurants", "restaurant"): ("view",),
    ("restaurants", "staffmembership"): ("view",),
    ("restaurants", "menuitem"): ("view",),
    ("restaurants", "customizationgroup"): ("view",),
    ("restaurants", "customizationchoice"): ("view",),
}


def _create_model_permissions(app_label: str, apps: Apps) -> None:
    # Django creates permissions after the last migration (post_migrate); a data
    # migration on a fresh database runs before that, so create them here.
    app_config = apps.get_app_config(app_label)
    historical = not getattr(app_config, "models_module", None)
    if historical:
        app_config.models_module = True  # type: ignore[assignment]  # "has models", as Django reads it
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        if historical:
            app_config.models_module = None


def staff_group_ensure(*, apps: Apps = global_apps):
    """The "Restaurant staff" group with (at least) the permissions above; safe to call again.

    `apps` is the registry to use: a data migration passes its historical one.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_label in {app_label for app_label, _ in STAFF_GROUP_PERMISSIONS}:
        _create_model_permissions(app_label, apps)
    wanted = Q(pk__in=[])
    for (app_label, model), actions in STAFF_GROUP_PERMISSIONS.items():
        wanted |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP_NAME)
    group.permissions.add(*Permission.objects.filter(wanted))
    return group
