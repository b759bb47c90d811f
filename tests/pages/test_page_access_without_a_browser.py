"""The pages without a browser: who may open which, and what the public page's HTML holds."""

import pytest
from django.test import Client

from orders.models import Order
from tests.api.support import ADDRESS
from tests.factories import place_order

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_landing_page_answers_get_and_head():
    assert Client().get("/").status_code == 200
    assert Client().head("/").status_code == 200
    assert Client().post("/").status_code == 405


def test_the_public_page_holds_no_address_or_price(customer, menu):
    order = Order.objects.get(pk=place_order(customer, menu["pizza"]).pk)
    html = Client().get(f"/track/{order.tracking_token}/").content.decode()
    assert order.number in html
    for secret in (ADDRESS["street"], ADDRESS["postal_code"], str(order.total), customer.username):
        assert secret not in html


def test_the_customer_page_needs_a_session_and_the_right_customer(customer, other_customer, menu):
    order = place_order(customer, menu["pizza"])
    anonymous = Client().get(f"/orders/{order.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"] == f"/login/?next=/orders/{order.pk}/"
    assert signed_in(other_customer).get(f"/orders/{order.pk}/").status_code == 404
    assert signed_in(customer).get(f"/orders/{order.pk}/").status_code == 200


def test_the_kitchen_board_is_for_the_restaurants_own_staff(restaurant, other_restaurant, staff_user, customer):
    staff = signed_in(staff_user)
    index = staff.get("/kitchen/")
    assert index.status_code == 302 and index["Location"] == f"/kitchen/{restaurant.pk}/"
    assert staff.get(f"/kitchen/{restaurant.pk}/").status_code == 200
    assert staff.get(f"/kitchen/{other_restaurant.pk}/").status_code == 404
    assert signed_in(customer).get(f"/kitchen/{restaurant.pk}/").status_code == 404
    assert Client().get(f"/kitchen/{restaurant.pk}/").status_code == 302


def test_the_admin_links_to_the_kitchen_board(admin_user):
    assert 'href="/kitchen/"' in signed_in(admin_user).get("/admin/").content.decode()


def test_the_board_tickets_name_the_courier_for_the_kitchens_staff_and_platform_admins_only(
    restaurant, other_staff_user, staff_user, admin_user, customer, menu, courier_user
):
    from tests import factories

    order = factories.place_order(customer, menu["salad"])
    factories.confirm(order.pk, staff_user)
    factories.claim(order.pk, courier_user)
    body = signed_in(staff_user).get(f"/kitchen/{restaurant.pk}/tickets/").json()
    [ticket] = body["orders"]
    assert ticket["id"] == str(order.pk)
    assert ticket["courier"]["first_name"] == courier_user.first_name
    assert ticket["courier"]["distance_km"] >= 0
    assert signed_in(admin_user).get(f"/kitchen/{restaurant.pk}/tickets/").status_code == 200
    refused = signed_in(other_staff_user).get(f"/kitchen/{restaurant.pk}/tickets/")
    assert refused.status_code == 404 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "not_found"


def test_a_platform_admin_may_pick_any_kitchen(restaurant, other_restaurant, admin_user):
    admin = signed_in(admin_user)
    index = admin.get("/kitchen/").content.decode()
    assert f"/kitchen/{restaurant.pk}/" in index and f"/kitchen/{other_restaurant.pk}/" in index
    assert admin.get(f"/kitchen/{other_restaurant.pk}/").status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_pages_and_links_get_the_friendly_404_page_debug_or_not(settings, debug, customer):
    settings.DEBUG = debug
    for path in ("/no/such/page/", "/track/not-a-token/", "/kitchen/extra/things/"):
        response = Client().get(path, HTTP_ACCEPT="text/html")
        html = response.content.decode()
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in html and "URLconf" not in html, path
    assert signed_in(customer).get("/my/orders/").status_code == 200


def test_a_browser_gets_the_500_page_and_any_other_client_problem_json(rf):
    from core.views import server_error

    page = server_error(rf.get("/orders/x/", HTTP_ACCEPT="text/html"))
    assert page.status_code == 500 and b"Something went wrong" in page.content
    problem = server_error(rf.get("/api/orders/", HTTP_ACCEPT="application/json"))
    assert problem.status_code == 500 and problem["Content-Type"] == "application/problem+json"


def test_the_410_page_says_the_link_has_expired(rf):
    from django.template.loader import render_to_string

    html = render_to_string("410.html", {"message": "This tracking link has expired."})
    assert "This link has expired" in html and "This tracking link has expired." in html


def test_the_operator_summary_is_for_platform_admins(admin_user, staff_user):
    assert signed_in(admin_user).get("/operator/").status_code == 200
    assert signed_in(staff_user).get("/operator/").status_code == 404
