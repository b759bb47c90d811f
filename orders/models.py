import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models


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


class ActorRole(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    RESTAURANT = "restaurant", "Restaurant"
    COURIER = "courier", "Courier"
    ADMIN = "admin", "Platform admin"
    PAYMENT = "payment", "Payment provider"
    SYSTEM = "system", "System"


class DeadlineKind(models.TextChoices):
    PAYMENT = "payment_timeout", "Payment not completed"
    CONFIRMATION = "restaurant_timeout", "Restaurant did not confirm"
    PICKUP = "pickup_timeout", "Courier did not pick up"
    COLLECTION = "collection_timeout", "Customer did not collect"
    RETURN_WINDOW = "return_window", "Return window"


def new_tracking_token() -> str:
    """An unguessable token for an order's public tracking link (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


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
    delivery_status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.UNASSIGNED
    )
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
            models.Index(fields=["status", "-placed_at"], name="order_status_idx"),
            models.Index(
                fields=["deadline_at"], name="order_deadline_idx", condition=models.Q(deadline_at__isnull=False)
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


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed for its repeats.

    Keyed by user and key (Stripe's rules): the same key with another request is refused,
    and a repeat while the first is still running is told to wait.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The rendered JSON, kept as text so a replay is byte-for-byte the first answer.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] ({self.state})"
