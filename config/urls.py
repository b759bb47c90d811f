from django.contrib import admin
from django.urls import include, path

from config.health import health

admin.site.site_header = "orderflow"
admin.site.site_title = "orderflow admin"
admin.site.index_title = "Orders, menus and deliveries"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/payments/", include("payments.urls")),
    path("api/", include("config.api_urls")),
]

handler404 = "config.errors.not_found"
