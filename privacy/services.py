"""Writes about a person's data: export and erasure (both audited), and the retention limits.

Each app erases and expires its own rows (orders, delivery, payments, notifications, core);
this module decides the order of the steps and keeps the audit trail. It sits above every
domain app, which never import it.
"""

import logging
import secrets
import time
from datetime import datetime

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from core.services import idempotency_records_forget
from core.timestamps import iso
from delivery.services import courier_locations_forget, courier_locations_purge, courier_profile_erase
from notifications.retention import (
    notifications_purge,
    sent_codes_redact,
    user_notifications_erase,
    webhook_logs_purge,
    webhook_payloads_anonymise,
)
from orders.services.erasure import customer_active_order_numbers, customer_orders_anonymise, user_events_anonymise
from orders.tracking_links import tracking_links_expire
from payments.services import payment_payloads_reduce, payment_payloads_reduce_for_orders
from privacy.models import PrivacyAction, PrivacyAuditRecord
from privacy.selectors import customer_data

logger = logging.getLogger(__name__)


def _audit(*, action: PrivacyAction, subject_id, actor: Actor, now: datetime, summary: dict) -> PrivacyAuditRecord:
    return PrivacyAuditRecord.objects.create(
        action=action,
        subject_id=subject_id,
        actor=actor.user,
        actor_role=actor.role,
        at=now,
        summary=summary,
    )


def customer_data_export(*, user, actor: Actor) -> dict:
    """The user's data as one document; who asked, and when, is recorded."""
    now = timezone.now()
    document = {"exported_at": iso(now), **customer_data(user=user)}
    summary = {"orders": len(document["orders"]), "notifications": len(document["notifications"])}
    _audit(action=PrivacyAction.EXPORT, subject_id=user.pk, actor=actor, now=now, summary=summary)
    logger.info("personal data exported user=%s by %s", user.pk, actor.display_name)
    return document


def customer_erase(*, user_id, actor: Actor) -> PrivacyAuditRecord:
    """Erase a customer's personal data, keeping the money records.

    The account stays (orders refer to it, and the books must add up) but names nobody: its
    username is replaced, name and email emptied, password unusable, and it cannot sign in.
    Their orders keep numbers, items, amounts and times, and lose the address, coordinates,
    notes and the customer's words and name on the history; the tracking link, courier track,
    provider payloads, messages, preferences and idempotency answers go. An order still on
    its way must end first (409 `erasure_blocked`).
    """
    now = timezone.now()
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise Conflict("No such user.", code="user_not_found")
        active = customer_active_order_numbers(customer_id=user.pk)
        if active:
            raise Conflict(
                "Orders still on their way must end before the data can be erased.",
                code="erasure_blocked",
                active_orders=active,
            )
        order_ids = customer_orders_anonymise(customer_id=user.pk)
        summary = {
            "orders_anonymised": len(order_ids),
            "events_renamed": user_events_anonymise(user_id=user.pk),
            "courier_locations_deleted": courier_locations_forget(order_ids=order_ids),
            "payment_payloads_reduced": payment_payloads_reduce_for_orders(order_ids=order_ids, now=now),
            "webhook_payloads_anonymised": webhook_payloads_anonymise(order_ids=order_ids),
            "messages_deleted": user_notifications_erase(user=user),
            "idempotency_records_deleted": idempotency_records_forget(user_id=user.pk),
        }
        courier_profile_erase(user_id=user.pk)
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(user), object_id=str(user.pk)).update(
            object_repr=f"erased user {user.pk}", change_message=""
        )
        user.username = f"erased-{user.pk}-{secrets.token_hex(4)}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["username", "first_name", "last_name", "email", "is_active", "password"])
        record = _audit(action=PrivacyAction.ERASE, subject_id=user.pk, actor=actor, now=now, summary=summary)
    logger.info("personal data erased user=%s by %s: %s", user_id, actor.display_name, summary)
    return record


# Each retention step: a batch of at most `limit` rows per call, returning how many it handled.
RETENTION_STEPS = {
    "courier_locations_deleted": courier_locations_purge,
    "tracking_links_expired": tracking_links_expire,
    "payment_payloads_reduced": payment_payloads_reduce,
    "sent_codes_masked": sent_codes_redact,
    "notifications_deleted": notifications_purge,
    "webhook_logs_deleted": webhook_logs_purge,
}


def retention_enforce(*, now: datetime | None = None) -> dict[str, int]:
    """Apply every retention limit (docs/personal-data.md), batch after batch, until each
    step runs short or ORDERFLOW_RETENTION_BUDGET_SECONDS is used up (the next run carries on)."""
    now = now or timezone.now()
    limit = settings.ORDERFLOW_RETENTION_BATCH_SIZE
    stop_at = time.monotonic() + settings.ORDERFLOW_RETENTION_BUDGET_SECONDS
    report = dict.fromkeys(RETENTION_STEPS, 0)
    for name, step in RETENTION_STEPS.items():
        while time.monotonic() < stop_at:
            handled = step(now=now, limit=limit)
            report[name] += handled
            if handled < limit:
                break
    logger.info("retention: %s", report)
    return report
