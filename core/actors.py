"""Who is acting on an order, and in which capacity."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import models


class ActorRole(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    RESTAURANT = "restaurant", "Restaurant"
    COURIER = "courier", "Courier"
    ADMIN = "admin", "Platform admin"
    PAYMENT = "payment", "Payment provider"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which capacity: the same person may be a customer and a courier."""

    role: ActorRole
    user: User | None = None
    label: str = ""

    @classmethod
    def customer(cls, user: User) -> "Actor":
        return cls(ActorRole.CUSTOMER, user)

    @classmethod
    def restaurant(cls, user: User) -> "Actor":
        return cls(ActorRole.RESTAURANT, user)

    @classmethod
    def courier(cls, user: User) -> "Actor":
        return cls(ActorRole.COURIER, user)

    @classmethod
    def admin(cls, user: User) -> "Actor":
        return cls(ActorRole.ADMIN, user)

    @classmethod
    def system(cls, label: str = "orderflow") -> "Actor":
        return cls(ActorRole.SYSTEM, None, label)

    @classmethod
    def payment_provider(cls, label: str) -> "Actor":
        return cls(ActorRole.PAYMENT, None, label)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        if self.user is not None:
            full_name = self.user.get_full_name() if hasattr(self.user, "get_full_name") else ""
            return full_name or self.user.get_username()
        return ActorRole(self.role).label
