"""The courier-only gate for endpoints that act in that capacity alone."""

from rest_framework.permissions import BasePermission

from core.errors import Forbidden
from delivery.models import CourierProfile


class IsCourier(BasePermission):
    def has_permission(self, request, view):
        if not CourierProfile.objects.filter(user_id=request.user.pk).exists():
            raise Forbidden("Only couriers may do this.", code="not_a_courier")
        return True
