"""Limits on guessing: wrong passwords at sign-in, wrong handoff codes at the handoff endpoints.

Only failures count, per account (or user) and per client address, in fixed windows kept in the
cache (Redis when `REDIS_URL` is set, so every web process shares the counters). Once either
count reaches its limit, further attempts are refused with 429 `rate_limited` and `Retry-After`
(the seconds left in the window) before the password or code is even looked at. Handoff codes
also lock after a few wrong attempts each (`otp_locked`); this limit is what stops a caller from
spreading guesses over many orders, or over a code and its resends. While the cache is unreachable
nothing is counted (and each code's own lockout, in the database, still holds): the site goes on.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from core.errors import OtpInvalid, TooManyRequests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureLimit:
    scope: str
    per_subject: int
    per_address: int
    window_seconds: int

    @classmethod
    def login(cls) -> "FailureLimit":
        return cls(
            "login",
            settings.ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT,
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

    def _keys(self, *, subject: str | None, address: str) -> list[tuple[str, int]]:
        window = int(time.time()) // self.window_seconds
        keys = [(self._key("address", address, window), self.per_address)]
        if subject:
            keys.append((self._key("subject", subject.lower(), window), self.per_subject))
        return keys

    def _key(self, kind: str, value: str, window: int) -> str:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        return f"orderflow:failures:{self.scope}:{kind}:{digest}:{window}"

    def retry_after(self) -> int:
        now = time.time()
        return max(1, math.ceil((math.floor(now / self.window_seconds) + 1) * self.window_seconds - now))

    def check(self, *, subject: str | None, address: str) -> None:
        keys = self._keys(subject=subject, address=address)
        try:
            counts = cache.get_many([key for key, _ in keys])
        except Exception:  # the cache (Redis) is down: sign-ins and handoffs go on, uncounted
            logger.warning("guessing limit %s: the cache is unreachable; not counting", self.scope)
            return
        if any(counts.get(key, 0) >= limit for key, limit in keys):
            seconds = self.retry_after()
            raise TooManyRequests(f"Too many failed attempts; try again in {seconds} seconds.", retry_after=seconds)

    def record(self, *, subject: str | None, address: str) -> None:
        try:
            for key, _ in self._keys(subject=subject, address=address):
                # add() then incr(): atomic on Redis, and the window's key expires with it.
                cache.add(key, 0, timeout=self.window_seconds + 60)
                try:
                    cache.incr(key)
                except ValueError:  # expired between the two calls: this failure opens the next count
                    cache.add(key, 1, timeout=self.window_seconds + 60)
        except Exception:
            logger.warning("guessing limit %s: the cache is unreachable; not counting", self.scope)


def client_address(request) -> str:
    """The caller's address as DRF's throttles read it (`NUM_PROXIES` trusted proxies)."""
    return BaseThrottle().get_ident(request) or "unknown"


class CodeGuessThrottle(BaseThrottle):
    """Refuses a handoff-code attempt while the user or address has too many wrong codes."""

    def allow_request(self, request, view):
        if request.method == "POST":
            FailureLimit.codes().check(subject=f"user:{request.user.pk}", address=client_address(request))
        return True


class CodeGuessLimitMixin:
    """For viewsets whose POST actions take a handoff code: count the wrong ones.

    Actions listed in `code_actions` get `CodeGuessThrottle`; an `otp_invalid` answer from any of
    them counts against the user and the address.
    """

    code_actions: frozenset[str] = frozenset()

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action in self.code_actions:
            throttles = [*throttles, CodeGuessThrottle()]
        return throttles

    def record_wrong_code(self) -> None:
        """A wrong code answered without an error (`otp/verify`: `verified: false`) counts too."""
        FailureLimit.codes().record(subject=f"user:{self.request.user.pk}", address=client_address(self.request))

    def handle_exception(self, exc):
        if isinstance(exc, OtpInvalid) and self.action in self.code_actions:
            self.record_wrong_code()
        return super().handle_exception(exc)
