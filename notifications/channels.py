"""Where a notification goes out: pluggable channels behind one interface.

`email` sends through Django's email framework (EMAIL_BACKEND: the console backend by
default, SMTP when configured); `sms` through the SMS provider named by
ORDERFLOW_SMS_PROVIDER (`simulated`, or a dotted path to an `SmsProvider` subclass).
ORDERFLOW_NOTIFICATION_CHANNELS maps a channel name to a dotted path, to add or replace one.
"""

import logging
import secrets
import smtplib
import time
from abc import ABC, abstractmethod

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from core.simulation import SimulatedService
from notifications.models import SimulatedSmsMessage

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    """The channel did not send. `transient`: trying again later may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class NotificationChannel(ABC):
    name: str

    @abstractmethod
    def send(self, *, to: str, subject: str, text: str, idempotency_key: str) -> str:
        """Send `text` to `to`; return the channel's reference for it, or raise SendFailed."""


class EmailChannel(NotificationChannel):
    name = "email"

    def send(self, *, to: str, subject: str, text: str, idempotency_key: str) -> str:
        reference = f"<{idempotency_key.replace(':', '.')}@orderflow>"
        message = EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"Message-ID": reference},
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(f"the mail server refused the recipient ({type(exc).__name__})", transient=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"the mail server could not be reached ({type(exc).__name__})", transient=True) from None
        return reference


class SmsProvider(ABC):
    name: str

    @abstractmethod
    def send_sms(self, *, to: str, text: str, idempotency_key: str) -> str:
        """Send one text message; the same key sends once and answers with the same reference."""


class SimulatedSmsProvider(SimulatedService, SmsProvider):
    """Behaves like an SMS gateway: it takes time, sometimes fails, and keeps its own books."""

    name = "simulated"

    latency_setting = "ORDERFLOW_SIMULATED_SMS_LATENCY_SECONDS"
    failure_rate_setting = "ORDERFLOW_SIMULATED_SMS_FAILURE_RATE"

    def send_sms(self, *, to: str, text: str, idempotency_key: str) -> str:
        if not to:
            raise SendFailed("no phone number", transient=False)
        time.sleep(self.latency_seconds)
        if self.fails_now():
            raise SendFailed("the simulated SMS gateway is unavailable; try again", transient=True)
        for _ in range(2):
            if SimulatedSmsMessage.objects.filter(idempotency_key=idempotency_key).update(calls=F("calls") + 1):
                return SimulatedSmsMessage.objects.get(idempotency_key=idempotency_key).reference
            try:
                with transaction.atomic():
                    return SimulatedSmsMessage.objects.create(
                        reference="sim_sms_" + secrets.token_hex(12), idempotency_key=idempotency_key, to=to, text=text
                    ).reference
            except IntegrityError:
                continue
        raise SendFailed("the simulated SMS gateway could not record the message", transient=True)


SMS_PROVIDERS: dict[str, type[SmsProvider]] = {"simulated": SimulatedSmsProvider}


def get_sms_provider(name: str | None = None) -> SmsProvider:
    name = name or settings.ORDERFLOW_SMS_PROVIDER
    provider_class = SMS_PROVIDERS.get(name) or import_string(name)
    return provider_class.from_settings() if hasattr(provider_class, "from_settings") else provider_class()


class SmsChannel(NotificationChannel):
    name = "sms"

    def send(self, *, to: str, subject: str, text: str, idempotency_key: str) -> str:
        return get_sms_provider().send_sms(to=to, text=text, idempotency_key=idempotency_key)


CHANNELS: dict[str, type[NotificationChannel]] = {"email": EmailChannel, "sms": SmsChannel}


def get_channel(name: str) -> NotificationChannel:
    configured = settings.ORDERFLOW_NOTIFICATION_CHANNELS.get(name)
    channel_class = import_string(configured) if configured else CHANNELS.get(name)
    if channel_class is None:
        raise SendFailed(f"no channel named {name!r}", transient=False)
    return channel_class()
