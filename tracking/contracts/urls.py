"""The HTTP paths of the client contracts (mounted before the native `/api/` in config/urls.py)."""

from django.urls import path

from tracking.contracts import customer_tracking, mobile_orders, paymongo_webhook, poll_status, three_status
from tracking.contracts.customer_tracking_hub import HUB_PATH, negotiate

MOBILE = "mobile/api/"  # the mobile orders API's base (its `/api/orders` is the native list)

urlpatterns = [
    # The customer tracking API (and its SignalR hub's negotiate).
    path("api/v1/orders/my", customer_tracking.MyOrdersView.as_view(), name="customer-tracking-my-orders"),
    path("api/v1/orders/<str:order_id>", customer_tracking.OrderDetailView.as_view(), name="customer-tracking-order"),
    path(
        "api/v1/orders/<str:order_id>/status",
        customer_tracking.OrderStatusView.as_view(),
        name="customer-tracking-status",
    ),
    path(f"{HUB_PATH}/negotiate", negotiate, name="customer-orders-hub-negotiate"),
    # The three-status order API, at its document's own base path.
    path("v1/online-ordering/orders", three_status.OrderListView.as_view(), name="three-status-orders"),
    path("v1/online-ordering/orders/<str:order_id>", three_status.OrderDetailView.as_view(), name="three-status-order"),
    path(
        "v1/online-ordering/orders/<str:order_id>/cancel",
        three_status.OrderCancelView.as_view(),
        name="three-status-cancel",
    ),
    # The poll-status API, at its own path.
    path("api/orders/<str:order_id>/poll-status", poll_status.PollStatusView.as_view(), name="poll-status"),
    # The mobile orders API, under its prefix; its two paths that collide with nothing also at their own.
    path(f"{MOBILE}orders", mobile_orders.OrderListView.as_view(), name="mobile-orders"),
    path(f"{MOBILE}orders/<str:order_id>", mobile_orders.OrderDetailView.as_view(), name="mobile-order"),
    path(f"{MOBILE}mobile/orders/<str:reference>", mobile_orders.OrderByReferenceView.as_view()),
    path("api/mobile/orders/<str:reference>", mobile_orders.OrderByReferenceView.as_view(), name="mobile-order-ref"),
    path(f"{MOBILE}paymongo/webhook", paymongo_webhook.PaymongoWebhookView.as_view()),
    path("api/paymongo/webhook", paymongo_webhook.PaymongoWebhookView.as_view(), name="paymongo-webhook"),
]
