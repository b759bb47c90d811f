"""Helpers for the API tests: the body of a checkout request and the problem+json a refusal answers."""

from typing import Any

ADDRESS: dict[str, Any] = {
    "street": "500 Howard Street",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94105",
    "country": "USA",
    "latitude": 37.787,
    "longitude": -122.396,
}


def order_body(menu, *, delivery_type="delivery", payment_method="cod", **extra) -> dict:
    body = {
        "restaurant": str(menu["pizza"].restaurant_id),
        "items": [
            {
                "menu_item": str(menu["pizza"].pk),
                "quantity": 2,
                "customizations": [menu["large"].pk, menu["olives"].pk],
            },
            {"menu_item": str(menu["salad"].pk), "quantity": 1, "notes": "no croutons"},
        ],
        "delivery_type": delivery_type,
        "payment_method": payment_method,
        "tip": "3.00",
    }
    if delivery_type == "delivery":
        body["delivery_address"] = dict(ADDRESS)
    body.update(extra)
    return body


def problem(response, status: int, code_: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code_, body
    assert body["status"] == status
    return body
