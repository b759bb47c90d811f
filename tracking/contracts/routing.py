"""The WebSocket paths of the client contracts, routed before the native sockets (config/asgi.py)."""

from django.urls import path

from tracking.contracts.customer_tracking_hub import HUB_PATH, CustomerOrdersHub

websocket_urlpatterns = [path(HUB_PATH, CustomerOrdersHub.as_asgi())]
