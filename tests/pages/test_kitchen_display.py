"""The kitchen board as a kitchen display, in Chromium against a daphne process: what a cook reads
on a ticket, the timers and their colours, the bump-bar keys, the all-day counts, the courier
coming, codes that expire, and refusals in the kitchen's words."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from core.actors import Actor
from delivery.models import HandoffCode, HandoffPurpose
from orders.models import Order, OrderStatus
from orders.services.placing import OrderLine, order_place
from orders.services.transitions import order_cancel
from tests import factories
from tests.pages.conftest import BROWSER_TEST_MARKS, DESKTOP, PHONE, SHOWN_WITHIN_MS
from tests.pages.test_one_command_start import SocketCutter

pytestmark = BROWSER_TEST_MARKS

OVERDUE_BACKGROUND = "rgb(253, 232, 232)"


def place_with_instructions(customer, restaurant, menu) -> Order:
    return order_place(
        customer=customer,
        restaurant_id=restaurant.pk,
        lines=[
            OrderLine(
                menu_item_id=menu["pizza"].pk,
                quantity=2,
                choice_ids=[menu["large"].pk, menu["olives"].pk],
                notes="extra crispy, no onions",
            ),
            OrderLine(menu_item_id=menu["salad"].pk, quantity=1),
        ],
        delivery_type="delivery",
        payment_method="cod",
        address=factories.ADDRESS,
    )


def open_board(tabs, server, staff_user, restaurant, viewport=DESKTOP):
    board = tabs(server, viewport)
    board.sign_in(staff_user.username, next_path=f"/kitchen/{restaurant.pk}/")
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "live")
    return board


def test_tickets_show_instructions_timers_coloured_by_deadline_all_day_counts_and_the_courier(
    server, tabs, customer, restaurant, menu, staff_user, courier_user
):
    cooking = place_with_instructions(customer, restaurant, menu)
    factories.confirm(cooking.pk, staff_user)
    factories.start_preparing(cooking.pk, staff_user)
    # Its ready time passed five minutes ago: the ticket is overdue.
    Order.objects.filter(pk=cooking.pk).update(estimated_ready_at=timezone.now() - timedelta(minutes=5))
    fresh = factories.place_order(customer, menu["salad"])
    ready = factories.place_order(customer, menu["salad"])
    factories.confirm(ready.pk, staff_user)
    factories.claim(ready.pk, courier_user)
    factories.start_preparing(ready.pk, staff_user)
    factories.mark_ready(ready.pk, staff_user)
    # The pickup code runs out a few seconds after the board opens.
    HandoffCode.objects.filter(order_id=ready.pk, purpose=HandoffPurpose.PICKUP).update(
        expires_at=timezone.now() + timedelta(seconds=6)
    )

    board = open_board(tabs, server, staff_user, restaurant)
    card = board.page.locator(f'[data-column="preparing"] #order-{cooking.pk}')
    expect(card).to_be_visible()
    expect(card.locator(".item-note")).to_have_text("extra crispy, no onions")
    pizza = card.locator(".item", has_text="Margherita")
    expect(pizza.locator(".item-name")).to_have_text("2\u00d7 Margherita")
    expect(pizza.locator(".item-options")).to_have_text("Large · Olives")
    expect(card).to_have_attribute("data-urgency", "overdue")
    expect(card.locator(".timer")).to_contain_text("Late by 5:")
    assert card.evaluate("node => getComputedStyle(node).backgroundColor") == OVERDUE_BACKGROUND
    new_card = board.page.locator(f'[data-column="new"] #order-{fresh.pk}')
    expect(new_card).to_have_attribute("data-urgency", "ok")
    expect(new_card.locator(".timer")).to_contain_text("Confirm within")
    assert new_card.evaluate("node => getComputedStyle(node).backgroundColor") != OVERDUE_BACKGROUND

    # All day: what is being made now, summed over the tickets in preparation.
    expect(board.page.locator('#all-day [data-item="Margherita"]')).to_have_text("2 Margherita")
    expect(board.page.locator('#all-day [data-item="Caesar Salad"]')).to_have_text("1 Caesar Salad")

    ready_card = board.page.locator(f'[data-column="ready"] #order-{ready.pk}')
    expect(ready_card.locator(".courier-coming")).to_contain_text(f"Courier: {courier_user.first_name}")
    expect(ready_card.locator(".courier-coming")).to_contain_text("km away")
    code = factories.handoff_code(ready.pk, HandoffPurpose.PICKUP)
    expect(ready_card.locator(".pickup-code")).to_have_text(f"Pickup code for the courier: {code}")
    expect(ready_card.locator(".pickup-code")).to_contain_text("expired", timeout=SHOWN_WITHIN_MS)
    assert code not in ready_card.inner_text()

    # Order numbers stay on one line, however narrow the column.
    for tab_card in (card, new_card, ready_card):
        heading = tab_card.locator("h3")
        assert heading.evaluate("node => getComputedStyle(node).whiteSpace") == "nowrap"
        assert heading.evaluate("node => node.getClientRects().length") == 1
        assert heading.evaluate("node => node.scrollWidth <= node.clientWidth"), "the number is cut"
    board.screenshot("kitchen-display")
    board.page.set_viewport_size(PHONE)
    expect(card.locator(".item-note")).to_be_visible()
    assert board.fits_width()
    assert board.errors == []


def test_the_keyboard_bumps_a_ticket_and_recalls_the_last_bumped(server, tabs, customer, restaurant, menu, staff_user):
    first = factories.place_order(customer, menu["salad"])
    second = factories.place_order(customer, menu["salad"])
    board = open_board(tabs, server, staff_user, restaurant)
    keyboard = board.page.keyboard

    keyboard.press("ArrowDown")  # the first ticket of the first column with any
    expect(board.page.locator("#board")).to_have_attribute("data-selected", str(first.pk))
    keyboard.press("ArrowDown")
    expect(board.page.locator("#board")).to_have_attribute("data-selected", str(second.pk))
    keyboard.press("ArrowUp")
    expect(board.page.locator(f"#order-{first.pk}")).to_have_class("card is-selected")

    keyboard.press("b")  # bump: confirm
    expect(board.page.locator(f'[data-column="confirmed"] #order-{first.pk}')).to_be_visible(timeout=SHOWN_WITHIN_MS)
    # As below: the cook's next keys come after the action's own answer is announced.
    expect(board.page.locator("#announcer")).to_have_text(f"{first.number}: Order Confirmed", timeout=SHOWN_WITHIN_MS)
    assert Order.objects.get(pk=first.pk).status == OrderStatus.RESTAURANT_CONFIRMED
    expect(board.page.locator(f'[data-column="confirmed"] #order-{first.pk} .card-actions button')).to_have_text(
        "Start preparing", timeout=SHOWN_WITHIN_MS
    )
    keyboard.press("Enter")  # bump again: start preparing
    expect(board.page.locator(f'[data-column="preparing"] #order-{first.pk}')).to_be_visible(timeout=SHOWN_WITHIN_MS)
    # The card may move on the socket's event before the action's own answer arrives; that answer
    # is announced, and the cook's next keys come after it.
    expect(board.page.locator("#announcer")).to_have_text(
        f"{first.number}: Food Being Prepared", timeout=SHOWN_WITHIN_MS
    )
    assert Order.objects.get(pk=first.pk).status == OrderStatus.PREPARING

    keyboard.press("ArrowLeft")  # back to the New column
    expect(board.page.locator("#board")).to_have_attribute("data-selected", str(second.pk))
    keyboard.press("r")  # recall the last bumped ticket
    expect(board.page.locator("#board")).to_have_attribute("data-recalled", str(first.pk))
    expect(board.page.locator("#board")).to_have_attribute("data-selected", str(first.pk))
    expect(board.page.locator(f"#order-{first.pk}")).to_be_focused()
    expect(board.page.locator("#announcer")).to_have_text(f"Recalled order {first.number}")
    assert Order.objects.get(pk=second.pk).status == OrderStatus.ORDER_PLACED
    assert board.errors == []


def test_a_refused_action_is_told_in_the_kitchens_words_and_the_card_is_refreshed(
    server, tabs, customer, restaurant, menu, staff_user
):
    order = factories.place_order(customer, menu["salad"])
    factories.confirm(order.pk, staff_user)
    board = tabs(server, DESKTOP)
    sockets = SocketCutter(board.page)
    board.sign_in(staff_user.username, next_path=f"/kitchen/{restaurant.pk}/")
    stale = board.page.locator(f'[data-column="confirmed"] #order-{order.pk}')
    expect(stale.get_by_role("button", name="Start preparing")).to_be_visible()
    sockets.cut()  # the board hears nothing more while the order is cancelled elsewhere
    expect(board.page.locator("#board")).to_have_attribute("data-connection", "reconnecting")
    board.page.wait_for_timeout(500)  # the board's first poll after the cut has come back
    order_cancel(order_id=order.pk, actor=Actor.restaurant(staff_user), reason="Out of dough")

    stale.get_by_role("button", name="Start preparing").click()
    alert = board.page.locator("#board-alert")
    expect(alert).to_have_text(
        f"Order {order.number} was cancelled, so you cannot start preparing it now. The board is updated."
    )
    for internal in ("CANCELLED", "PREPARING", "RESTAURANT_CONFIRMED"):
        assert internal not in alert.inner_text()
    expect(board.page.locator(f"#order-{order.pk}")).to_have_count(0, timeout=SHOWN_WITHIN_MS)


def test_a_platform_admin_picks_a_restaurant_and_watches_its_board(
    server, tabs, customer, restaurant, other_restaurant, menu, admin_user
):
    order = factories.place_order(customer, menu["salad"])
    tab = tabs(server, DESKTOP)
    tab.sign_in(admin_user.username, next_path="/kitchen/")
    expect(tab.page.locator("main")).not_to_contain_text("not on the staff")
    expect(tab.page.get_by_role("link", name=f"{other_restaurant.name} Open the live board")).to_be_visible()
    tab.page.get_by_role("link", name=f"{restaurant.name} Open the live board").click()
    tab.page.wait_for_url(f"**/kitchen/{restaurant.pk}/")
    expect(tab.page.locator("#board")).to_have_attribute("data-connection", "live")
    expect(tab.page.locator(f'[data-column="new"] #order-{order.pk}')).to_be_visible()
    expect(tab.page.locator("#watching")).to_be_visible()
    expect(tab.page.locator(f"#order-{order.pk} a")).to_have_attribute(
        "href", f"/admin/orders/order/{order.pk}/change/"
    )
    later = factories.place_order(customer, menu["salad"])
    expect(tab.page.locator(f'[data-column="new"] #order-{later.pk}')).to_be_visible(timeout=SHOWN_WITHIN_MS)
    assert tab.errors == []
