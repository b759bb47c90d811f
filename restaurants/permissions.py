"""The staff-only gate for the kitchen's endpoints; which orders staff see is the selectors' business."""

from rest_framework.permissions import BasePermission

from core.errors import Forbidden
from restaurants.models import StaffMembership


class IsRestaurantStaff(BasePermission):
    def has_permission(self, request, view):
        if not StaffMembership.objects.filter(user_id=request.user.pk).exists():
            raise Forbidden("Only restaurant staff may do this.", code="not_restaurant_staff")
        return True
