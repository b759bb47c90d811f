"""A real browser (Debian's Chromium driven by Playwright) against a real server process (daphne)
on the test database and Redis."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.tracking.live import ServerProcess

CHROMIUM = os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / ".artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}
USER_PASSWORD = "pass-12345"  # tests.factories.UserFactory


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_server(**kwargs) -> ServerProcess:
    # A short ceiling on the pages' reconnect backoff keeps the reconnect test short; couriers
    # claim orders themselves (offers), as the tests drive them.
    return ServerProcess(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        environment={"ORDERFLOW_PAGE_RECONNECT_MAX_SECONDS": "4", "ORDERFLOW_COURIER_DISPATCH": "offers"},
        **kwargs,
    )


@pytest.fixture(scope="module")
def server(django_db_setup):
    process = start_server()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"the page tests need Chromium at {CHROMIUM} (scripts/install_browser installs it)"
        if os.environ.get("ORDERFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop open on this thread, which Django's ORM takes for
    # async code; the tests' own database work is plain synchronous code between browser calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
            # Connections opened while Playwright's loop ran on this thread belong to that context.
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Tab:
    """One page in its own browser context, recording console errors and every request."""

    def __init__(self, browser, server: ServerProcess, viewport: dict) -> None:
        self.server = server
        self.context = browser.new_context(viewport=viewport, base_url=server.http)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("response", lambda response: self.errors.append(response.url) if response.status >= 400 else None)

    def sign_in(self, username: str, *, next_path: str = "/") -> None:
        self.page.goto(f"/login/?next={next_path}")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", USER_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"**{next_path}")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def fits_width(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    def third_party_requests(self) -> list[str]:
        own = (self.server.http, f"ws://127.0.0.1:{self.server.port}", "data:")
        return [url for url in self.requests if not url.startswith(own)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser):
    opened: list[Tab] = []

    def open_tab(server: ServerProcess, viewport: dict = PHONE) -> Tab:
        tab = Tab(browser, server, viewport)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
