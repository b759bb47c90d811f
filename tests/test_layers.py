"""The dependency rule (docs/architecture.md): lower layers never import higher ones, not even
inside a function. Read from the source with `ast`, so an import hidden anywhere counts."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("orders", "restaurants", "delivery", "payments", "tracking")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_of(*paths: str) -> list[Path]:
    files = []
    for path in paths:
        target = ROOT / path
        files.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return files


def offending_imports(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{file.relative_to(ROOT)} imports {module}"
        for file in files
        for module in sorted(imported_modules(file))
        if module.split(".")[0] in forbidden
    ]


def test_core_imports_no_domain_app():
    assert offending_imports(modules_of("core"), DOMAIN_APPS) == []


def test_orders_imports_neither_delivery_payments_nor_tracking():
    assert offending_imports(modules_of("orders"), ("delivery", "payments", "tracking")) == []


def test_the_catalogue_stays_below_orders():
    catalogue = modules_of(
        "restaurants/models.py", "restaurants/selectors.py", "restaurants/services.py", "restaurants/permissions.py"
    )
    assert offending_imports(catalogue, ("orders", "delivery", "payments", "tracking")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import delivery.services\n", {"delivery.services"}),
        ("def f():\n    from payments.tasks import refund_process_task\n", {"payments.tasks"}),
        ("from . import sibling\n", set()),
    ],
)
def test_imports_are_found_wherever_they_hide(tmp_path, source, expected):
    module = tmp_path / "module.py"
    module.write_text(source)
    assert imported_modules(module) == expected


def test_nothing_below_imports_notifications():
    """Webhooks, notifications and metrics sit above every domain app: they hear of changes as a subscriber."""
    below = modules_of("core", "orders", "restaurants", "delivery", "payments", "tracking")
    assert offending_imports(below, ("notifications",)) == []


def test_no_app_imports_the_pages():
    """The pages (pages/) sit on top, beside the API and the sockets: nothing below reads them."""
    apps = modules_of("core", *DOMAIN_APPS, "config/settings")
    assert offending_imports(apps, ("pages",)) == []


def test_no_app_below_imports_privacy():
    below = modules_of("core", "restaurants", "orders", "delivery", "payments", "tracking", "notifications")
    assert offending_imports(below, ("privacy",)) == []


def test_delivery_does_not_import_tracking():
    """What delivery changes reaches the sockets as an outbox message (config/effects.py), not by a call sideways."""
    assert offending_imports(modules_of("delivery"), ("tracking",)) == []
