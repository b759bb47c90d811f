"""Limits on guessing: every way to present a password (core.authentication: /api/auth/token/,
/login/, /admin/login/) and every handoff code (the API's handoff actions and the admin's handover).

Only failures count, over a sliding window kept in the cache (Redis when `REDIS_URL` is set, so
every web process shares the counters): a count per fixed window, and a limit checked against the
current window's count plus the previous window's weighted by the part of it still within one
window length of now. Failures that straddle a window boundary are therefore not split between
two fresh counts:

- passwords: per (account, address) and per address. The account is the username as
  authentication sees it (`normalise_username`: Unicode NFKC, no surrounding whitespace, case
  folded), the address the client's as the trusted proxy saw it (core.middleware), an IPv6 one
  by its /64 (`address_bucket`). Wrong passwords from one address therefore never refuse the
  right one from another. Across all addresses an account is slowed, not shut (`AccountSlowdown`).
- handoff codes: per signed-in user and per address (each code also locks itself, `otp_locked`;
  this limit stops a caller from spreading guesses over many orders or over a code's resends).

Once a count reaches its limit, further attempts are refused with 429 `rate_limited` and
`Retry-After` before the password or code is even looked at. While the cache is unreachable
nothing is counted (each code's own lockout, in the database, still holds): the site goes on.
"""

import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.errors import OtpInvalid, TooManyRequests

logger = logging.getLogger(__name__)

T = TypeVar("T")


def normalise_username(raw: str) -> str:
    """One spelling per account for counting: NFKC (as Django normalises usernames), stripped of
    surrounding whitespace (as the sign-in forms and serializers do), case folded."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def address_bucket(address: str) -> str:
    """The counted address: an IPv4 address itself (an IPv4-mapped IPv6 one as IPv4), an IPv6
    address by its /64, which one subscriber usually holds whole."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, as core.middleware.TrustedProxyHeaders set it."""
    address: str = request.META.get("REMOTE_ADDR") or "unknown"
    return address


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _refuse(seconds: int) -> None:
    raise TooManyRequests(f"Too many failed attempts; try again in {seconds} seconds.", retry_after=seconds)


@dataclass(frozen=True)
class FailureLimit:
    """Failures over a sliding window under two keys: a subject (an account at an address, a user)
    and the address alone."""

    scope: str
    per_subject: int
    per_address: int
    window_seconds: int

    @classmethod
    def login(cls) -> "FailureLimit":
        return cls(
            "login",
            settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
            settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS,
            settings.ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS,
        )

    @classmethod
    def codes(cls) -> "FailureLimit":
        return cls(
            "code",
            settings.ORDERFLOW_CODE_MAX_FAILURES_PER_USER,
            settings.ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS,
            settings.ORDERFLOW_CODE_FAILURE_WINDOW_SECONDS,
        )

    def _counters(self, *, subject: str | None, address: str, window: int) -> list[tuple[str, str, int]]:
        """(this window's key, the previous window's key, limit) per counted key."""
        named = [("address", address, self.per_address)]
        if subject:
            named.append(("subject", subject, self.per_subject))
        return [
            (self._key(kind, value, window), self._key(kind, value, window - 1), limit) for kind, value, limit in named
        ]

    def _key(self, kind: str, value: str, window: int) -> str:
        return f"orderflow:failures:{self.scope}:{kind}:{_digest(value)}:{window}"

    def check(self, *, subject: str | None, address: str) -> None:
        window, elapsed = divmod(time.time(), self.window_seconds)
        counters = self._counters(subject=subject, address=address, window=int(window))
        try:
            counts = cache.get_many([key for current, previous, _ in counters for key in (current, previous)])
        except Exception:  # the cache (Redis) is down: sign-ins and handoffs go on, uncounted
            logger.warning("guessing limit %s: the cache is unreachable; not counting", self.scope)
            return
        waits = [
            wait
            for current, previous, limit in counters
            if (wait := self._wait(counts.get(current, 0), counts.get(previous, 0), limit, elapsed)) is not None
        ]
        if waits:
            _refuse(math.floor(max(waits)) + 1)  # the first whole second after

    def _wait(self, current: int, previous: int, limit: int, elapsed: float) -> float | None:
        """Seconds until the sliding count is at `limit` no more if nothing more fails (below it just
        after); None when it already is below. `elapsed`: seconds into the current window."""
        length = self.window_seconds
        left = length - elapsed  # of the current window; the previous one weighs left / length
        if current * length + previous * left < limit * length:
            return None
        if current >= limit:  # into the next window, until this one's weighted count is below
            return left + length - length * limit / current
        return left - length * (limit - current) / previous

    def record(self, *, subject: str | None, address: str) -> None:
        window = int(time.time() // self.window_seconds)
        try:
            for key, _, _ in self._counters(subject=subject, address=address, window=window):
                _increment(key, timeout=2 * self.window_seconds + 60)
        except Exception:
            logger.warning("guessing limit %s: the cache is unreachable; not counting", self.scope)


def _increment(key: str, *, timeout: int) -> int:
    # add() then incr(): atomic on Redis, and the key expires with its window.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls: this failure opens the next count
        cache.add(key, 1, timeout=timeout)
        return 1


class AccountSlowdown:
    """Across all addresses, an account under attack is slowed, never shut for its owner.

    Consecutive failures of the account are counted (forgotten at a sign-in, or
    ORDERFLOW_LOGIN_ACCOUNT_MEMORY_SECONDS after the last one). From
    ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER on, each failure makes the account wait before its next
    attempt, 1 s doubling per failure up to ORDERFLOW_LOGIN_ACCOUNT_MAX_DELAY_SECONDS; at
    ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES (NIST SP 800-63B: at most 100 consecutive failures) it
    waits until the count is forgotten. Addresses the account signed in from before (for
    ORDERFLOW_LOGIN_KNOWN_ADDRESS_SECONDS) skip the wait: the owner is not locked out by
    someone else's guesses (SP 800-63B's own alternative).
    """

    def __init__(self, account: str, address: str) -> None:
        self.account = _digest(account)
        self.address = _digest(address)

    @property
    def _failures_key(self) -> str:
        return f"orderflow:login-account:failures:{self.account}"

    @property
    def _wait_key(self) -> str:
        return f"orderflow:login-account:wait-until:{self.account}"

    @property
    def _known_key(self) -> str:
        return f"orderflow:login-account:known:{self.account}:{self.address}"

    def check(self) -> None:
        try:
            values = cache.get_many([self._wait_key, self._known_key])
        except Exception:
            logger.warning("account slow-down: the cache is unreachable; not counting")
            return
        wait_until = values.get(self._wait_key)
        if values.get(self._known_key) or wait_until is None:
            return
        seconds = math.ceil(wait_until - time.time())
        if seconds > 0:
            _refuse(seconds)

    def failed(self) -> None:
        memory = settings.ORDERFLOW_LOGIN_ACCOUNT_MEMORY_SECONDS
        try:
            failures = _increment(self._failures_key, timeout=memory)
            cache.touch(self._failures_key, memory)
            slow_after = settings.ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER
            if failures >= settings.ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES:
                delay = memory
            elif failures >= slow_after:
                delay = min(settings.ORDERFLOW_LOGIN_ACCOUNT_MAX_DELAY_SECONDS, 2 ** min(failures - slow_after, 30))
            else:
                return
            cache.set(self._wait_key, time.time() + delay, timeout=delay + 1)
        except Exception:
            logger.warning("account slow-down: the cache is unreachable; not counting")

    def succeeded(self) -> None:
        try:
            cache.delete_many([self._failures_key, self._wait_key])
            cache.set(self._known_key, 1, timeout=settings.ORDERFLOW_LOGIN_KNOWN_ADDRESS_SECONDS)
        except Exception:
            logger.warning("account slow-down: the cache is unreachable; not counting")


class LoginAttempt:
    """One password presented for a username from an address: refused early, or counted after."""

    def __init__(self, *, username: str, address: str) -> None:
        self.account = normalise_username(username)
        self.address = address_bucket(address)
        self.limit = FailureLimit.login()
        self.slowdown = AccountSlowdown(self.account, self.address)

    @property
    def _subject(self) -> str:
        return f"account:{self.account}@{self.address}"

    def check(self) -> None:
        self.limit.check(subject=self._subject, address=self.address)
        self.slowdown.check()

    def failed(self) -> None:
        self.limit.record(subject=self._subject, address=self.address)
        self.slowdown.failed()

    def succeeded(self) -> None:
        self.slowdown.succeeded()


def code_attempt(*, user_id: int | None, address: str, attempt: Callable[[], T]) -> T:
    """Run `attempt` (a service call that checks a handoff code) under the code guessing limit:
    refused with 429 while the user or the address has too many wrong codes; an `otp_invalid`
    counts against both."""
    limit, subject, bucket = FailureLimit.codes(), f"user:{user_id}", address_bucket(address)
    limit.check(subject=subject, address=bucket)
    try:
        return attempt()
    except OtpInvalid:
        limit.record(subject=subject, address=bucket)
        raise


class CodeGuessThrottle(BaseThrottle):
    """Refuses a handoff-code attempt while the user or address has too many wrong codes."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method == "POST":
            FailureLimit.codes().check(
                subject=f"user:{request.user.pk}", address=address_bucket(client_address(request))
            )
        return True


if TYPE_CHECKING:
    from rest_framework.viewsets import GenericViewSet

    _ViewSetBase = GenericViewSet[Any]
else:
    _ViewSetBase = object


class CodeGuessLimitMixin(_ViewSetBase):
    """For viewsets whose POST actions take a handoff code: count the wrong ones.

    Actions listed in `code_actions` get `CodeGuessThrottle`; an `otp_invalid` answer from any of
    them counts against the user and the address.
    """

    code_actions: frozenset[str] = frozenset()

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.action in self.code_actions:
            throttles = [*throttles, CodeGuessThrottle()]
        return throttles

    def record_wrong_code(self) -> None:
        """A wrong code answered without an error (`otp/verify`: `verified: false`) counts too."""
        FailureLimit.codes().record(
            subject=f"user:{self.request.user.pk}", address=address_bucket(client_address(self.request))
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, OtpInvalid) and self.action in self.code_actions:
            self.record_wrong_code()
        return super().handle_exception(exc)
