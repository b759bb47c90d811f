"""One ASGI application for HTTP (Django) and WebSocket (tracking's consumers), on one port.

`manage.py runserver` serves it through daphne (first in INSTALLED_APPS) under manage.py's local
settings; a server started without DJANGO_SETTINGS_MODULE runs production settings, which refuse
to start without their secrets.
"""

import os
from typing import Any

from channels.routing import URLRouter
from django.core.asgi import get_asgi_application
from django.urls import Resolver404

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Django must be set up before the consumers (and the models they read) are imported.
django_asgi_app = get_asgi_application()

from config import server_errors  # noqa: E402
from config.asgi_limits import BodySizeLimit, WebSocketHandshakeLimit  # noqa: E402
from notifications.metrics import WebSocketCountMiddleware  # noqa: E402
from tracking.auth import websocket_auth_stack  # noqa: E402
from tracking.contracts.routing import websocket_urlpatterns as contract_websocket_urlpatterns  # noqa: E402
from tracking.routing import websocket_urlpatterns  # noqa: E402
from tracking.tail import CommittedEventTailStarter  # noqa: E402

server_errors.install()


class ProtocolTypeRouter:
    """channels' router of the same name, handing the connection on rather than awaiting it: a
    socket held all day keeps no frame of the router."""

    _asgi_single_callable = True

    def __init__(self, application_mapping) -> None:
        self.application_mapping = application_mapping

    def __call__(self, scope, receive, send):
        if scope["type"] not in self.application_mapping:
            raise ValueError(f"No application configured for scope type {scope['type']!r}")
        return self.application_mapping[scope["type"]](scope, receive, send)


class SocketRouter(URLRouter):
    """channels' URLRouter, handing the connection on rather than awaiting it, and adding the
    route to the scope in place rather than to a copy kept beside it: a socket held all day keeps
    no frame of the router. A consumer (`as_asgi()`) is started directly, without the coroutine
    `as_asgi` wraps it in."""

    _asgi_single_callable = True

    def __call__(self, scope, receive, send):  # the consumer's awaitable, not a coroutine of its own
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and not path.startswith(root_path):
            raise ValueError(f"No route found for path {path!r}.")
        path = path[len(root_path) :].lstrip("/")
        routes: list[Any] = self.routes  # Django's URL patterns; types-channels also allows routers
        for route in routes:
            try:
                match = route.pattern.match(path)
            except Resolver404:
                continue
            if match:
                remaining, args, kwargs = match
                kwargs.update(route.default_args)
                scope["path_remaining"] = remaining
                scope["url_route"] = {"args": args, "kwargs": kwargs}
                application = route.callback
                consumer_class = getattr(application, "consumer_class", None)
                if consumer_class is not None:
                    return consumer_class(**application.consumer_initkwargs)(scope, receive, send)
                return application(scope, receive, send)
        raise ValueError(f"No route found for path {path!r}.")


# With the in-memory channel layer, the process also tails the events other processes commit.
application = CommittedEventTailStarter(
    ProtocolTypeRouter(
        {
            "http": BodySizeLimit(django_asgi_app),
            "websocket": WebSocketCountMiddleware(
                WebSocketHandshakeLimit(
                    # types-channels wants its own URLPattern type; Django's re_path is what channels documents.
                    websocket_auth_stack(SocketRouter(contract_websocket_urlpatterns + websocket_urlpatterns))  # type: ignore[arg-type]
                )
            ),
        }
    )
)
