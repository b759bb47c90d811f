"""Who is on the other end of a socket.

Mobile apps pass a simplejwt access token as `?token=<access>`; browsers (the admin, the
tracking page) are recognised by their Django session cookie. A token, when given, is the
only credential considered: a bad or expired one makes the socket anonymous (closed 4401)
rather than falling back to a cookie. What was checked here is checked again while the socket
is open (tracking/consumers.py, `LiveConsumer`).
"""

from collections.abc import Awaitable
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from core.auth_tokens import CredentialsJWTAuthentication
from tracking.database import database_sync_to_async


def query_param(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get(name)
    return values[-1] if values else None


def _token_user_and_expiry(raw_token: str) -> tuple:
    authentication = CredentialsJWTAuthentication()
    try:
        token = authentication.get_validated_token(raw_token)  # type: ignore[arg-type]  # str, as in the header
        return authentication.get_user(token), float(token["exp"])
    except (InvalidToken, TokenError, AuthenticationFailed, KeyError):
        return AnonymousUser(), None


token_user_and_expiry = database_sync_to_async(_token_user_and_expiry)


class JwtQueryAuthMiddleware:
    """Sets `scope["user"]` from the `token` query parameter, when there is one, and
    `scope["token_expires_at"]` (epoch seconds): the socket closes then (tracking/consumers.py).

    The token is read when the application asks for its first message (`websocket.connect`),
    before that message is given to it, so the connect handler finds the user in the scope. The
    application is handed on, not awaited: a layer that awaits keeps a coroutine for the socket's
    life."""

    _asgi_single_callable = True  # handed on, not awaited: asgiref must not take it for ASGI 2

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, scope, receive, send):
        token = query_param(scope, "token")
        if token is None:
            return self.app(scope, receive, send)
        return self.app(scope, _ReceiveAfterToken(scope, token, receive), send)


class _ReceiveAfterToken:
    __slots__ = ("receive", "scope", "token")

    def __init__(self, scope, token: str, receive) -> None:
        self.scope = scope
        self.token: str | None = token
        self.receive = receive

    def __call__(self):
        if self.token is None:
            return self.receive()
        token, self.token = self.token, None
        return self._first(token)

    async def _first(self, token: str) -> dict:
        message = await self.receive()
        if message["type"] == "websocket.connect":
            # In place: the scope is this connection's own, and a copy would be kept beside it
            # for the socket's life.
            self.scope["user"], self.scope["token_expires_at"] = await token_user_and_expiry(token)
        return message


def _still_signed_in(scope) -> bool:
    """Whether the socket's user may still be served: an active user, and for a socket opened with
    the session cookie, a session that still names them with their current password."""
    user = scope.get("user")
    current = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if current is None:
        return False
    session = scope.get("session")
    if scope.get("token_expires_at") is not None or session is None or not session.session_key:
        return True
    stored = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key)
    if stored.get(SESSION_KEY) != current._meta.pk.value_to_string(current):
        return False
    return constant_time_compare(stored.get(HASH_SESSION_KEY, ""), current.get_session_auth_hash())


still_signed_in = database_sync_to_async(_still_signed_in)


class BrowserOriginValidator(OriginValidator):
    """Refuses cross-site browser sockets (cross-site WebSocket hijacking of the session cookie).

    Browsers always send `Origin`, and it must name one of ALLOWED_HOSTS or one of the origins
    CORS lets call the API (CORS_ALLOWED_ORIGINS: one allow-list for both). A client without it
    is not a browser (a mobile app with a token) and cannot be made to ride someone's cookie.
    """

    _asgi_single_callable = True

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)

    def __call__(self, scope, receive, send) -> Any:  # the awaitable of the next layer, not a coroutine of its own
        """channels' check, handing the socket on rather than awaiting it (as CredentialRouter)."""
        if scope["type"] != "websocket":
            raise ValueError("You cannot use OriginValidator on a non-WebSocket connection")
        parsed_origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                try:
                    parsed_origin = urlparse(value.decode("latin1"))
                except UnicodeDecodeError:
                    pass
        application: Any = self.application if self.valid_origin(parsed_origin) else WebsocketDenier()
        return application(scope, receive, send)


class CredentialRouter:
    """A socket with a token is authenticated by the token alone (JwtQueryAuthMiddleware); only one
    without a token has its session cookie read (Channels' AuthMiddlewareStack). A token socket's
    handshake thereby costs one database call for its user, not a second one for a session it does
    not use (in a reconnect storm, every call waits its turn for a database thread)."""

    _asgi_single_callable = True  # handed on, not awaited (below): asgiref must not take it for ASGI 2

    def __init__(self, app) -> None:
        self.with_token = JwtQueryAuthMiddleware(app)
        self.with_session: Any = AuthMiddlewareStack(app)  # types-channels types it as an ASGI2 app

    def __call__(self, scope, receive, send) -> Awaitable[None]:
        # The chosen stack's coroutine is returned, not awaited: a socket held all day keeps no
        # frame of this router (each layer that awaits the next keeps one for the socket's life).
        if query_param(scope, "token") is not None:
            return self.with_token(scope, receive, send)
        return self.with_session(scope, receive, send)


def websocket_auth_stack(app):
    return BrowserOriginValidator(CredentialRouter(app), [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS])
