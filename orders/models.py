import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from core.actors import ActorRole


class OrderStatus(models.TextChoices):
    PAYMENT_PENDING = "PAYMENT_PENDING", "Payment Pending"
    PAYMENT_FAILED = "PAYMENT_FAILED", "Payment Failed"
    PAYMENT_SUCCESS = "PAYMENT_SUCCESS", "Payment Successful"
    ORDER_PLACED = "ORDER_PLACED", "Order Placed"
    RESTAURANT_CONFIRMED = "RESTAURANT_CONFIRMED", "Order Confirmed"
    RESTAURANT_REJECTED = "RESTAURANT_REJECTED", "Rejected by Restaurant"
    PREPARING = "PREPARING", "Food Being Prepared"
    READY_FOR_PICKUP = "READY_FOR_PICKUP", "Ready for Pickup"
    ORDER_PICKED_UP = "ORDER_PICKED_UP", "Order Picked Up"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY", "Out for Delivery"
    DELIVERED = "DELIVERED", "Delivered"
    COMPLETED = "COMPLETED", "Completed"
    RETURNED = "RETURNED", "Returned"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUND_COMPLETED = "REFUND_COMPLETED", "Refund Completed"


# The kitchen's statuses (orders.lifecycle.KITCHEN_STATUSES, which tests/test_query_plans.py
# holds equal to this), named here because the queue's partial index is declared on the model.
KITCHEN_QUEUE_STATUSES = (
    OrderStatus.ORDER_PLACED,
    OrderStatus.PAYMENT_SUCCESS,
    OrderStatus.RESTAURANT_CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
)


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    FAILED = "FAILED", "Failed"
    REFUNDED = "REFUNDED", "Refunded"


class PaymentMethod(models.TextChoices):
    ONLINE = "online", "Online"
    COD = "cod", "Cash on delivery"


class DeliveryStatus(models.TextChoices):
    UNASSIGNED = "UNASSIGNED", "Unassigned"
    ASSIGNED = "ASSIGNED", "Assigned"
    PICKED_UP = "PICKED_UP", "Picked up"
    IN_TRANSIT = "IN_TRANSIT", "In transit"
    DELIVERED = "DELIVERED", "Delivered"


class RefundStatus(models.TextChoices):
    NONE = "NONE", "None"
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"


class DeliveryType(models.TextChoices):
    DELIVERY = "delivery", "Delivery"
    PICKUP = "pickup", "Pickup"


class HandoffPurpose(models.TextChoices):
    """Which handoff a one-time code is for (`orders.lifecycle` says which changes need one)."""

    PICKUP = "pickup", "Pickup"
    DELIVERY = "delivery", "Delivery"


class DeadlineKind(models.TextChoices):
    PAYMENT = "payment_timeout", "Payment not completed"
    CONFIRMATION = "restaurant_timeout", "Restaurant did not confirm"
    PICKUP = "pickup_timeout", "Courier did not pick up"
    COLLECTION = "collection_timeout", "Customer did not collect"
    RETURN_WINDOW = "return_window", "Return window"
    RELEASE = "release", "Order for later reaches the kitchen"


def new_tracking_token() -> str:
    """An unguessable token for an order's public tracking link (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class CustomerAddress(models.Model):
    """A customer's delivery address as they saved it (`title`: "Home", "Work"), the one the
    order-process document's `delivery_address` names by `id`. An order keeps its own copy of the
    address too, so editing or erasing this row never changes an order that was placed."""

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    title = models.CharField(max_length=100)
    street = models.CharField(max_length=300)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "title"])]

    def __str__(self) -> str:
        return f"{self.title}: {self.street}, {self.city}"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=32, unique=True)
    # The public tracking link's secret, made at placement; None once the link is revoked.
    tracking_token = models.CharField(
        max_length=43, unique=True, null=True, blank=True, default=new_tracking_token, editable=False
    )
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    restaurant = models.ForeignKey("restaurants.Restaurant", on_delete=models.PROTECT, related_name="orders")
    courier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
    )

    status = models.CharField(max_length=32, choices=OrderStatus.choices)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.UNASSIGNED)
    refund_status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.NONE)
    delivery_type = models.CharField(max_length=16, choices=DeliveryType.choices, default=DeliveryType.DELIVERY)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)

    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    delivery_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tip = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2)

    # The saved address the order went to, and its title as it was then (the lines below are the
    # order's own copy).
    delivery_address = models.ForeignKey(
        CustomerAddress, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    delivery_title = models.CharField(max_length=100, blank=True)
    delivery_street = models.CharField(max_length=300, blank=True)
    delivery_city = models.CharField(max_length=100, blank=True)
    delivery_state = models.CharField(max_length=100, blank=True)
    delivery_postal_code = models.CharField(max_length=20, blank=True)
    delivery_country = models.CharField(max_length=100, blank=True)
    delivery_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    delivery_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    notes = models.CharField(max_length=500, blank=True)

    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    preparing_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    estimated_prep_minutes = models.PositiveIntegerField(null=True, blank=True)
    estimated_ready_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)

    # An order for later (docs/kitchen.md): the time the customer asked for (delivered, or ready
    # at the counter), when it reaches the kitchen, and when it did.
    fulfill_at = models.DateTimeField(null=True, blank=True)
    release_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # The start of the 15-minute kitchen slot the order is quoted in (capacity per slot).
    slot_at = models.DateTimeField(null=True, blank=True)

    cancelled_by = models.CharField(max_length=16, choices=ActorRole.choices, blank=True)
    cancellation_reason = models.CharField(max_length=500, blank=True)

    # The next thing the system will do on its own, if nobody acts first.
    deadline_at = models.DateTimeField(null=True, blank=True)
    deadline_kind = models.CharField(max_length=32, choices=DeadlineKind.choices, blank=True)

    # Number of tracking events written so far: the sequence of the latest one.
    sequence = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="order_customer_recent_idx"),
            models.Index(fields=["restaurant", "status", "placed_at"], name="order_restaurant_queue_idx"),
            models.Index(fields=["courier", "status"], name="order_courier_idx"),
            # One per branch of orders.visibility.orders_related_to, newest first as lists are (the
            # restaurant branch is served by order_restaurant_recent_idx below).
            models.Index(fields=["courier", "-placed_at"], name="order_courier_recent_idx"),
            models.Index(fields=["status", "-placed_at"], name="order_status_idx"),
            models.Index(
                fields=["deadline_at"], name="order_deadline_idx", condition=models.Q(deadline_at__isnull=False)
            ),
            # A restaurant's orders newest first (the staff's list and the admin's, page by page or
            # by cursor): read from the index in order, however long the history.
            models.Index(fields=["restaurant", "-placed_at", "-id"], name="order_restaurant_recent_idx"),
            # The kitchen's queue (orders.selectors.restaurant_queue): only orders still in the
            # kitchen are in it, so it stays the size of the queue, not of the history.
            models.Index(
                fields=["restaurant", "placed_at", "id"],
                name="order_kitchen_queue_idx",
                condition=models.Q(status__in=KITCHEN_QUEUE_STATUSES),
            ),
            models.Index(
                fields=["restaurant", "slot_at"], name="order_slot_idx", condition=models.Q(slot_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    menu_item = models.ForeignKey("restaurants.MenuItem", on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Menu price plus the customizations' adjustments."
    )
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class OrderItemCustomization(models.Model):
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="customizations")
    choice = models.ForeignKey(
        "restaurants.CustomizationChoice", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    group_name = models.CharField(max_length=100)
    choice_name = models.CharField(max_length=100)
    price_adjustment = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order_item", "id"]

    def __str__(self) -> str:
        return f"{self.group_name}: {self.choice_name}"


class EventType(models.TextChoices):
    PLACED = "order.placed"
    STATUS_CHANGED = "order.status_changed"
    PAYMENT_SUCCEEDED = "order.payment_succeeded"
    PAYMENT_FAILED = "order.payment_failed"
    ASSIGNED = "order.assigned"
    READY_FOR_PICKUP = "order.ready_for_pickup"
    PICKED_UP = "order.picked_up"
    OUT_FOR_DELIVERY = "order.out_for_delivery"
    DELIVERED = "order.delivered"
    CANCELLED = "order.cancelled"
    RELEASED = "order.released"
    ETA_UPDATED = "order.eta_updated"
    REFUND_UPDATED = "order.refund_updated"


class TrackingEvent(models.Model):
    """One immutable entry in an order's history; `sequence` counts from 1 per order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=16, choices=ActorRole.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The order's delivery estimate when the event happened: payloads are snapshots.
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        # The table was created by the tracking app; moving the model kept it (migration 0004).
        db_table = "tracking_trackingevent"
        ordering = ["order", "sequence"]
        constraints = [models.UniqueConstraint(fields=["order", "sequence"], name="unique_event_sequence")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.sequence} {self.event_type}"


class ExpiredTrackingLink(models.Model):
    """A tracking link that expired after its order ended: only a hash of its token, so that the
    link answers 410 Gone (not a 404, as an unknown or revoked one) without anything leading
    back to the order. Forgotten after ORDERFLOW_RETENTION_EXPIRED_LINKS_DAYS."""

    token_hash = models.CharField(max_length=64, unique=True)
    expired_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expired_at"], name="expired_link_age_idx")]

    def __str__(self) -> str:
        return f"expired link {self.token_hash[:8]}"
