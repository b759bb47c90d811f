"""Payment providers: the one interface the rest of orderflow uses to move money.

`get_provider()` returns the provider named by `settings.ORDERFLOW_PAYMENT_PROVIDER`
(a name from PROVIDERS or a dotted path to a `PaymentProvider` subclass). Every call
carries an idempotency key: asking twice with the same key moves money once and
answers with the same reference, which is what makes a re-delivered task safe.
"""

import logging
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from core.simulation import SimulatedService
from payments.models import SimulatedOperationKind, SimulatedProviderOperation

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider did not do what was asked. `transient`: asking again later may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class ProviderResult:
    reference: str


class PaymentProvider(ABC):
    name: str

    @abstractmethod
    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str) -> ProviderResult:
        """Take `amount` from the customer (in production the customer pays on the provider's page)."""

    @abstractmethod
    def refund(self, *, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str) -> ProviderResult:
        """Pay `amount` of the charge `payment_reference` back to the customer."""


class SimulatedProvider(SimulatedService, PaymentProvider):
    """Behaves like a hosted provider: it takes time, sometimes fails, and keeps its own books.

    Latency and failure rate come from settings. A failure happens before any money
    moves (a transient outage). The answer to a successful call comes back only after
    the latency, so a caller that dies while waiting has moved money without knowing:
    the case that idempotency keys exist for.
    """

    name = "simulated"

    latency_setting = "ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS"
    failure_rate_setting = "ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE"

    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str) -> ProviderResult:
        return self._operate(SimulatedOperationKind.CHARGE, amount, currency, idempotency_key, source="")

    def refund(self, *, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str) -> ProviderResult:
        if not payment_reference:
            raise ProviderError("There is no charge to refund.", transient=False)
        return self._operate(SimulatedOperationKind.REFUND, amount, currency, idempotency_key, source=payment_reference)

    def _operate(
        self, kind: SimulatedOperationKind, amount: Decimal, currency: str, idempotency_key: str, source: str
    ) -> ProviderResult:
        if amount is None or Decimal(amount) <= 0:
            raise ProviderError("The amount must be positive.", transient=False)
        if self.fails_now():
            time.sleep(self.latency_seconds)
            raise ProviderError("The simulated provider is unavailable; try again.", transient=True)
        operation = self._record(kind, Decimal(amount), currency, idempotency_key, source)
        if operation.kind != kind or operation.amount != Decimal(amount):
            raise ProviderError("This idempotency key was used for another operation.", transient=False)
        time.sleep(self.latency_seconds)
        return ProviderResult(reference=operation.reference)

    @staticmethod
    def _record(kind, amount, currency, idempotency_key, source) -> SimulatedProviderOperation:
        prefix = "sim_ch_" if kind == SimulatedOperationKind.CHARGE else "sim_re_"
        for _ in range(2):
            updated = SimulatedProviderOperation.objects.filter(idempotency_key=idempotency_key).update(
                calls=F("calls") + 1
            )
            if updated:
                return SimulatedProviderOperation.objects.get(idempotency_key=idempotency_key)
            try:
                with transaction.atomic():
                    return SimulatedProviderOperation.objects.create(
                        kind=kind,
                        idempotency_key=idempotency_key,
                        reference=prefix + secrets.token_hex(12),
                        source_reference=source,
                        amount=amount,
                        currency=currency,
                    )
            except IntegrityError:
                continue  # the same key, asked for at the same moment: count this call on that row
        raise ProviderError("The simulated provider could not record the operation.", transient=True)


PROVIDERS: dict[str, type[PaymentProvider]] = {"simulated": SimulatedProvider}


def get_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.ORDERFLOW_PAYMENT_PROVIDER
    provider_class = PROVIDERS.get(name) or import_string(name)
    if hasattr(provider_class, "from_settings"):
        return provider_class.from_settings()
    return provider_class()
