"""The tracking pages when things go wrong or differ, in Chromium against a daphne process: late
orders, a moving estimate, refunds with their amount, self-pickup, the public page's chrome, the
map with a tile source, and the signed-in customer's "My orders"."""

import base64
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import Actor
from orders.models import Order
from orders.services.transitions import order_cancel
from orders.snapshots import SNAPSHOT_FIELDS, status_snapshots_store
from payments.models import Refund
from payments.services import payment_record_result
from tests import factories
from tests.pages.conftest import BROWSER_TEST_MARKS, DESKTOP, SHOWN_WITHIN_MS
from tests.tracking.live import HttpDriver, ServerProcess, database_url

pytestmark = BROWSER_TEST_MARKS

TILE_HOST = "https://tiles.example.test"
# A 1x1 PNG, served for every tile.
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


def on_the_road(customer, restaurant, menu, staff_user, courier_user) -> Order:
    order = factories.place_order(customer, menu["salad"])
    factories.on_the_road(order.pk, staff_user, courier_user)
    return Order.objects.get(pk=order.pk)


def test_a_tracking_page_past_its_eta_says_it_is_running_late_with_a_new_time(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    order = on_the_road(customer, restaurant, menu, staff_user, courier_user)
    # Time passes: the order's estimate is three minutes behind us (its cached status row too).
    Order.objects.filter(pk=order.pk).update(estimated_delivery_at=timezone.now() - timedelta(minutes=3))
    status_snapshots_store(list(Order.objects.filter(pk=order.pk).values(*SNAPSHOT_FIELDS)))
    public = tabs(server)
    public.page.goto(f"/track/{order.tracking_token}/")
    expect(public.page.locator("#tracker")).to_have_attribute("data-late", "true")
    expect(public.page.locator("#eta")).to_contain_text("Running late: now expected by")
    assert "any minute" not in public.page.inner_text("#eta")
    new_time = public.page.inner_text("#eta-countdown").removeprefix("now expected by ")
    assert len(new_time) >= 4 and ":" in new_time
    own = tabs(server)
    own.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
    expect(own.page.locator("#eta")).to_contain_text("Running late")
    public.screenshot("tracking-running-late")


def test_when_the_estimate_moves_the_page_says_so_and_why(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    order = on_the_road(customer, restaurant, menu, staff_user, courier_user)
    tab = tabs(server)
    tab.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    expect(tab.page.locator("#eta-note")).to_be_hidden()
    # The courier reports a position far from the customer: the estimate moves later.
    HttpDriver(server.http, "pass-12345").post(
        courier_user, "/api/delivery/location/", {"latitude": "37.700000", "longitude": "-122.500000"}
    )
    note = tab.page.locator("#eta-note")
    expect(note).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(note).to_contain_text("later than before: the courier is delayed.")
    expect(note).to_have_attribute("data-shift", "later")


def test_a_refunded_order_states_the_outcome_and_its_amount_without_unreached_steps(
    server, tabs, customer, restaurant, menu, staff_user
):
    order = factories.place_order(customer, menu["salad"], payment_method="online")
    payment_record_result(order_id=order.pk, succeeded=True, provider_reference="test-paid")
    factories.confirm(order.pk, staff_user)
    own = tabs(server)
    own.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
    expect(own.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    public = tabs(server)
    public.page.goto(f"/track/{order.tracking_token}/")
    expect(public.page.locator("#tracker")).to_have_attribute("data-connection", "live")

    order_cancel(order_id=order.pk, actor=Actor.restaurant(staff_user), reason="Out of dough")
    refund = Refund.objects.get(order=order)
    assert refund.status == "COMPLETED"  # the simulated provider answers at once in the tests
    amount = f"{refund.amount} {refund.currency}"

    expect(own.page.locator("#refund")).to_have_text(
        f"Refunded {amount} to the card you paid with.", timeout=SHOWN_WITHIN_MS
    )
    expect(own.page.locator("#final")).to_have_text("This order was cancelled and the payment refunded.")
    expect(own.page.locator("#status")).to_have_text("Refund Completed")
    for tab in (own, public):
        timeline = tab.page.locator("#timeline")
        # Only what happened, in order: no unreached steps drawn before the ending.
        expect(timeline.locator("li:visible .step-label")).to_have_text(
            ["Order Placed", "Payment Successful", "Order Confirmed", "Cancelled", "Refund Completed"]
        )
    expect(public.page.locator("#refund")).to_have_text("The payment was refunded in full.")
    assert str(refund.amount) not in public.page.content()
    own.screenshot("customer-order-refunded")

    # Rendered afresh, the page says the same.
    own.page.reload()
    expect(own.page.locator("#refund")).to_have_text(f"Refunded {amount} to the card you paid with.")
    assert own.errors == [] and public.errors == []


def test_a_pickup_order_gives_the_restaurants_address_and_opening_state_in_one_set_of_words(
    server, tabs, customer, restaurant, menu, staff_user
):
    order = factories.place_order(customer, menu["salad"], delivery_type="pickup")
    factories.confirm(order.pk, staff_user)
    factories.start_preparing(order.pk, staff_user)
    tab = tabs(server)
    tab.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    expect(tab.page.locator("#pickup-address")).to_have_text(restaurant.address)
    expect(tab.page.locator("#pickup-open")).to_have_text("Open now")
    assert "Arriving" not in tab.page.inner_text("#tracker")
    factories.mark_ready(order.pk, staff_user)
    expect(tab.page.locator("#status")).to_have_text("Ready to Collect", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator(".step.is-current .step-label")).to_have_text("Ready to Collect")
    tab.screenshot("customer-order-pickup")

    restaurant.is_open = False
    restaurant.save(update_fields=["is_open"])
    public = tabs(server)
    public.page.goto(f"/track/{order.tracking_token}/")
    expect(public.page.locator("#pickup-open")).to_contain_text("Closed now")
    expect(public.page.locator("#pickup-address")).to_have_text(restaurant.address)


def test_the_public_link_page_shows_no_developer_chrome(server, tabs, customer, restaurant, menu):
    order = factories.place_order(customer, menu["salad"])
    tab = tabs(server)
    tab.page.goto(f"/track/{order.tracking_token}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    for href in ("/admin/", "/api/docs/", "/kitchen/", "/login/"):
        expect(tab.page.locator(f'a[href^="{href}"]')).to_have_count(0)
    expect(tab.page.locator("header nav")).to_have_count(0)
    for word in ("API docs", "Kitchen board", "Admin"):
        assert word not in tab.page.inner_text("body")


def test_with_a_tile_source_the_courier_is_on_a_real_map(
    django_db_setup, tabs, customer, restaurant, menu, staff_user, courier_user
):
    server = ServerProcess(
        database_url=database_url(),
        redis_url=settings.REDIS_URL,
        environment={
            "ORDERFLOW_COURIER_DISPATCH": "offers",
            "ORDERFLOW_MAP_TILE_URL": TILE_HOST + "/{z}/{x}/{y}.png",
        },
    )
    try:
        order = on_the_road(customer, restaurant, menu, staff_user, courier_user)
        tab = tabs(server, DESKTOP)
        tiles = []

        def serve_tile(route):
            tiles.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=TILE)

        tab.page.route(TILE_HOST + "/**", serve_tile)
        tab.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
        expect(tab.page.locator("#map-tiles.leaflet-container")).to_be_visible(timeout=SHOWN_WITHIN_MS)
        expect(tab.page.locator("#map-tiles path.map-courier")).to_be_visible()
        expect(tab.page.locator("#map-tiles path.map-destination")).to_be_visible()
        expect(tab.page.locator("#map-tiles img.leaflet-tile-loaded").first).to_be_attached(timeout=SHOWN_WITHIN_MS)
        expect(tab.page.locator("#map-svg")).to_be_hidden()
        assert tiles and all(url.startswith(TILE_HOST) for url in tiles)
        assert tab.errors == []
    finally:
        server.stop()


def test_my_orders_lists_the_customers_orders_with_live_states_linking_to_each(
    server, tabs, customer, other_customer, restaurant, menu, staff_user
):
    mine = factories.place_order(customer, menu["salad"])
    older = factories.place_order(customer, menu["salad"])
    order_cancel(order_id=older.pk, actor=Actor.restaurant(staff_user), reason="Closed")
    theirs = factories.place_order(other_customer, menu["salad"])
    tab = tabs(server)
    tab.sign_in(customer.username, next_path="/")
    tab.page.get_by_role("link", name="My orders").click()
    tab.page.wait_for_url("**/my/orders/")
    rows = tab.page.locator("#orders a.order-row")
    expect(rows).to_have_count(2)
    expect(tab.page.locator(f"#row-{theirs.pk}")).to_have_count(0)
    expect(tab.page.locator(f'[data-order-status="{mine.pk}"]')).to_have_text("Order Placed")
    expect(tab.page.locator(f'[data-order-status="{older.pk}"]')).to_have_text("Cancelled")
    factories.confirm(mine.pk, staff_user)
    expect(tab.page.locator(f'[data-order-status="{mine.pk}"]')).to_have_text(
        "Order Confirmed", timeout=SHOWN_WITHIN_MS
    )
    assert tab.fits_width()
    tab.screenshot("my-orders")
    tab.page.locator(f"#row-{mine.pk}").click()
    tab.page.wait_for_url(f"**/orders/{mine.pk}/")
    expect(tab.page.locator("#order-number")).to_have_text(mine.number)
    assert tab.errors == []


def test_the_page_reads_sub_statuses_in_either_case_and_ignores_an_extra_status_changed_message(
    server, tabs, customer, restaurant, menu, staff_user
):
    order = factories.place_order(customer, menu["salad"], payment_method="online")
    payment_record_result(order_id=order.pk, succeeded=True, provider_reference="test-paid")
    factories.confirm(order.pk, staff_user)
    tab = tabs(server)
    tab.sign_in(customer.username, next_path=f"/orders/{order.pk}/")
    tracker = tab.page.locator("#tracker")
    expect(tracker).to_have_attribute("data-connection", "live")
    last = int(tracker.get_attribute("data-sequence"))
    # The messages another version of the socket may send beside each transition.
    tab.page.evaluate(
        """(last) => {
          const feed = window.orderflowTracker.feed;
          feed.receive({ type: "order.status_changed", order_id: "x", new_status: "DELIVERED" });
          feed.receive({ type: "event", event_type: "order.status_changed", sequence: last,
                         new_status: "DELIVERED", refund_status: "none" });
        }""",
        last,
    )
    expect(tab.page.locator("#status")).to_have_text("Order Confirmed")
    order_cancel(order_id=order.pk, actor=Actor.restaurant(staff_user), reason="Closed")
    expect(tab.page.locator("#refund")).to_contain_text("Refunded", timeout=SHOWN_WITHIN_MS)
    # A refund's state in lower case, as the native contract now writes sub-statuses.
    tab.page.evaluate(
        """() => {
          const feed = window.orderflowTracker.feed;
          feed.receive({ type: "event", event_type: "order.refund_updated", sequence: feed.lastSequence + 1,
                         new_status: "REFUND_COMPLETED", refund_status: "completed",
                         timestamp: new Date().toISOString() });
        }"""
    )
    expect(tab.page.locator("#refund")).to_contain_text("Refunded")
    expect(tab.page.locator("#refund")).to_have_attribute("data-refund", "COMPLETED")
    assert tab.errors == []
