"""Seed a throw-away database for a fault case, in a process of its own (run by the case with the
servers' environment): a customer with a placed order, the restaurant's staff and a courier.
Prints one JSON line: the order's id and an access token for each of them."""

import json
from typing import Any

import django

django.setup()

from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from tests import factories  # noqa: E402
from tests.factories import CourierFactory, MenuItemFactory, RestaurantFactory, StaffFactory, UserFactory  # noqa: E402

restaurant = RestaurantFactory(name="Pizza Palace")
item: Any = MenuItemFactory(restaurant=restaurant, name="Caesar Salad", price="9.00")
customer: Any = UserFactory(username="alice")
staff: Any = StaffFactory(restaurant=restaurant, user__username="pizza_staff").user
courier: Any = CourierFactory(user__username="dave").user
order = factories.place_order(customer, item)
print(
    json.dumps(
        {
            "order_id": str(order.pk),
            "customer": str(AccessToken.for_user(customer)),
            "staff": str(AccessToken.for_user(staff)),
            "courier": str(AccessToken.for_user(courier)),
        }
    )
)
