"""Everything under /api/: JWT auth, the REST endpoints, the OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from delivery.api import CourierOrderViewSet, DeliveryViewSet
from orders.api import OrderViewSet
from restaurants.api import RestaurantOrderViewSet, RestaurantViewSet

router = SimpleRouter()
# The kitchen's routes first: `restaurants/orders/...` must not read as a restaurant id.
router.register("restaurants/orders", RestaurantOrderViewSet, basename="restaurant-order")
router.register("restaurants", RestaurantViewSet, basename="restaurant")
# Before OrderViewSet: `orders/available/` must not be read as an order id.
router.register("orders", CourierOrderViewSet, basename="courier-order")
router.register("orders", OrderViewSet, basename="order")
router.register("delivery", DeliveryViewSet, basename="delivery")

urlpatterns = [
    path("auth/token/", TokenObtainPairView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
