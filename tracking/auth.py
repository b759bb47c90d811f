"""Who is on the other end of a socket.

Mobile apps pass a simplejwt access token as `?token=<access>`; browsers (the admin, the
tracking page) are recognised by their Django session cookie. A token, when given, is the
only credential considered: a bad or expired one makes the socket anonymous (closed 4401)
rather than falling back to a cookie.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError


def query_param(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get(name)
    return values[-1] if values else None


@database_sync_to_async
def user_for_token(raw_token: str):
    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw_token))
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser()


class JwtQueryAuthMiddleware:
    """Sets `scope["user"]` from the `token` query parameter, when there is one."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        token = query_param(scope, "token")
        if token is not None:
            scope = dict(scope, user=await user_for_token(token))
        return await self.app(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Refuses cross-site browser sockets (cross-site WebSocket hijacking of the session cookie).

    Browsers always send `Origin`, and it must name one of ALLOWED_HOSTS or one of the origins
    CORS lets call the API (CORS_ALLOWED_ORIGINS: one allow-list for both). A client without it
    is not a browser (a mobile app with a token) and cannot be made to ride someone's cookie.
    """

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def websocket_auth_stack(app):
    return BrowserOriginValidator(
        AuthMiddlewareStack(JwtQueryAuthMiddleware(app)), [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS]
    )
