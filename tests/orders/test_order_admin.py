import logging

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.actors import Actor
from delivery.handoff import otp_reveal
from orders.models import DeliveryType, HandoffPurpose, Order, OrderStatus, TrackingEvent
from orders.services.transitions import order_transition
from restaurants.services import staff_group_ensure
from tests.factories import MenuItemFactory, OrderFactory, UserFactory, place_order

S = OrderStatus
CHANGELIST = reverse("admin:orders_order_changelist")
EVENT_FIELDS = ("sequence", "event_type", "from_status", "to_status", "actor_role", "actor_name", "reason")


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def history(order: Order) -> list[dict]:
    return list(TrackingEvent.objects.filter(order=order).order_by("sequence").values(*EVENT_FIELDS))


def messages_of(response) -> list[tuple[str, str]]:
    """The messages shown on the page the action led to."""
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def run_action(client: Client, action: str, *orders: Order, **data):
    """Post an admin action as the changelist (or its intermediate page) does, and follow it."""
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in orders], **data}
    return client.post(CHANGELIST, data, follow=True)


def redirected_to_changelist(response) -> bool:
    return response.redirect_chain == [(CHANGELIST, 302)]


@pytest.fixture
def staff_client(client, staff_user):
    staff_user.groups.add(staff_group_ensure())
    client.force_login(staff_user)
    return client


@pytest.fixture
def other_staff_client(other_staff_user):
    other_staff_user.groups.add(staff_group_ensure())
    client = Client()
    client.force_login(other_staff_user)
    return client


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def walk(order: Order, actor: Actor, *targets: OrderStatus) -> None:
    for target in targets:
        order_transition(order_id=order.pk, target=target, actor=actor)


# ---------------------------------------------------------------- who sees what


def test_staff_list_only_their_restaurants_orders(staff_client, restaurant, other_restaurant, customer):
    own = place_order(customer, MenuItemFactory(restaurant=restaurant))
    foreign = place_order(customer, MenuItemFactory(restaurant=other_restaurant))

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    assert [order.pk for order in response.context["cl"].result_list] == [own.pk]
    assert own.number in response.text
    assert foreign.number not in response.text


@pytest.mark.parametrize("suffix", ["change", "history"])
def test_staff_cannot_open_another_restaurants_order(staff_client, other_restaurant, suffix, customer):
    foreign = place_order(customer, MenuItemFactory(restaurant=other_restaurant))

    response = staff_client.get(reverse(f"admin:orders_order_{suffix}", args=[foreign.pk]))

    assert response.status_code in (302, 404)
    assert foreign.number not in response.text
    if response.status_code == 302:
        assert response.url == reverse("admin:index")


def test_staff_cannot_act_on_another_restaurants_order(staff_client, other_restaurant, customer):
    foreign = place_order(customer, MenuItemFactory(restaurant=other_restaurant))

    response = run_action(staff_client, "confirm", foreign)

    assert redirected_to_changelist(response)
    assert messages_of(response) == []
    foreign.refresh_from_db()
    assert foreign.status == S.ORDER_PLACED
    assert len(history(foreign)) == 1


def test_staff_of_the_other_restaurant_sees_only_theirs(other_staff_client, restaurant, other_restaurant, customer):
    place_order(customer, MenuItemFactory(restaurant=restaurant))
    theirs = place_order(customer, MenuItemFactory(restaurant=other_restaurant))

    response = other_staff_client.get(CHANGELIST)

    assert [order.pk for order in response.context["cl"].result_list] == [theirs.pk]


def test_superuser_sees_and_opens_every_restaurants_orders(admin_client, restaurant, other_restaurant, customer):
    orders = {
        place_order(customer, MenuItemFactory(restaurant=restaurant)).pk,
        place_order(customer, MenuItemFactory(restaurant=other_restaurant)).pk,
    }

    response = admin_client.get(CHANGELIST)

    assert {order.pk for order in response.context["cl"].result_list} == orders
    for order in Order.objects.all():
        assert admin_client.get(change_url(order)).status_code == 200


def test_staff_user_without_a_restaurant_sees_no_orders(client, restaurant, customer):
    place_order(customer, MenuItemFactory(restaurant=restaurant))
    loner = UserFactory(username="loner", is_staff=True)
    loner.groups.add(staff_group_ensure())
    client.force_login(loner)

    response = client.get(CHANGELIST)

    assert list(response.context["cl"].result_list) == []


def test_changelist_query_count_does_not_grow_with_orders(staff_client, restaurant):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries)

    for _ in range(2):
        OrderFactory(restaurant=restaurant, customer=UserFactory())
    few = count_queries()
    for _ in range(10):
        OrderFactory(restaurant=restaurant, customer=UserFactory())
    many = count_queries()

    assert many == few


def test_search_by_number_and_customer(staff_client, restaurant):
    mine = OrderFactory(restaurant=restaurant, customer=UserFactory(username="bob", email="bob@example.com"))
    other = OrderFactory(restaurant=restaurant, customer=UserFactory(username="zoe", email="zoe@example.com"))

    for term in (mine.number, "bob", "bob@example.com"):
        response = staff_client.get(CHANGELIST, {"q": term})
        assert [order.pk for order in response.context["cl"].result_list] == [mine.pk], term
    response = staff_client.get(CHANGELIST, {"status__exact": S.ORDER_PLACED})
    assert {order.pk for order in response.context["cl"].result_list} == {mine.pk, other.pk}


# ---------------------------------------------------------------- nothing is edited by hand


def test_order_page_is_read_only(staff_client, restaurant, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))

    page = staff_client.get(change_url(order))
    posted = staff_client.post(change_url(order), {"status": S.DELIVERED})

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert posted.status_code == 403
    order.refresh_from_db()
    assert order.status == S.ORDER_PLACED


def test_orders_cannot_be_added_or_deleted(admin_client, restaurant, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))

    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403
    assert admin_client.post(reverse("admin:orders_order_delete", args=[order.pk]), {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_order_page_shows_items_with_customizations_and_history(staff_client, restaurant, customer, menu):
    order = place_order(
        customer, menu["pizza"], quantity=2, choices=[menu["large"], menu["olives"]], delivery_type=DeliveryType.PICKUP
    )

    response = staff_client.get(change_url(order))

    assert "Size: Large (+3.00); Toppings: Olives (+1.25)" in response.text
    assert "order.placed" in response.text


# ---------------------------------------------------------------- actions call the service


def test_actions_write_the_same_events_as_the_service(staff_client, staff_user, restaurant, customer):
    through_admin = place_order(customer, MenuItemFactory(restaurant=restaurant))
    through_service = place_order(customer, MenuItemFactory(restaurant=restaurant))

    for action in ("confirm", "start_preparing", "mark_ready"):
        response = run_action(staff_client, action, through_admin)
        assert redirected_to_changelist(response)
        assert [level for level, _ in messages_of(response)] == ["success"]
    walk(through_service, Actor.restaurant(staff_user), S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)

    through_admin.refresh_from_db()
    assert through_admin.status == S.READY_FOR_PICKUP
    assert history(through_admin) == history(through_service)
    assert [(e["from_status"], e["to_status"], e["actor_role"]) for e in history(through_admin)[1:]] == [
        (S.ORDER_PLACED, S.RESTAURANT_CONFIRMED, "restaurant"),
        (S.RESTAURANT_CONFIRMED, S.PREPARING, "restaurant"),
        (S.PREPARING, S.READY_FOR_PICKUP, "restaurant"),
    ]


def test_superuser_acts_as_the_platform_admin(admin_client, restaurant, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))

    run_action(admin_client, "confirm", order)

    assert history(order)[-1]["actor_role"] == "admin"


def test_illegal_action_is_refused_with_a_message_and_no_change(staff_client, restaurant, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))

    response = run_action(staff_client, "mark_ready", order)

    assert redirected_to_changelist(response)
    assert messages_of(response) == [
        ("error", f"{order.number}: The order is ORDER_PLACED; it cannot move to READY_FOR_PICKUP.")
    ]
    order.refresh_from_db()
    assert order.status == S.ORDER_PLACED
    assert len(history(order)) == 1


def test_action_on_several_orders_reports_each(staff_client, staff_user, restaurant, customer):
    ready_to_confirm = place_order(customer, MenuItemFactory(restaurant=restaurant))
    already_confirmed = place_order(customer, MenuItemFactory(restaurant=restaurant))
    walk(already_confirmed, Actor.restaurant(staff_user), S.RESTAURANT_CONFIRMED)

    response = run_action(staff_client, "confirm", ready_to_confirm, already_confirmed)

    refusal = "The order is RESTAURANT_CONFIRMED; it cannot move to RESTAURANT_CONFIRMED."
    assert sorted(messages_of(response)) == [
        ("error", f"{already_confirmed.number}: {refusal}"),
        ("success", f"Confirmed: {ready_to_confirm.number}."),
    ]
    ready_to_confirm.refresh_from_db()
    assert ready_to_confirm.status == S.RESTAURANT_CONFIRMED


@pytest.mark.parametrize(("action", "target"), [("reject", S.RESTAURANT_REJECTED), ("cancel", S.CANCELLED)])
def test_reject_and_cancel_ask_for_a_reason_first(staff_client, restaurant, action, target, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))

    asked = run_action(staff_client, action, order)
    blank = run_action(staff_client, action, order, apply="1", reason="  ")

    for response in (asked, blank):
        assert response.status_code == 200 and response.redirect_chain == []
        assert "admin/orders/order/action_form.html" in [t.name for t in response.templates]
        assert order.number in response.text
        assert 'name="reason"' in response.text
    assert blank.context["form"].errors == {"reason": ["This field is required."]}
    order.refresh_from_db()
    assert order.status == S.ORDER_PLACED

    done = run_action(staff_client, action, order, apply="1", reason="Oven is broken")

    assert redirected_to_changelist(done)
    assert messages_of(done) == [("success", f"{'Rejected' if action == 'reject' else 'Cancelled'}: {order.number}.")]
    order.refresh_from_db()
    assert order.status == target
    assert order.cancellation_reason == "Oven is broken"
    last = history(order)[-1]
    assert (last["to_status"], last["actor_role"], last["reason"]) == (target, "restaurant", "Oven is broken")


def test_mark_returned_needs_a_reason(staff_client, restaurant):
    order = OrderFactory(restaurant=restaurant, status=S.DELIVERED)

    assert run_action(staff_client, "mark_returned", order).redirect_chain == []
    run_action(staff_client, "mark_returned", order, apply="1", reason="Wrong order delivered")

    order.refresh_from_db()
    assert order.status == S.RETURNED
    assert history(order)[-1]["reason"] == "Wrong order delivered"


def test_hand_over_a_self_pickup_order_with_the_customers_code(staff_client, staff_user, customer, restaurant):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant), delivery_type=DeliveryType.PICKUP)
    walk(order, Actor.restaurant(staff_user), S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)
    code, _ = otp_reveal(order_id=order.pk, purpose=HandoffPurpose.PICKUP, actor=Actor.customer(customer))
    wrong = "000000" if code != "000000" else "111111"

    page = staff_client.get(change_url(order))
    asked = run_action(staff_client, "hand_over", order)
    refused = run_action(staff_client, "hand_over", order, apply="1", code=wrong)

    assert code not in page.text
    assert page.context["pickup_code"] is None
    assert asked.redirect_chain == [] and 'name="code"' in asked.text
    assert redirected_to_changelist(refused)
    assert messages_of(refused) == [("error", f"{order.number}: The code is not correct; 4 attempts left.")]
    order.refresh_from_db()
    assert order.status == S.READY_FOR_PICKUP

    done = run_action(staff_client, "hand_over", order, apply="1", code=code)

    assert messages_of(done) == [("success", f"Handed over: {order.number}.")]
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert history(order)[-1]["actor_role"] == "restaurant"


def test_hand_over_takes_one_order_at_a_time(staff_client, restaurant):
    orders = [OrderFactory(restaurant=restaurant, status=S.READY_FOR_PICKUP, delivery_type="pickup") for _ in range(2)]

    response = run_action(staff_client, "hand_over", *orders)

    assert redirected_to_changelist(response)
    assert messages_of(response) == [("error", "Hand over one order at a time: each has its own code.")]


def test_order_page_offers_the_next_steps_from_the_table(staff_client, restaurant):
    preparing = OrderFactory(restaurant=restaurant, status=S.PREPARING)
    delivered = OrderFactory(restaurant=restaurant, status=S.COMPLETED)

    assert [name for name, _ in staff_client.get(change_url(preparing)).context["order_actions"]] == [
        "mark_ready",
        "cancel",
    ]
    assert staff_client.get(change_url(delivered)).context["order_actions"] == []


# ---------------------------------------------------------------- the pickup code


def test_staff_read_the_pickup_code_of_a_ready_delivery_order(staff_client, staff_user, restaurant, caplog, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))
    walk(order, Actor.restaurant(staff_user), S.RESTAURANT_CONFIRMED, S.PREPARING)
    assert staff_client.get(change_url(order)).context["pickup_code"] is None
    walk(order, Actor.restaurant(staff_user), S.READY_FOR_PICKUP)
    code, _ = otp_reveal(order_id=order.pk, purpose=HandoffPurpose.PICKUP, actor=Actor.restaurant(staff_user))

    with caplog.at_level(logging.DEBUG):
        response = staff_client.get(change_url(order))

    assert response.context["pickup_code"]["code"] == code
    assert f'<strong id="pickup-code">{code}</strong>' in response.text
    assert code not in caplog.text


# ---------------------------------------------------------------- the other admins


def test_staff_see_only_their_menu(staff_client, restaurant, other_restaurant, admin_client):
    own = MenuItemFactory(restaurant=restaurant, name="Margherita")
    foreign = MenuItemFactory(restaurant=other_restaurant, name="Dragon Roll")
    url = reverse("admin:restaurants_menuitem_changelist")

    assert list(staff_client.get(url).context["cl"].result_list) == [own]
    assert staff_client.get(reverse("admin:restaurants_menuitem_change", args=[foreign.pk])).status_code == 302
    assert set(admin_client.get(url).context["cl"].result_list) == {own, foreign}


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:payments_payment_changelist",
        "admin:payments_refund_changelist",
        "admin:orders_trackingevent_changelist",
        "admin:delivery_handoffcode_changelist",
    ],
)
def test_operator_lists_are_for_superusers_only(staff_client, admin_client, url_name):
    assert staff_client.get(reverse(url_name)).status_code == 403
    assert admin_client.get(reverse(url_name)).status_code == 200


def test_handoff_codes_list_never_shows_the_counter(admin_client, staff_user, restaurant, customer):
    order = place_order(customer, MenuItemFactory(restaurant=restaurant))
    walk(order, Actor.restaurant(staff_user), S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)
    handoff = order.handoff_codes.get()
    code, _ = otp_reveal(order_id=order.pk, purpose=HandoffPurpose.PICKUP, actor=Actor.restaurant(staff_user))

    listing = admin_client.get(reverse("admin:delivery_handoffcode_changelist"))
    page = admin_client.get(reverse("admin:delivery_handoffcode_change", args=[handoff.pk]))

    for response in (listing, page):
        assert response.status_code == 200
        assert str(handoff.counter) not in response.text
        assert code not in response.text
