"""The admin's order screens and the operator summary in Chromium, the friendly error pages, and
axe-core over every page the project renders: no serious or critical violation, phone and desktop."""

from datetime import timedelta

from django.template.loader import render_to_string
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import Actor
from orders.models import Order, RefundStatus
from orders.services.transitions import order_cancel
from tests import factories
from tests.pages.axe import serious_violations
from tests.pages.conftest import BROWSER_TEST_MARKS, DESKTOP, PHONE, SHOWN_WITHIN_MS, USER_PASSWORD

pytestmark = BROWSER_TEST_MARKS


def admin_sign_in(tab, user) -> None:
    tab.page.goto("/admin/login/?next=/admin/")
    tab.page.fill("#id_username", user.username)
    tab.page.fill("#id_password", USER_PASSWORD)
    tab.page.click("input[type=submit]")
    tab.page.wait_for_url("**/admin/")


def delivered(customer, restaurant, menu, staff_user, courier_user) -> Order:
    order = factories.place_order(customer, menu["salad"])
    factories.on_the_road(order.pk, staff_user, courier_user)
    factories.complete_delivery(order.pk, courier_user)
    return Order.objects.get(pk=order.pk)


def test_the_order_list_shows_age_total_and_a_coloured_status_and_an_order_fits_1280_px(
    server, tabs, customer, restaurant, menu, staff_user, courier_user, admin_user
):
    done = delivered(customer, restaurant, menu, staff_user, courier_user)
    waiting = factories.place_order(customer, menu["salad"])
    Order.objects.filter(pk=waiting.pk).update(placed_at=timezone.now() - timedelta(minutes=95))
    tab = tabs(server, DESKTOP)
    admin_sign_in(tab, admin_user)
    tab.page.goto("/admin/orders/order/")
    headers = tab.page.locator("#result_list thead th").all_inner_texts()
    assert {"STATUS", "AGE", "TOTAL"} <= {header.strip().upper() for header in headers}
    row = tab.page.locator("#result_list tr", has_text=waiting.number)
    expect(row.locator(".field-age")).to_have_text("1 h 35 min")
    expect(row.locator(".field-total_with_currency")).to_have_text(f"{waiting.total} {waiting.currency}")
    pill = row.locator(".status-pill")
    expect(pill).to_have_text("Order Placed")
    delivered_pill = tab.page.locator("#result_list tr", has_text=done.number).locator(".status-pill")
    colours = {
        pill.evaluate("n => getComputedStyle(n).backgroundColor"),
        delivered_pill.evaluate("n => getComputedStyle(n).backgroundColor"),
    }
    assert len(colours) == 2 and "rgba(0, 0, 0, 0)" not in colours
    tab.screenshot("admin-order-list")

    tab.page.goto(f"/admin/orders/order/{done.pk}/change/")
    history = tab.page.locator(".order-history")
    expect(history).to_contain_text("Out for Delivery → Delivered")
    assert "OUT_FOR_DELIVERY" not in history.inner_text()
    assert "{" not in history.inner_text()
    assert tab.fits_width(), "the order page is wider than 1,280 px"
    height = tab.page.evaluate("document.documentElement.scrollHeight")
    assert height < 2600, f"the order page is {height} px long"
    tab.screenshot("admin-order")


def test_the_operator_summary_counts_states_overdue_failures_and_the_last_hour(
    server, tabs, customer, restaurant, menu, staff_user, courier_user, admin_user
):
    delivered(customer, restaurant, menu, staff_user, courier_user)
    overdue = factories.place_order(customer, menu["salad"])
    Order.objects.filter(pk=overdue.pk).update(deadline_at=timezone.now() - timedelta(minutes=2))
    refunded = factories.place_order(customer, menu["salad"])
    order_cancel(order_id=refunded.pk, actor=Actor.restaurant(staff_user), reason="Closed")
    Order.objects.filter(pk=refunded.pk).update(refund_status=RefundStatus.FAILED)
    tab = tabs(server, DESKTOP)
    admin_sign_in(tab, admin_user)
    tab.page.click("#operator-link")
    tab.page.wait_for_url("**/operator/")
    expect(tab.page.locator("#stat-overdue")).to_have_text("1")
    expect(tab.page.locator("#stat-refunds-failed")).to_have_text("1")
    expect(tab.page.locator("#stat-throughput")).to_have_text("1")
    expect(tab.page.locator("#stat-active")).to_have_text("1")
    expect(tab.page.locator("#by-state tr", has_text="Order Placed").locator(".num")).to_have_text("1")
    expect(tab.page.locator("#throughput-chart .chart-bucket")).to_have_count(6)
    assert tab.page.locator("#throughput-chart .chart-delivered").evaluate_all(
        "bars => bars.some((bar) => Number(bar.getAttribute('height')) > 0)"
    )
    tab.screenshot("operator-summary")

    staff = tabs(server, DESKTOP)
    staff.sign_in(staff_user.username, next_path=f"/kitchen/{restaurant.pk}/")
    assert staff.page.goto("/operator/").status == 404


def test_friendly_error_pages(server, tabs, customer):
    tab = tabs(server)
    response = tab.page.goto("/no/such/page/")
    assert response.status == 404
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(tab.page.get_by_role("link", name="Back to the start")).to_be_visible()
    assert tab.page.goto("/kitchen").url.endswith("/kitchen/")  # a missing slash is added, not a 404
    api = tab.context.request.get("/no/such/page/", headers={"Accept": "application/json"})
    assert api.status == 404 and api.headers["content-type"] == "application/problem+json"


PAGES_ANONYMOUS = ["/", "/login/", "/no/such/page/"]


def check(tab, where: str, **options) -> None:
    violations = serious_violations(tab.page, **options)
    assert violations == [], f"{where}: {violations}"


def test_axe_finds_no_serious_violation_on_any_page(
    server, tabs, customer, restaurant, menu, staff_user, courier_user, admin_user
):
    on_road = factories.place_order(customer, menu["salad"])
    factories.on_the_road(on_road.pk, staff_user, courier_user)
    cancelled = factories.place_order(customer, menu["salad"])
    order_cancel(order_id=cancelled.pk, actor=Actor.restaurant(staff_user), reason="Closed")
    for status in ("new", "confirmed", "preparing"):
        order = factories.place_order(customer, menu["salad"])
        if status != "new":
            factories.confirm(order.pk, staff_user)
        if status == "preparing":
            factories.start_preparing(order.pk, staff_user)
    on_road = Order.objects.get(pk=on_road.pk)

    for viewport in (PHONE, DESKTOP):
        anonymous = tabs(server, viewport)
        for path in [*PAGES_ANONYMOUS, f"/track/{on_road.tracking_token}/", f"/track/{cancelled.tracking_token}/"]:
            anonymous.page.goto(path)
            check(anonymous, f"{path} at {viewport['width']} px")
        anonymous.page.goto("/api/docs/")
        expect(anonymous.page.locator(".swagger-ui .title")).to_contain_text("orderflow API", timeout=SHOWN_WITHIN_MS)
        check(anonymous, "/api/docs/ (the page around Swagger UI's own widget)", exclude=[".swagger-ui"])
        # The pages no route of this branch serves yet, rendered as Django renders them.
        for template in ("410.html", "500.html"):
            anonymous.page.goto("/")
            anonymous.page.set_content(render_to_string(template))
            check(anonymous, template)

        own = tabs(server, viewport)
        own.sign_in(customer.username, next_path="/my/orders/")
        check(own, "/my/orders/")
        for order in (on_road, cancelled):
            own.page.goto(f"/orders/{order.pk}/")
            expect(own.page.locator("#tracker")).not_to_have_attribute("data-connection", "connecting")
            check(own, f"/orders/{order.pk}/")

        kitchen = tabs(server, viewport)
        kitchen.sign_in(staff_user.username, next_path=f"/kitchen/{restaurant.pk}/")
        expect(kitchen.page.locator("#board")).to_have_attribute("data-connection", "live")
        expect(kitchen.page.locator(".card").first).to_be_visible()
        check(kitchen, "the kitchen board")
        kitchen.page.keyboard.press("ArrowDown")
        check(kitchen, "the kitchen board with a ticket selected")

        admin = tabs(server, viewport)
        admin.page.goto("/admin/login/")
        check(admin, "/admin/login/")
        admin_sign_in(admin, admin_user)
        for path in (
            "/admin/",
            "/admin/orders/order/",
            f"/admin/orders/order/{on_road.pk}/change/",
            "/kitchen/",
            "/operator/",
        ):
            admin.page.goto(path)
            check(admin, f"{path} at {viewport['width']} px")

    # Every list the admin's index links to, and the first object of each.
    admin = tabs(server, DESKTOP)
    admin_sign_in(admin, admin_user)
    lists = admin.page.locator("#content-main th[scope=row] a").evaluate_all("links => links.map((a) => a.href)")
    assert len(lists) > 10
    found = {}
    for url in lists:
        admin.page.goto(url)
        found[url] = serious_violations(admin.page)
        first = admin.page.locator("#result_list tbody tr th a, #result_list tbody tr td.field-__str__ a").first
        if first.count():
            first.click()
            admin.page.wait_for_load_state()
            found[admin.page.url] = serious_violations(admin.page)
    failing = {url: violations for url, violations in found.items() if violations}
    assert failing == {}, failing
