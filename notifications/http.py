"""POSTing to a subscriber's URL without letting the URL reach inside our network.

The host is resolved once, every address it resolves to must be public (unless
ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES), and the connection goes to that checked
address (the Host header and TLS name stay the URL's), so a DNS answer that changes
between the check and the connect cannot redirect it. Redirects are never followed:
a 3xx is an answer like any other non-2xx.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3

RESPONSE_EXCERPT_BYTES = 1000


class DeliveryRefused(Exception):
    """The URL may not be called at all (bad scheme, private address, unresolvable host)."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    excerpt: str
    latency_ms: float
    location: str = ""


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_check(url: str, *, allow_private: bool) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, the checked addresses) for `url`, or DeliveryRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryRefused("only http and https URLs with a host are called")
    if parts.username or parts.password:
        raise DeliveryRefused("URLs carrying credentials are not called")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DeliveryRefused("the URL's port is not a number") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryRefused(f"the host does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        refused = [address for address in addresses if not address_is_public(address)]
        if refused:
            raise DeliveryRefused(f"the host resolves to a non-public address ({refused[0]})")
    return parts.scheme, parts.hostname, port, addresses


def post(
    *, url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool, ca_certs: str | None = None
) -> HttpAnswer:
    """POST `body` once: no retries, no redirects. Raises DeliveryRefused or urllib3's errors.

    The checked addresses are tried in turn while a connection cannot be made (as a browser
    does with a host that has an IPv6 and an IPv4 address); once one is made, that is the attempt.
    """
    scheme, host, port, addresses = url_check(url, allow_private=allow_private)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    name = f"[{host}]" if ":" in host else host
    host_header = name if port == default_port else f"{name}:{port}"
    for index, address in enumerate(addresses):
        try:
            return _post_to(
                address, scheme, host, port, path, body, {**headers, "Host": host_header}, timeout, ca_certs
            )
        except urllib3.exceptions.NewConnectionError:
            if index == len(addresses) - 1:
                raise
    raise DeliveryRefused("the host has no address")


def _post_to(address, scheme, host, port, path, body, headers, timeout, ca_certs) -> HttpAnswer:
    pool_kwargs: dict[str, Any] = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        # Connect to the checked address; verify the certificate for the URL's host name (SNI too).
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
            **pool_kwargs,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **pool_kwargs)
    started = time.perf_counter()
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(RESPONSE_EXCERPT_BYTES, decode_content=True) or b""
        finally:
            response.release_conn()
        latency_ms = (time.perf_counter() - started) * 1000
        return HttpAnswer(
            status=response.status,
            excerpt=excerpt.decode("utf-8", "replace"),
            latency_ms=latency_ms,
            location=response.headers.get("Location", "")[:300],
        )
    finally:
        pool.close()
