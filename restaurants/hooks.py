"""Who hears that a kitchen's status changed, registered in code (the catalogue sits below the
apps that broadcast): `tracking` registers the broadcast to the board and the listing from its
`AppConfig.ready()`. Called after the commit, once per change."""

from collections.abc import Callable

from restaurants.models import Restaurant

StatusListener = Callable[[Restaurant], None]

_listeners: list[StatusListener] = []


def on_kitchen_status_change(listener: StatusListener) -> StatusListener:
    """Register `listener(restaurant)`; registering the same one twice is a no-op."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def kitchen_status_changed(restaurant: Restaurant) -> None:
    for listener in tuple(_listeners):
        listener(restaurant)
