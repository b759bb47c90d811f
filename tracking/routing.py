from django.urls import path, re_path

from tracking import board_consumers, consumers, hub_consumers
from tracking.public_consumers import TrackConsumer

websocket_urlpatterns = [
    path("ws/orders/", hub_consumers.OrdersHubConsumer.as_asgi()),
    path("ws/orders/<uuid:order_id>/", consumers.OrderConsumer.as_asgi()),
    path("ws/restaurants/", board_consumers.RestaurantListingConsumer.as_asgi()),
    path("ws/restaurants/<uuid:restaurant_id>/orders/", board_consumers.RestaurantOrdersConsumer.as_asgi()),
    path("ws/courier/", board_consumers.CourierConsumer.as_asgi()),
    re_path(r"^ws/track/(?P<token>[A-Za-z0-9_-]{1,43})/$", TrackConsumer.as_asgi()),
    re_path(r"", consumers.UnknownPathConsumer.as_asgi()),
]
