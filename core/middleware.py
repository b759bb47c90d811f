"""Request guards that apply to every path, the API's and the admin's alike."""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.errors import ApplicationError, application_error_http_response, problem_http_response

NUL = "\x00"


class RejectUnstorableText:
    """A NUL character anywhere in the query string is a 400, whatever the view.

    PostgreSQL's text and jsonb cannot hold NUL, so any filter or search that passed one on
    failed with a DataError (a 500). JSON bodies are held to the same rule by the API's parser
    (`core.parsers.StrictJSONParser`), form fields by Django's own validators, and identifiers in
    a path by their parsers (`parse_uuid`, `parse_order_number`: not an identifier, so missing).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET
        if any(NUL in key or any(NUL in v for v in query.getlist(key)) for key in query):
            return problem_http_response("invalid_characters", "NUL characters are not allowed in a query string.")
        return self.get_response(request)


class TrustedProxyHeaders:
    """The client's address and scheme, as the trusted proxy in front saw them.

    Only a peer listed in ORDERFLOW_PROXY_ADDRESSES (the shipped nginx) is believed: its
    X-Forwarded-For's last entry (exactly one hop: nginx writes the one address it saw) becomes
    REMOTE_ADDR, and its X-Forwarded-Proto stays for SECURE_PROXY_SSL_HEADER. Anyone else's
    headers are dropped, so a client cannot choose the address its guesses are counted under,
    nor claim that plain HTTP was HTTPS.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.proxies = [ipaddress.ip_network(address, strict=False) for address in settings.ORDERFLOW_PROXY_ADDRESSES]

    def from_proxy(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        forwarded_for = meta.pop("HTTP_X_FORWARDED_FOR", None)
        forwarded_proto = meta.pop("HTTP_X_FORWARDED_PROTO", None)
        if self.from_proxy(meta.get("REMOTE_ADDR", "")):
            client = (forwarded_for or "").rsplit(",", 1)[-1].strip()
            try:
                meta["REMOTE_ADDR"] = str(ipaddress.ip_address(client))
            except ValueError:
                pass  # no (or no valid) address from the proxy: the connection's own
            if forwarded_proto:
                meta["HTTP_X_FORWARDED_PROTO"] = forwarded_proto.rsplit(",", 1)[-1].strip().lower()
        return self.get_response(request)


class ApplicationErrorResponse:
    """A domain error raised in a view outside DRF is answered as DRF would: problem+json.

    The sign-in pages (`/login/`, `/admin/login/`) check passwords through Django's forms; a
    guessing limit reached there raises `TooManyRequests` from the authentication backend.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return application_error_http_response(exception)
        return None
