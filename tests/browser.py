"""Headless Chromium, driven by Playwright, for the tests that need a real browser."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_installed() -> bool:
    return Path(CHROMIUM).exists()


def launched_chromium(missing: str | None = None) -> Iterator[Browser]:
    """Chromium for a fixture to `yield from`, closed after it.

    `missing` names what the tests lack when they cannot run: a failure where the services are
    required (ORDERFLOW_REQUIRE_SERVICES=1), a skip elsewhere.
    """
    if missing:
        if os.environ.get("ORDERFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    # Playwright's sync API keeps an event loop open on this thread, which Django's ORM takes for
    # async code; the tests' own database work is plain synchronous code between browser calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
            # Connections opened while Playwright's loop ran on this thread belong to that context.
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
