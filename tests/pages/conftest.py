"""A real browser (Debian's Chromium driven by Playwright) against a real server process (daphne)
on the test database and Redis."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.browser import CHROMIUM, chromium_installed, launched_chromium
from tests.tracking.live import ServerProcess, database_url

SCREENSHOTS = Path(__file__).resolve().parents[1] / ".artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}
USER_PASSWORD = "pass-12345"  # tests.factories.UserFactory
# Every browser test: a real server process on the test database, couriers claiming by offers.
BROWSER_TEST_MARKS = [
    pytest.mark.integration,
    pytest.mark.live_server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("offers_dispatch"),
]
# How long a page may take to show a change in these tests: generous, since the machine is
# shared; the latency itself is measured by bench/pages_latency.py, not asserted here.
SHOWN_WITHIN_MS = 10_000


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
    yield from launched_chromium(
        None
        if chromium_installed()
        else f"the page tests need Chromium at {CHROMIUM} (scripts/install_browser installs it)"
    )


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
