"""Helpers for the API tests: orders put into a state through the real services."""

from decimal import Decimal
from typing import Any

from core.actors import Actor
from delivery.models import HandoffCode
from delivery.services import order_assign_courier, otp_code
from orders.models import HandoffPurpose, Order, OrderStatus
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_transition
from payments.services import payment_record_result

ADDRESS: dict[str, Any] = {
    "street": "500 Howard Street",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94105",
    "country": "USA",
    "latitude": 37.787,
    "longitude": -122.396,
}

# The same address as the services take it (coordinates as decimals).
STORED_ADDRESS = DeliveryAddress(
    **{**ADDRESS, "latitude": Decimal(str(ADDRESS["latitude"])), "longitude": Decimal(str(ADDRESS["longitude"]))}
)


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


def place(customer, menu, *, delivery_type="delivery", payment_method="cod", paid=False) -> Order:
    order = order_place(
        customer=customer,
        restaurant_id=menu["pizza"].restaurant_id,
        lines=[OrderLine(menu_item_id=menu["pizza"].pk, quantity=1, choice_ids=[menu["small"].pk])],
        delivery_type=delivery_type,
        payment_method=payment_method,
        address=STORED_ADDRESS if delivery_type == "delivery" else None,
    )
    if paid:
        order = payment_record_result(order_id=order.pk, succeeded=True, provider_reference=f"pi_{order.number}")
    return order


def advance(order: Order, staff, *targets: OrderStatus) -> Order:
    for target in targets:
        order = order_transition(order_id=order.pk, target=target, actor=Actor.restaurant(staff)).order
    return order


def kitchen_ready(customer, staff, menu, **kwargs) -> Order:
    order = place(customer, menu, **kwargs)
    return advance(order, staff, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP)


def assign(order: Order, courier) -> Order:
    return order_assign_courier(order_id=order.pk, courier=courier, actor=Actor.courier(courier))


def code(order: Order, purpose: HandoffPurpose) -> str:
    return otp_code(HandoffCode.objects.get(order=order, purpose=purpose))


def out_for_delivery(customer, staff, courier, menu) -> Order:
    order = kitchen_ready(customer, staff, menu)
    assign(order, courier)
    actor = Actor.courier(courier)
    order_transition(
        order_id=order.pk, target=OrderStatus.ORDER_PICKED_UP, actor=actor, otp=code(order, HandoffPurpose.PICKUP)
    )
    return order_transition(order_id=order.pk, target=OrderStatus.OUT_FOR_DELIVERY, actor=actor).order


def problem(response, status: int, code_: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code_, body
    assert body["status"] == status
    return body
