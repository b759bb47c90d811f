"""The one way out: the registry lists every effect in order, and no app wires one another way.

Read from the source with `ast`, so a signal, a raw `on_commit`, a `.many` attribute or a
broadcast called from a service fails here wherever it hides.
"""

import ast
from pathlib import Path

import pytest

from core.effects import Effect, Registry, Topic, registry

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("core", "orders", "restaurants", "delivery", "payments", "tracking", "notifications", "privacy", "pages")


def test_the_registry_lists_every_effect_in_order():
    assert [(effect.topic, effect.name) for effect in registry().effects] == [
        ("order.event", "orders.status_snapshot"),
        ("order.event", "orders.log"),
        ("order.event", "tracking.broadcast"),
        ("order.event", "delivery.courier_offers"),
        ("order.event", "notifications.counters"),
        ("order.event", "notifications.webhooks"),
        ("order.event", "notifications.order_messages"),
        ("handoff_code.resent", "notifications.handoff_code_resent"),
        ("courier_offer.changed", "tracking.courier_offer"),
        ("courier.location", "tracking.courier_location"),
        ("restaurant.kitchen_status", "tracking.kitchen_status"),
    ]
    assert [hook.__module__ + "." + hook.__name__ for hook in registry().order_change_hooks] == [
        "delivery.handoff.handoff_code_follow_order_change",
        "payments.services.payments_follow_order_change",
    ]


def test_a_registry_refuses_an_effect_twice_or_for_an_unknown_topic():
    with pytest.raises(ValueError, match="twice"):
        Registry(topics=[Topic("t")], effects=[Effect("a", "t", print), Effect("a", "t", print)])
    with pytest.raises(ValueError, match="nobody declared"):
        Registry(topics=[Topic("t")], effects=[Effect("a", "u", print)])


def app_modules() -> list[Path]:
    return [path for app in APPS for path in sorted((ROOT / app).rglob("*.py")) if "migrations" not in path.parts]


def is_method_call(node: ast.Call) -> bool:
    """`self.subscribe(...)`: a socket's own subscription, not an event bus."""
    return (
        isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
    )


def in_tracking(path: Path) -> bool:
    return path.relative_to(ROOT).parts[0] == "tracking"


def other_ways_out(path: Path) -> list[str]:
    """Where a module wires an effect of a committed change by itself."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "on_commit":
                found.append(f"{where} calls on_commit")
            elif name == "Signal":
                found.append(f"{where} defines a signal")
            elif name in ("connect", "receiver") and not ALLOWED_SIGNAL_RECEIVERS.get(
                path.relative_to(ROOT).as_posix()
            ):
                found.append(f"{where} connects a signal receiver")
            elif name in ("subscribe", "publish", "publish_on_commit") and not (
                is_method_call(node) or (name != "publish_on_commit" and announces_cache_changes(path))
            ):
                found.append(f"{where} calls {name}")
            elif name.startswith("broadcast_") and not in_tracking(path):
                found.append(f"{where} calls {name} outside tracking")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "many":
                    found.append(f"{where} sets a .many attribute")
        elif isinstance(node, ast.ImportFrom) and node.module == "tracking.broadcast" and not in_tracking(path):
            found.append(f"{where} imports tracking.broadcast")
    return found


# `on_commit` itself: the relay's own hook (core/outbox.py) and the helper that queues a job after
# the commit that made it due (core/publishing.py: refunds, notifications, webhook deliveries,
# courier offers, whose rows are their own record and whose periodic task picks up a lost kick).
ALLOWED_ON_COMMIT = {"core/outbox.py", "core/publishing.py"}
# Signal receivers that are not effects of a change: a cache kept in step with the user model.
ALLOWED_SIGNAL_RECEIVERS = {"orders/apps.py": "the active-user cache follows the user model"}


# Redis pub/sub that is not an effect: the poll memory's invalidations, announced in the same
# round trip as the snapshot write they describe (itself an effect of the registry) and heard by
# each process's copy of that cache (orders/poll_cache.py).
ALLOWED_CACHE_ANNOUNCEMENTS = {"orders/poll_cache.py", "orders/snapshots.py"}


def announces_cache_changes(path: Path) -> bool:
    return path.relative_to(ROOT).as_posix() in ALLOWED_CACHE_ANNOUNCEMENTS


def test_no_app_wires_an_effect_another_way():
    found = [
        finding
        for path in app_modules()
        for finding in other_ways_out(path)
        if not (finding.endswith("calls on_commit") and path.relative_to(ROOT).as_posix() in ALLOWED_ON_COMMIT)
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from django.db import transaction\ntransaction.on_commit(lambda: None)\n",
        "from django.dispatch import Signal\nchanged = Signal()\n",
        "def f(events): pass\nf.many = f\n",
        "from tracking.broadcast import broadcast_events\n",
        "def f():\n    from core.publishing import subscribe\n    subscribe(print)\n",
        "from django.db.models.signals import post_save\npost_save.connect(print)\n",
    ],
)
def test_each_other_way_out_is_found(tmp_path, monkeypatch, source):
    module = tmp_path / "delivery" / "module.py"
    module.parent.mkdir()
    module.write_text(source)
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert other_ways_out(module) != []
