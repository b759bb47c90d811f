"""Tracking page latency: from a transition's REST request to the new status on the page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/pages_latency.py [--orders 10]

Starts `daphne config.asgi:application` on a scratch database (see bench/_setup.py) with the
demo accounts, opens each order's public tracking page in headless Chromium (Debian's, through
Playwright), and drives the order confirmed -> preparing -> ready over the REST API. The page
stamps the moment its status text changes (a MutationObserver, `Date.now()`); the latency is that
stamp minus the wall-clock time just before the request was sent, on the same machine. A second
phase does the same with WebSockets blocked in the page, where the polling fallback carries the
change (bounded by ORDERFLOW_PAGE_POLL_SECONDS).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"

from _setup import database_url, scratch_database
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import sync_playwright

from orders.models import Order
from restaurants.models import MenuItem, Restaurant
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.tracking.live import HttpDriver, ServerProcess

STAMP_STATUS_CHANGES = """
window.statusChanges = [];
new MutationObserver(function () {
  window.statusChanges.push([document.getElementById("status").textContent, Date.now()]);
}).observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
"""
BLOCK_WEBSOCKETS = """
window.WebSocket = function () {
  var socket = this;
  setTimeout(function () { if (socket.onclose) socket.onclose({ code: 1006, reason: "" }); }, 0);
};
window.WebSocket.prototype.close = function () {};
"""
STEPS = (("confirm", "Order Confirmed"), ("start_preparing", "Food Being Prepared"), ("mark_ready", "Ready for Pickup"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(browser, server, driver, customer, staff, restaurant, item, *, orders: int, blocked: bool) -> list[float]:
    latencies = []
    for _ in range(orders):
        order_id = driver.place(customer=customer, restaurant=restaurant, item=item)
        context = browser.new_context()
        page = context.new_page()
        if blocked:
            page.add_init_script(BLOCK_WEBSOCKETS)
        page.goto(f"{server.http}/track/{Order.objects.get(pk=order_id).tracking_token}/")
        page.wait_for_selector("#tracker[data-connection='%s']" % ("reconnecting" if blocked else "live"))
        page.evaluate(STAMP_STATUS_CHANGES)
        for action, shown in STEPS:
            sent_ms = time.time() * 1000
            getattr(driver, action)(order_id, staff)
            page.wait_for_function(
                "text => window.statusChanges.some(change => change[0] === text)", arg=shown, timeout=60_000
            )
            changed_ms = next(at for text, at in page.evaluate("window.statusChanges") if text == shown)
            latencies.append(changed_ms - sent_ms)
        context.close()
    return latencies


def report(phases: dict[str, list[float]]) -> None:
    print("| path | transitions | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for label, values in phases.items():
        print(
            f"| {label} | {len(values)} | {statistics.median(values):.0f} | {percentile(values, 0.95):.0f} "
            f"| {max(values):.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--polling-orders", type=int, default=2)
    args = parser.parse_args()
    with scratch_database() as name:
        call_command("seed_demo", stdout=open(os.devnull, "w"))
        users = {user.username: user for user in get_user_model().objects.all()}
        restaurant = Restaurant.objects.get(name="Pizza Palace")
        item = MenuItem.objects.filter(restaurant=restaurant, customization_groups__isnull=True).first()
        server = ServerProcess(
            database_url=database_url(name),
            redis_url=settings.REDIS_URL,
            settings_module="config.settings.local",
            environment={"DJANGO_DEBUG": "0"},
        )
        driver = HttpDriver(server.http, settings.ORDERFLOW_DEMO_PASSWORD)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
                phases = {
                    label: measure(
                        browser,
                        server,
                        driver,
                        users["alice"],
                        users["pizza_staff"],
                        restaurant,
                        item,
                        orders=orders,
                        blocked=blocked,
                    )
                    for label, orders, blocked in (
                        ("WebSocket", args.orders, False),
                        ("polling (WebSockets blocked)", args.polling_orders, True),
                    )
                }
                browser.close()
                # Opened while Playwright's loop ran on this thread: a connection of its own.
                connections.close_all()
        finally:
            server.stop()
        report(phases)


if __name__ == "__main__":
    main()
