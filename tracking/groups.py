"""Channel-layer group names: who listens to what.

| group | members | receives |
| --- | --- | --- |
| `order.<id>` | sockets following one order (its own path, or the hub) | its events and courier positions |
| `restaurant.<id>` | the restaurant's kitchen-queue sockets | every event of the restaurant's orders |
| `courier.<user id>` | one courier's sockets | every event of the orders assigned to them; the offers made to them |
| `couriers.available` | every courier socket | events of orders any courier may claim, and their leaving that list |
| `restaurants.listing` | listing sockets | each kitchen's status (open, paused, busy) as it changes |

`restaurant.<id>` also hears its kitchen's status changes.
"""

AVAILABLE_ORDERS_GROUP = "couriers.available"
RESTAURANT_LISTING_GROUP = "restaurants.listing"


def order_group(order_id) -> str:
    return f"order.{order_id}"


def restaurant_group(restaurant_id) -> str:
    return f"restaurant.{restaurant_id}"


def courier_group(courier_id) -> str:
    return f"courier.{courier_id}"
