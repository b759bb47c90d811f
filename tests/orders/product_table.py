"""The table of allowed transitions as PRODUCT.md (the product page) writes it.

Transcribed by hand, row by row, not derived from `orders.lifecycle`, so a wrong edit to the
code's table fails the tests that read this one instead of being copied into them.
"""

ROLES = ("customer", "restaurant", "courier", "admin", "payment", "system")

STATUSES = (
    "PAYMENT_PENDING",
    "PAYMENT_FAILED",
    "PAYMENT_SUCCESS",
    "ORDER_PLACED",
    "RESTAURANT_CONFIRMED",
    "RESTAURANT_REJECTED",
    "PREPARING",
    "READY_FOR_PICKUP",
    "ORDER_PICKED_UP",
    "OUT_FOR_DELIVERY",
    "DELIVERED",
    "COMPLETED",
    "RETURNED",
    "CANCELLED",
    "REFUND_COMPLETED",
)

# PRODUCT.md, row by row. "restaurant" rows also hold for "admin" (added below).
_BEFORE_PICKUP = (
    "PAYMENT_PENDING",
    "ORDER_PLACED",
    "PAYMENT_SUCCESS",
    "RESTAURANT_CONFIRMED",
    "PREPARING",
    "READY_FOR_PICKUP",
)
_PRODUCT_CELLS = {
    ("PAYMENT_PENDING", "PAYMENT_SUCCESS", "payment"),
    ("PAYMENT_PENDING", "PAYMENT_FAILED", "payment"),
    ("PAYMENT_PENDING", "CANCELLED", "customer"),
    ("PAYMENT_PENDING", "CANCELLED", "system"),
    ("ORDER_PLACED", "RESTAURANT_CONFIRMED", "restaurant"),
    ("PAYMENT_SUCCESS", "RESTAURANT_CONFIRMED", "restaurant"),
    ("ORDER_PLACED", "RESTAURANT_REJECTED", "restaurant"),
    ("PAYMENT_SUCCESS", "RESTAURANT_REJECTED", "restaurant"),
    ("ORDER_PLACED", "CANCELLED", "customer"),
    ("PAYMENT_SUCCESS", "CANCELLED", "customer"),
    ("RESTAURANT_CONFIRMED", "CANCELLED", "customer"),
    ("RESTAURANT_CONFIRMED", "PREPARING", "restaurant"),
    ("PREPARING", "READY_FOR_PICKUP", "restaurant"),
    ("READY_FOR_PICKUP", "ORDER_PICKED_UP", "courier"),
    ("READY_FOR_PICKUP", "DELIVERED", "restaurant"),
    ("ORDER_PICKED_UP", "OUT_FOR_DELIVERY", "courier"),
    ("OUT_FOR_DELIVERY", "DELIVERED", "courier"),
    ("DELIVERED", "COMPLETED", "system"),
    ("DELIVERED", "RETURNED", "restaurant"),
    *((source, "CANCELLED", "restaurant") for source in _BEFORE_PICKUP),
    *((source, "CANCELLED", "system") for source in _BEFORE_PICKUP),
    ("CANCELLED", "REFUND_COMPLETED", "system"),
    ("RESTAURANT_REJECTED", "REFUND_COMPLETED", "system"),
    ("RETURNED", "REFUND_COMPLETED", "system"),
}
EXPECTED_CELLS = _PRODUCT_CELLS | {
    (source, target, "admin") for source, target, role in _PRODUCT_CELLS if role == "restaurant"
}

# The conditions PRODUCT.md puts on some cells.
PICKUP_ORDERS_ONLY = {("READY_FOR_PICKUP", "DELIVERED")}
DELIVERY_ORDERS_ONLY = {("READY_FOR_PICKUP", "ORDER_PICKED_UP")}
HANDOFF_CODE = {
    ("READY_FOR_PICKUP", "ORDER_PICKED_UP"): "pickup",
    ("READY_FOR_PICKUP", "DELIVERED"): "pickup",
    ("OUT_FOR_DELIVERY", "DELIVERED"): "delivery",
}
REASON_FROM_KITCHEN = {"RESTAURANT_REJECTED", "RETURNED", "CANCELLED"}
PAID_ONLY = {"REFUND_COMPLETED"}
