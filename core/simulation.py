"""What the simulated outside services (the payment provider, the SMS gateway) share: each call
takes `latency_seconds`, and a share `failure_rate` of calls fails, as the real service would."""

import random
from typing import Self

from django.conf import settings


class SimulatedService:
    # The names of the settings that hold the latency and the failure rate.
    latency_setting: str
    failure_rate_setting: str

    def __init__(self, *, latency_seconds: float, failure_rate: float, rng: random.Random | None = None) -> None:
        self.latency_seconds = max(0.0, latency_seconds)
        self.failure_rate = min(max(failure_rate, 0.0), 1.0)
        self.rng = rng or random.Random()  # noqa: S311 -- simulated latency and failures, not a secret

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            latency_seconds=getattr(settings, cls.latency_setting),
            failure_rate=getattr(settings, cls.failure_rate_setting),
        )

    def fails_now(self) -> bool:
        """Whether this call is one of the failures."""
        return self.rng.random() < self.failure_rate
