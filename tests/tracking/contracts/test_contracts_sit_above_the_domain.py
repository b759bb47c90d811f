"""The contracts sit above every domain app: nothing below them imports them, not even
`tracking` itself (docs/contracts/index.md). Only the URL and ASGI routing mount them."""

from tests.test_layers import ROOT, imported_modules, modules_of


def test_nothing_below_the_contracts_imports_them():
    below = [
        path
        for path in modules_of("core", "orders", "restaurants", "delivery", "payments", "tracking")
        if "contracts" not in path.relative_to(ROOT).parts
    ]
    offending = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in below
        for module in imported_modules(path)
        if module.startswith("tracking.contracts")
    ]
    assert offending == []


def test_only_the_routing_mounts_them():
    config = modules_of("config")
    mounting = {path.name for path in config if any(m.startswith("tracking.contracts") for m in imported_modules(path))}
    assert mounting == {"asgi.py"}  # config/urls.py includes "tracking.contracts.urls" by name
