"""Driving an order through its life with the services, for the live-update tests."""

from decimal import Decimal

from core.actors import Actor
from delivery.models import HandoffCode
from delivery.services import order_assign_courier, otp_code
from orders.models import HandoffPurpose, Order, OrderStatus
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_transition

ADDRESS = DeliveryAddress(
    street="500 Howard Street", city="San Francisco", latitude=Decimal("37.787"), longitude=Decimal("-122.396")
)


def place(*, customer, restaurant, item, delivery_type="delivery", payment_method="cod") -> Order:
    return order_place(
        customer=customer,
        restaurant_id=restaurant.pk,
        lines=[OrderLine(menu_item_id=item.pk, quantity=1)],
        delivery_type=delivery_type,
        payment_method=payment_method,
        address=ADDRESS if delivery_type == "delivery" else None,
    )


def handoff_code(order_id, purpose: HandoffPurpose) -> str:
    return otp_code(HandoffCode.objects.get(order_id=order_id, purpose=purpose))


def confirm(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.RESTAURANT_CONFIRMED, actor=Actor.restaurant(staff))


def start_preparing(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.PREPARING, actor=Actor.restaurant(staff))


def mark_ready(order_id, staff):
    return order_transition(order_id=order_id, target=OrderStatus.READY_FOR_PICKUP, actor=Actor.restaurant(staff))


def claim(order_id, courier):
    return order_assign_courier(order_id=order_id, courier=courier, actor=Actor.courier(courier))


def pick_up(order_id, courier):
    return order_transition(
        order_id=order_id,
        target=OrderStatus.ORDER_PICKED_UP,
        actor=Actor.courier(courier),
        otp=handoff_code(order_id, HandoffPurpose.PICKUP),
    )


def start_delivery(order_id, courier):
    return order_transition(order_id=order_id, target=OrderStatus.OUT_FOR_DELIVERY, actor=Actor.courier(courier))


def complete_delivery(order_id, courier):
    return order_transition(
        order_id=order_id,
        target=OrderStatus.DELIVERED,
        actor=Actor.courier(courier),
        otp=handoff_code(order_id, HandoffPurpose.DELIVERY),
    )


def cancel(order_id, staff, reason="Out of dough"):
    return order_transition(
        order_id=order_id, target=OrderStatus.CANCELLED, actor=Actor.restaurant(staff), reason=reason
    )
