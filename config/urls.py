from django.contrib import admin
from django.urls import include, path, re_path

from config.health import health
from config.metrics import MetricsView
from core.views import api_not_found
from orders.api import order_status

admin.site.site_header = "orderflow"
admin.site.site_title = "orderflow admin"
admin.site.index_title = "Orders, menus and deliveries"

urlpatterns = [
    # First: the most frequent request there is (the lean poll) is resolved before anything else.
    path("api/orders/<str:pk>/status/", order_status, name="order-status-poll"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api/payments/", include("payments.urls")),
    # The client contracts (tracking/contracts): their own paths, before the native API's.
    path("", include("tracking.contracts.urls")),
    path("api/", include("config.api_urls")),
    # Last: an unknown API path (or one missing its trailing slash) is a problem+json 404 even
    # under DEBUG, where Django would answer HTML or, for a POST, raise APPEND_SLASH's RuntimeError.
    re_path(r"^api/", api_not_found),
    path("", include("pages.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
