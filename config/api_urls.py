"""Everything under /api/: JWT auth, the REST endpoints, the OpenAPI schema and its docs."""

from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.routers import SimpleRouter

from config.tokens import SignOutView, TokenObtainView, TokenRefreshInputView
from delivery.api import CourierOrderViewSet, DeliveryViewSet
from notifications.api import NotificationPreferenceView, PhoneCodeSendView, PhoneCodeVerifyView, WebhookReplayView
from orders.api import OrderViewSet
from privacy.api import MeView, MyDataExportView
from restaurants.api import RestaurantOrderViewSet, RestaurantViewSet
from tracking.api import TrackedOrderEventsView, TrackedOrderStatusView, TrackedOrderView, TrackingLinkView

router = SimpleRouter()
# The kitchen's routes first: `restaurants/orders/...` must not read as a restaurant id.
router.register("restaurants/orders", RestaurantOrderViewSet, basename="restaurant-order")
router.register("restaurants", RestaurantViewSet, basename="restaurant")
# Before OrderViewSet: `orders/available/` must not be read as an order id.
router.register("orders", CourierOrderViewSet, basename="courier-order")
router.register("orders", OrderViewSet, basename="order")
router.register("delivery", DeliveryViewSet, basename="delivery")

# The OpenAPI document and Swagger UI (ORDERFLOW_API_DOCS): public, for signed-in staff, or absent.
DOCS_PERMISSIONS = {"public": [AllowAny], "staff": [IsAdminUser]}
docs_urlpatterns = []
if settings.ORDERFLOW_API_DOCS in DOCS_PERMISSIONS:
    permissions = DOCS_PERMISSIONS[settings.ORDERFLOW_API_DOCS]
    docs_urlpatterns = [
        path("schema/", SpectacularAPIView.as_view(permission_classes=permissions), name="schema"),
        path(
            "docs/",
            SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=permissions),
            name="docs",
        ),
    ]

urlpatterns = [
    *docs_urlpatterns,
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshInputView.as_view(), name="token-refresh"),
    path("auth/logout/", SignOutView.as_view(), name="sign-out"),
    path("me/", MeView.as_view(), name="me"),
    path("me/export/", MyDataExportView.as_view(), name="me-export"),
    path("notifications/preferences/", NotificationPreferenceView.as_view(), name="notification-preferences"),
    path("notifications/phone/send-code/", PhoneCodeSendView.as_view(), name="phone-code-send"),
    path("notifications/phone/verify/", PhoneCodeVerifyView.as_view(), name="phone-code-verify"),
    path("webhooks/endpoints/<int:endpoint_id>/replay/", WebhookReplayView.as_view(), name="webhook-replay"),
    path("orders/<str:pk>/tracking-link/", TrackingLinkView.as_view(), name="order-tracking-link"),
    path("track/<str:token>/", TrackedOrderView.as_view(), name="tracked-order"),
    path("track/<str:token>/status/", TrackedOrderStatusView.as_view(), name="tracked-order-status"),
    path("track/<str:token>/events/", TrackedOrderEventsView.as_view(), name="tracked-order-events"),
    path("", include(router.urls)),
]
