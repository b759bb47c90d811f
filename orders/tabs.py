"""The order list's tabs (`GET /api/orders/?tab=`), the grouping a customer app shows on its
orders screen: a status alone does not always say the tab. A delivery order waiting for its
courier is still "to ship"; a self-pickup order that is ready is "to receive", like one on its
way; a refund follows the tab of what it refunds. The statuses come from `orders.lifecycle`."""

from django.db.models import Q

from orders.lifecycle import CANCELLING_STATUSES, CARRYING_STATUSES
from orders.models import DeliveryType, OrderStatus

S = OrderStatus

ORDER_TABS: dict[str, Q] = {
    "to_pay": Q(status=S.PAYMENT_PENDING),
    "to_ship": Q(status__in=[S.ORDER_PLACED, S.PAYMENT_SUCCESS, S.RESTAURANT_CONFIRMED, S.PREPARING])
    | Q(status=S.READY_FOR_PICKUP, delivery_type=DeliveryType.DELIVERY),
    "to_receive": Q(status__in=CARRYING_STATUSES) | Q(status=S.READY_FOR_PICKUP, delivery_type=DeliveryType.PICKUP),
    "completed": Q(status__in=[S.DELIVERED, S.COMPLETED]),
    "cancelled": Q(status__in=[*CANCELLING_STATUSES, S.PAYMENT_FAILED])
    | Q(status=S.REFUND_COMPLETED, returned_at__isnull=True),
    "returned": Q(status=S.RETURNED) | Q(status=S.REFUND_COMPLETED, returned_at__isnull=False),
}
