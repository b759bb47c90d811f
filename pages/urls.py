from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from pages import views

urlpatterns = [
    path("", views.landing, name="landing"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", views.favicon),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^track/(?P<token>[A-Za-z0-9_-]{1,43})/$", views.track, name="track"),
    path("orders/<uuid:order_id>/", views.customer_order_page, name="customer-order"),
    path("kitchen/", views.kitchen_index, name="kitchen"),
    path("kitchen/<uuid:restaurant_id>/", views.kitchen_board, name="kitchen-board"),
    path("kitchen/<uuid:restaurant_id>/tickets/", views.kitchen_board_tickets, name="kitchen-tickets"),
    path("my/orders/", views.my_orders, name="my-orders"),
    path("operator/", views.operator, name="operator"),
    # Last: everything else outside /api/ and /admin/ is the friendly 404 page, DEBUG or not.
    re_path(r"^(?!static/|media/|ws/)(?P<path>.*)$", views.unknown_page),
]
