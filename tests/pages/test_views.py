"""The pages without a browser: who may open which, and what the public page's HTML holds."""

import pytest
from django.test import Client

from orders.models import Order
from tests.api.support import ADDRESS, place

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
    order = Order.objects.get(pk=place(customer, menu).pk)
    html = Client().get(f"/track/{order.tracking_token}/").content.decode()
    assert order.number in html
    for secret in (ADDRESS["street"], ADDRESS["postal_code"], str(order.total), customer.username):
        assert secret not in html


def test_the_customer_page_needs_a_session_and_the_right_customer(customer, other_customer, menu):
    order = place(customer, menu)
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
