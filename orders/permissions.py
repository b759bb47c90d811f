"""Role gates for endpoints that act in one capacity only; which orders each role sees is the
selectors' business."""

from rest_framework.permissions import BasePermission

from delivery.models import CourierProfile
from orders.errors import Forbidden
from restaurants.models import StaffMembership


class IsRestaurantStaff(BasePermission):
    def has_permission(self, request, view):
        if not StaffMembership.objects.filter(user_id=request.user.pk).exists():
            raise Forbidden("Only restaurant staff may do this.", code="not_restaurant_staff")
        return True


class IsCourier(BasePermission):
    def has_permission(self, request, view):
        if not CourierProfile.objects.filter(user_id=request.user.pk).exists():
            raise Forbidden("Only couriers may do this.", code="not_a_courier")
        return True
