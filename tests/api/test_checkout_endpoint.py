"""Placing an order over HTTP: what POST /api/orders/ answers, priced from the menu, and what it refuses."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderStatus
from tests.api.support import order_body, problem
from tests.factories import MenuItemFactory

pytestmark = pytest.mark.django_db


def test_places_a_delivery_order_priced_from_the_menu(alice, customer, menu):
    body = order_body(menu)
    priced = order_body(menu)
    priced["items"][0]["unit_price"] = "0.01"  # prices from the client are refused, by name
    priced["total"] = "1.00"
    refused = alice.post("/api/orders/", priced, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"items[0].unit_price", "total"}

    response = alice.post("/api/orders/", body, format="json")

    assert response.status_code == 201
    order = response.json()
    # 2 x (12.00 + 3.00 large + 1.25 olives) + 9.00 salad
    assert order["subtotal"] == "41.50"
    assert order["tax_amount"] == "3.42"  # 8.25 %
    assert order["delivery_fee"] == "2.99"
    assert order["tip"] == "3.00"
    assert order["total_amount"] == "50.91"
    assert order["order_status"] == "ORDER_PLACED"
    assert order["payment_method"] == "cod"
    assert order["item_count"] == 3
    assert order["delivery_address"]["city"] == "San Francisco"
    assert order["delivery_address"]["latitude"] == "37.787000"
    pizza = next(item for item in order["items"] if item["name"] == "Margherita")
    assert pizza["unit_price"] == "16.25"
    assert [(c["group_name"], c["choice_name"]) for c in pizza["customizations"]] == [
        ("Size", "Large"),
        ("Toppings", "Olives"),
    ]
    saved = Order.objects.get(pk=order["id"])
    assert saved.customer == customer
    assert saved.events.count() == 1


def test_online_order_waits_for_payment(alice, menu):
    order = alice.post("/api/orders/", order_body(menu, payment_method="online"), format="json").json()

    assert order["order_status"] == "PAYMENT_PENDING"
    assert order["payment_status"] == "pending"


def test_pickup_order_needs_no_address_and_has_no_delivery_fee(alice, menu):
    response = alice.post("/api/orders/", order_body(menu, delivery_type="pickup"), format="json")

    assert response.status_code == 201
    order = response.json()
    assert order["delivery_type"] == "pickup"
    assert order["delivery_address"] is None
    assert order["delivery_fee"] == "0.00"


def test_delivery_order_without_address_is_400(alice, menu):
    body = order_body(menu)
    del body["delivery_address"]

    errors = problem(alice.post("/api/orders/", body, format="json"), 400, "validation_error")["errors"]
    assert "delivery_address" in errors


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda body, menu: body["items"][0].update(menu_item=str(menu["sold_out"].pk)), "items[0].menu_item"),
        (lambda body, menu: body["items"][0].update(customizations=[menu["olives"].pk]), "items[0].customizations"),
        (
            lambda body, menu: body["items"][0].update(
                customizations=[menu["small"].pk, menu["olives"].pk, menu["basil"].pk, menu["anchovies"].pk]
            ),
            "items[0].customizations",
        ),
        (lambda body, menu: body["items"][1].update(customizations=[menu["large"].pk]), "items[1].customizations"),
        (lambda body, menu: body.update(restaurant="3f0c1c8e-7a53-4f39-8d9e-1b2b8c0e6a11"), "restaurant"),
        (lambda body, menu: body.update(items=[]), "items"),
    ],
)
def test_menu_rules_refuse_with_the_field_named(alice, menu, mutate, field):
    body = order_body(menu)
    mutate(body, menu)

    errors = problem(alice.post("/api/orders/", body, format="json"), 400, "validation_error")["errors"]

    assert field in errors, errors
    assert not Order.objects.exists()


def test_item_from_another_restaurant_is_refused(alice, menu, other_restaurant):
    sushi = MenuItemFactory(restaurant=other_restaurant, name="Maki", price=Decimal("8.00"))
    body = order_body(menu)
    body["items"].append({"menu_item": str(sushi.pk), "quantity": 1})

    errors = problem(alice.post("/api/orders/", body, format="json"), 400, "validation_error")["errors"]
    assert "items[2].menu_item" in errors


def test_closed_restaurant_is_refused(alice, menu, restaurant):
    restaurant.is_open = False
    restaurant.save()

    errors = problem(alice.post("/api/orders/", order_body(menu), format="json"), 400, "validation_error")["errors"]
    assert "restaurant" in errors


def test_staff_and_couriers_can_order_as_customers(kitchen, dave, menu):
    assert kitchen.post("/api/orders/", order_body(menu), format="json").status_code == 201
    assert dave.post("/api/orders/", order_body(menu, delivery_type="pickup"), format="json").status_code == 201
    assert Order.objects.filter(status=OrderStatus.ORDER_PLACED).count() == 2
