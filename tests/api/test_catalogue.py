import pytest
from rest_framework.test import APIClient

from tests.api.support import problem
from tests.factories import RestaurantFactory

pytestmark = pytest.mark.django_db


def test_lists_open_restaurants_by_name(alice, restaurant, other_restaurant):
    RestaurantFactory(name="Closed Diner", is_open=False)

    body = alice.get("/api/restaurants/").json()

    assert body["count"] == 2
    assert [r["name"] for r in body["results"]] == ["Pizza Palace", "Sushi Bar"]
    assert set(body["results"][0]) >= {"id", "name", "address", "latitude", "longitude", "currency", "delivery_fee"}


def test_search_by_name(alice, restaurant, other_restaurant):
    body = alice.get("/api/restaurants/", {"search": "sushi"}).json()

    assert [r["name"] for r in body["results"]] == ["Sushi Bar"]


def test_menu_shows_available_items_with_groups_choices_and_prices(alice, menu, restaurant):
    menu["anchovies"].is_available = False
    menu["anchovies"].save()

    body = alice.get(f"/api/restaurants/{restaurant.pk}/menu/").json()

    items = {item["name"]: item for item in body["items"]}
    assert set(items) == {"Margherita", "Caesar Salad"}  # the sold-out calzone is left out
    pizza = items["Margherita"]
    assert pizza["price"] == "12.00"
    groups = {group["name"]: group for group in pizza["customization_groups"]}
    assert (groups["Size"]["min_choices"], groups["Size"]["max_choices"]) == (1, 1)
    assert [(c["name"], c["price_adjustment"]) for c in groups["Size"]["choices"]] == [
        ("Small", "0.00"),
        ("Large", "3.00"),
    ]
    assert [c["name"] for c in groups["Toppings"]["choices"]] == ["Olives", "Basil"]


def test_menu_of_unknown_restaurant_is_404(alice):
    problem(alice.get("/api/restaurants/not-a-uuid/menu/"), 404, "restaurant_not_found")
    problem(alice.get("/api/restaurants/3f0c1c8e-7a53-4f39-8d9e-1b2b8c0e6a11/menu/"), 404, "restaurant_not_found")


def test_catalogue_needs_sign_in(restaurant):
    problem(APIClient().get("/api/restaurants/"), 401, "not_authenticated")
