"""Orders walked through the real services, for tests of what happens to them next."""

from decimal import Decimal

from core.actors import Actor
from orders.models import Order, OrderStatus
from orders.services.placing import DeliveryAddress, OrderLine, order_place
from orders.services.transitions import order_transition
from payments.services import payment_record_result

ADDRESS = DeliveryAddress(
    street="500 Howard Street", city="San Francisco", latitude=Decimal("37.787"), longitude=Decimal("-122.396")
)


def place(customer, menu, *, payment_method: str = "cod", delivery_type: str = "delivery") -> Order:
    return order_place(
        customer=customer,
        restaurant_id=menu["salad"].restaurant_id,
        lines=[OrderLine(menu_item_id=menu["salad"].pk, quantity=2)],
        delivery_type=delivery_type,
        payment_method=payment_method,
        address=ADDRESS if delivery_type == "delivery" else None,
    )


def place_paid(customer, menu, **kwargs) -> Order:
    order = place(customer, menu, payment_method="online", **kwargs)
    return payment_record_result(order_id=order.pk, succeeded=True, provider_reference=f"sim_ch_{order.pk.hex}")


def move(order: Order, *targets: str, actor: Actor, **kwargs) -> Order:
    for target in targets:
        order = order_transition(order_id=order.pk, target=target, actor=actor, **kwargs).order
    return order


def to_ready(order: Order, staff_actor: Actor) -> Order:
    return move(
        order, OrderStatus.RESTAURANT_CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP, actor=staff_actor
    )
