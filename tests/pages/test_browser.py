"""The pages in a real browser: Debian's Chromium driven by Playwright, a daphne process on the
test database and Redis, orders moved over the REST API (or, while the server is down, through
the services of this process). Screenshots go to tests/.artifacts/screenshots/."""

import re
import time

from playwright.sync_api import expect

from delivery.models import HandoffPurpose
from orders.models import Order
from tests import factories
from tests.pages.conftest import BROWSER_TEST_MARKS, DESKTOP, SHOWN_WITHIN_MS, USER_PASSWORD, start_server
from tests.tracking.live import HttpDriver

pytestmark = BROWSER_TEST_MARKS

# The polling fallback checks every ORDERFLOW_PAGE_POLL_SECONDS (12): one interval and a margin.
POLLED_WITHIN_MS = 30_000
COUNTDOWN = re.compile(r"^\d+:\d\d$|^any minute now$")


def token_of(order_id) -> str | None:
    return Order.objects.get(pk=order_id).tracking_token


def status_of(tab) -> str:
    return tab.page.locator("#status").inner_text()


def test_the_landing_page_links_everything_and_the_docs_are_served_locally(server, tabs, customer, restaurant, menu):
    order_id = HttpDriver(server.http, USER_PASSWORD).place(
        customer=customer, restaurant=restaurant, item=menu["salad"]
    )
    tab = tabs(server)
    tab.page.goto("/")
    expect(tab.page.get_by_role("heading", level=1)).to_contain_text("from checkout to the door")
    for href in ("/api/docs/", "/admin/", "/kitchen/", f"/track/{token_of(order_id)}/"):
        expect(tab.page.locator(f'main a[href="{href}"]')).to_have_count(1)
    assert tab.fits_width()
    tab.screenshot("landing")

    tab.page.click('main a[href="/api/docs/"]')
    expect(tab.page.locator(".swagger-ui .title")).to_contain_text("orderflow API", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator(".opblock").first).to_be_visible()
    tab.page.set_viewport_size(DESKTOP)
    tab.screenshot("api-docs")
    assert tab.third_party_requests() == []
    assert tab.errors == []


def test_a_transition_over_rest_appears_on_the_tracking_page_without_reload(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    driver = HttpDriver(server.http, USER_PASSWORD)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tab = tabs(server)
    tab.page.goto(f"/track/{token_of(order_id)}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    expect(tab.page.locator("#status")).to_have_attribute("aria-live", "polite")
    assert status_of(tab) == "Order Placed"
    tab.page.evaluate("window.notReloaded = true")

    started = time.monotonic()
    driver.confirm(order_id, staff_user)
    expect(tab.page.locator("#status")).to_have_text("Order Confirmed", timeout=SHOWN_WITHIN_MS)
    shown_after = time.monotonic() - started
    expect(tab.page.locator('[data-step="confirmed"] time')).not_to_be_empty()
    assert tab.page.evaluate("window.notReloaded") is True
    print(f"transition shown {shown_after * 1000:.0f} ms after the REST call started")

    driver.claim(order_id, courier_user)
    driver.start_preparing(order_id, staff_user)
    driver.mark_ready(order_id, staff_user)
    driver.pick_up(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.PICKUP))
    driver.start_delivery(order_id, courier_user)
    driver.post(courier_user, "/api/delivery/location/", {"latitude": "37.781000", "longitude": "-122.405000"})
    expect(tab.page.locator("#status")).to_have_text("Out for Delivery", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#courier-name")).to_have_text(courier_user.first_name)
    expect(tab.page.locator("#map .map-courier")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#eta-countdown")).to_have_text(COUNTDOWN)
    assert tab.fits_width()
    tab.screenshot("tracking-on-the-way")

    # Never the address, phone numbers, prices or a handoff code (the page text and its data).
    order = Order.objects.get(pk=order_id)
    text = tab.page.inner_text("body")
    html = tab.page.content()
    for secret in (
        "Howard",
        "94105",
        str(order.total),
        str(order.subtotal),
        factories.handoff_code(order_id, HandoffPurpose.DELIVERY),
        factories.handoff_code(order_id, HandoffPurpose.PICKUP),
        customer.username,
        "37.787",
    ):
        # A whole value, not digits inside another (a timestamp's seconds can read "49.002383").
        alone = re.compile(rf"(?<![\d.]){re.escape(secret)}(?![\d])")
        assert not alone.search(text) and not alone.search(html), secret
    assert "$" not in text and "USD" not in text

    driver.complete_delivery(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.DELIVERY))
    expect(tab.page.locator("#status")).to_have_text("Delivered", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#final")).to_be_visible()
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "final")
    expect(tab.page.locator("#map")).to_be_hidden()
    tab.screenshot("tracking-delivered")
    assert tab.third_party_requests() == []
    assert tab.errors == []


def test_after_the_server_closes_the_socket_the_page_reconnects_and_shows_the_missed_transition_once(
    tabs, django_db_setup, customer, restaurant, menu, staff_user
):
    server = start_server()
    try:
        order = factories.place_order(customer, menu["salad"])
        tab = tabs(server)
        tab.page.goto(f"/track/{order.tracking_token}/")
        tracker = tab.page.locator("#tracker")
        expect(tracker).to_have_attribute("data-connection", "live")

        server.stop()  # the server goes away, closing the page's socket
        expect(tracker).to_have_attribute("data-connection", "reconnecting", timeout=SHOWN_WITHIN_MS)
        # Through the services of this process, committed while no server listens (its broadcast
        # reaches nobody): the page can only learn of it by replaying from its last sequence.
        factories.confirm(order.pk, staff_user)
        server = start_server(port=server.port)

        expect(tab.page.locator("#status")).to_have_text("Order Confirmed", timeout=POLLED_WITHIN_MS)
        expect(tracker).to_have_attribute("data-connection", "live", timeout=POLLED_WITHIN_MS)
        HttpDriver(server.http, USER_PASSWORD).start_preparing(order.pk, staff_user)
        expect(tab.page.locator("#status")).to_have_text("Food Being Prepared", timeout=SHOWN_WITHIN_MS)
        assert tracker.get_attribute("data-applied") == "1,2,3"  # each event once, in order
        expect(tab.page.locator('[data-step="confirmed"] time')).not_to_be_empty()
        expect(tab.page.locator(".step.is-done")).to_have_count(3)
    finally:
        server.stop()


def test_with_websockets_blocked_the_page_advances_by_polling(server, tabs, customer, restaurant, menu, staff_user):
    driver = HttpDriver(server.http, USER_PASSWORD)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tab = tabs(server)
    # What a proxy that refuses WebSockets looks like to a page: every socket fails at once.
    tab.page.add_init_script(
        """
        window.WebSocket = function () {
          var socket = this;
          setTimeout(function () {
            if (socket.onclose) socket.onclose({ code: 1006, reason: "" });
          }, 0);
        };
        window.WebSocket.prototype.close = function () {};
        """
    )
    tab.page.goto(f"/track/{token_of(order_id)}/")
    tracker = tab.page.locator("#tracker")
    expect(tracker).to_have_attribute("data-connection", "reconnecting")
    driver.confirm(order_id, staff_user)
    expect(tab.page.locator("#status")).to_have_text("Order Confirmed", timeout=POLLED_WITHIN_MS)
    expect(tab.page.locator('[data-step="confirmed"] time')).not_to_be_empty()
    driver.cancel(order_id, staff_user)
    expect(tab.page.locator("#status")).to_have_text("Cancelled", timeout=POLLED_WITHIN_MS)
    expect(tracker).to_have_attribute("data-connection", "final")
    assert tracker.get_attribute("data-applied") == "1,2,3"
    polls = [url for url in tab.requests if "/status/" in url]
    assert polls, "the page never polled"
    assert tab.third_party_requests() == []


def test_wrong_or_revoked_links_are_404_and_another_customer_cannot_open_the_order(
    server, tabs, customer, other_customer, restaurant, menu
):
    driver = HttpDriver(server.http, USER_PASSWORD)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    token = token_of(order_id)
    tab = tabs(server)

    response = tab.page.goto("/track/not-a-real-token-at-all/")
    assert response.status == 404
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Not found")
    tab.screenshot("not-found")

    assert tab.page.goto(f"/track/{token}/").status == 200
    revoked = tab.context.request.delete(
        f"/api/orders/{order_id}/tracking-link/", headers={"Authorization": f"Bearer {driver.token(customer)}"}
    )
    assert revoked.status == 204
    assert tab.page.goto(f"/track/{token}/").status == 404

    tab.sign_in(other_customer.username)
    assert tab.page.goto(f"/orders/{order_id}/").status == 404
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Not found")

    mine = tabs(server)
    mine.sign_in(customer.username, next_path=f"/orders/{order_id}/")
    expect(mine.page.locator("#order-number")).to_have_text(Order.objects.get(pk=order_id).number)


def test_the_customer_reads_the_delivery_code_and_cancels_while_allowed(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    driver = HttpDriver(server.http, USER_PASSWORD)
    on_the_way = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    to_cancel = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    tab = tabs(server)
    tab.sign_in(customer.username, next_path=f"/orders/{on_the_way}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    expect(tab.page.locator("#cancel")).to_be_visible()
    expect(tab.page.locator("#link-url")).to_have_value(f"{server.http}/track/{token_of(on_the_way)}/")

    driver.confirm(on_the_way, staff_user)
    driver.claim(on_the_way, courier_user)
    driver.start_preparing(on_the_way, staff_user)
    expect(tab.page.locator("#status")).to_have_text("Food Being Prepared", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#cancel")).to_be_hidden()  # customers cancel only before preparation
    expect(tab.page.locator("#code")).to_be_hidden()
    driver.mark_ready(on_the_way, staff_user)
    driver.pick_up(on_the_way, courier_user, factories.handoff_code(on_the_way, HandoffPurpose.PICKUP))
    driver.start_delivery(on_the_way, courier_user)
    code = factories.handoff_code(on_the_way, HandoffPurpose.DELIVERY)
    expect(tab.page.locator("#code-value")).to_have_text(code, timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#courier-name")).to_have_text(courier_user.first_name)
    assert tab.fits_width()
    tab.screenshot("customer-order")
    assert tab.errors == []

    tab.page.goto(f"/orders/{to_cancel}/")
    expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
    tab.page.click("#cancel-open")
    tab.page.fill("#cancel-reason", "Ordered twice")
    tab.page.click("#cancel-form button[type=submit]")
    expect(tab.page.locator("#status")).to_have_text("Cancelled", timeout=SHOWN_WITHIN_MS)
    expect(tab.page.locator("#notice")).to_have_text("Your order is cancelled.")
    expect(tab.page.locator("#cancel")).to_be_hidden()
    cancelled = Order.objects.get(pk=to_cancel)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancellation_reason) == (
        "CANCELLED",
        "customer",
        "Ordered twice",
    )
    assert tab.errors == []


def test_a_new_order_reaches_its_own_kitchen_board_only_and_confirm_moves_it(
    server, tabs, customer, restaurant, other_restaurant, menu, staff_user, other_staff_user
):
    pizza = tabs(server, DESKTOP)
    pizza.page.goto("/admin/login/?next=/admin/")
    pizza.page.fill("#id_username", staff_user.username)
    pizza.page.fill("#id_password", USER_PASSWORD)
    pizza.page.click("input[type=submit]")
    pizza.page.click("#kitchen-board-link")  # linked from the admin
    pizza.page.wait_for_url(f"**/kitchen/{restaurant.pk}/")
    sushi = tabs(server, DESKTOP)
    sushi.sign_in(other_staff_user.username, next_path=f"/kitchen/{other_restaurant.pk}/")
    for board in (pizza, sushi):
        expect(board.page.locator("#board")).to_have_attribute("data-connection", "live")
    pizza.page.click("#sound")
    expect(pizza.page.locator("#sound")).to_have_attribute("aria-pressed", "true")

    driver = HttpDriver(server.http, USER_PASSWORD)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    number = Order.objects.get(pk=order_id).number
    card = pizza.page.locator(f'[data-column="new"] #order-{order_id}')
    expect(card).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(card).to_have_class("card is-new")
    expect(card.locator(".timer")).to_contain_text("Confirm within")
    expect(pizza.page.locator("#announcer")).to_have_text(f"New order {number}")
    expect(pizza.page.locator("#board")).to_have_attribute("data-cues", "1")
    expect(pizza.page.locator("#board")).to_have_attribute("data-beeps", "1")
    pizza.screenshot("kitchen-board-new-order")
    time.sleep(1)  # anything meant for the other kitchen would have arrived by now
    expect(sushi.page.locator(".card")).to_have_count(0)
    expect(sushi.page.locator("#board")).to_have_attribute("data-cues", "0")

    card.get_by_role("button", name="Confirm").click()
    expect(pizza.page.locator(f'[data-column="confirmed"] #order-{order_id}')).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(pizza.page.locator(f'[data-column="new"] #order-{order_id}')).to_have_count(0)
    assert Order.objects.get(pk=order_id).status == "RESTAURANT_CONFIRMED"
    expect(
        pizza.page.locator(f'[data-column="confirmed"] #order-{order_id}').get_by_role("button", name="Start preparing")
    ).to_be_visible()
    pizza.screenshot("kitchen-board")
    assert pizza.errors == [] and sushi.errors == []
    assert pizza.third_party_requests() == []


def test_the_courier_position_shows_as_soon_as_the_order_takes_the_road(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    driver = HttpDriver(server.http, USER_PASSWORD)
    order_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    public = tabs(server)
    public.page.goto(f"/track/{token_of(order_id)}/")
    own = tabs(server)
    own.sign_in(customer.username, next_path=f"/orders/{order_id}/")
    for tab in (public, own):
        expect(tab.page.locator("#tracker")).to_have_attribute("data-connection", "live")
        expect(tab.page.locator("#map")).to_be_hidden()
    driver.confirm(order_id, staff_user)
    driver.claim(order_id, courier_user)
    driver.start_preparing(order_id, staff_user)
    driver.mark_ready(order_id, staff_user)
    driver.pick_up(order_id, courier_user, factories.handoff_code(order_id, HandoffPurpose.PICKUP))
    for tab in (public, own):
        expect(tab.page.locator("#status")).to_have_text("Order Picked Up", timeout=SHOWN_WITHIN_MS)
        # The courier's last known position (their profile's), before they report a new one.
        expect(tab.page.locator("#map .map-courier")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(own.page.locator("#map .map-destination")).to_be_visible()
    expect(public.page.locator("#map .map-destination")).to_have_count(0)  # the public link never plots the address
    own.screenshot("customer-order-map")
    assert public.errors == [] and own.errors == []


def test_the_kitchen_takes_orders_through_preparation_rejects_and_hands_over_with_the_customers_code(
    server, tabs, customer, restaurant, menu, staff_user
):
    driver = HttpDriver(server.http, USER_PASSWORD)
    delivery_id = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    pickup = driver.post(
        customer,
        "/api/orders/",
        {
            "restaurant": str(restaurant.pk),
            "items": [{"menu_item": str(menu["salad"].pk), "quantity": 2, "customizations": []}],
            "delivery_type": "pickup",
            "payment_method": "cod",
        },
    )["id"]
    unwanted = driver.place(customer=customer, restaurant=restaurant, item=menu["salad"])
    board = tabs(server, DESKTOP)
    board.sign_in(staff_user.username, next_path=f"/kitchen/{restaurant.pk}/")
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "live")

    def card(order_id, column):
        return board.page.locator(f'[data-column="{column}"] #order-{order_id}')

    card(unwanted, "new").get_by_role("button", name="Reject…").click()
    card(unwanted, "new").get_by_label("Reason to reject").fill("Closing early")
    card(unwanted, "new").get_by_role("button", name="Reject", exact=True).click()
    expect(board.page.locator(f"#order-{unwanted}")).to_have_count(0, timeout=SHOWN_WITHIN_MS)
    rejected = Order.objects.get(pk=unwanted)
    assert (rejected.status, rejected.cancellation_reason) == ("RESTAURANT_REJECTED", "Closing early")

    for order_id in (delivery_id, pickup):
        card(order_id, "new").get_by_role("button", name="Confirm").click()
        card(order_id, "confirmed").get_by_role("button", name="Start preparing").click(timeout=SHOWN_WITHIN_MS)
        card(order_id, "preparing").get_by_role("button", name="Mark ready").click(timeout=SHOWN_WITHIN_MS)
        expect(card(order_id, "ready")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    pickup_code = factories.handoff_code(delivery_id, HandoffPurpose.PICKUP)
    expect(card(delivery_id, "ready").locator(".pickup-code")).to_have_text(
        f"Pickup code for the courier: {pickup_code}"
    )
    expect(card(pickup, "ready").get_by_role("button", name="Hand over")).to_be_visible()
    board.screenshot("kitchen-board-ready")

    ready = card(pickup, "ready")
    ready.get_by_label("Customer's code").fill(
        "000000" if factories.handoff_code(pickup, HandoffPurpose.PICKUP) != "000000" else "111111"
    )
    ready.get_by_role("button", name="Hand over").click()
    expect(board.page.locator("#board-alert")).to_be_visible(timeout=SHOWN_WITHIN_MS)  # a wrong code is refused
    expect(board.page.locator("#board-alert")).to_contain_text("attempt")
    ready.get_by_label("Customer's code").fill(factories.handoff_code(pickup, HandoffPurpose.PICKUP))
    ready.get_by_role("button", name="Hand over").click()
    expect(board.page.locator(f"#order-{pickup}")).to_have_count(0, timeout=SHOWN_WITHIN_MS)
    assert Order.objects.get(pk=pickup).status == "DELIVERED"
    assert Order.objects.get(pk=delivery_id).status == "READY_FOR_PICKUP"
