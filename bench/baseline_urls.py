"""The application's URLs plus two baselines, mounted in the same server by the serving benchmark:

- `/bench/constant/`: a plain Django view answering a constant JSON document of the lean
  status's size: the floor for any Django request on this stack;
- `/bench/naive/{id}/`: what a first version of the status endpoint would be, a DRF
  `RetrieveAPIView` with a `ModelSerializer(fields="__all__")` over `Order`, JWT-authenticated,
  visible to the order's customer.
"""

from typing import cast

from django.contrib.auth.models import User
from django.http import JsonResponse
from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from orders.models import Order

CONSTANT = {
    "order_id": "4f6c1e9a-3b1d-4c55-9a3e-0d2f6b7c8e91",
    "order_number": "ORD-20260101-K7M2QX",
    "status": "RESTAURANT_CONFIRMED",
    "payment_status": "paid",
    "delivery_status": "unassigned",
    "last_update": "2026-01-01T12:05:00Z",
    "estimated_delivery_time": "2026-01-01T12:40:00Z",
    "sequence": 2,
}


def constant(request):
    return JsonResponse(CONSTANT)


class NaiveOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = "__all__"


class NaiveRetrieve(generics.RetrieveAPIView):
    serializer_class = NaiveOrderSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return Order.objects.filter(customer=cast(User, self.request.user))


urlpatterns = [
    path("bench/constant/", constant),
    path("bench/naive/<uuid:pk>/", NaiveRetrieve.as_view()),
    path("", include("config.urls")),
]
