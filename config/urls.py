from django.contrib import admin
from django.urls import include, path, re_path

from config.health import health
from config.metrics import MetricsView
from core.views import api_not_found

admin.site.site_header = "orderflow"
admin.site.site_title = "orderflow admin"
admin.site.index_title = "Orders, menus and deliveries"

urlpatterns = [
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

handler404 = "core.views.not_found"
