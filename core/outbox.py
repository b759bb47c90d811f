"""The transactional outbox and its relay.

`outbox_write` adds a message (core.models.OutboxMessage) in the caller's transaction: a
rolled-back change leaves none, a committed one always has one. The relay carries it out:

- at once, in the process that committed it, right after the commit (one relay for all the
  messages of one transaction, so a batch of deadline cancellations is one round of effects):
  clients hear of a change before its request has answered, as before there was an outbox;
- and by the beat sweep (`outbox_relay_due`, every ORDERFLOW_OUTBOX_SWEEP_SECONDS) for every
  message that is still not relayed a moment later: its process died between the commit and the
  relay, or an effect failed and waits for its next attempt.

Each message is taken under its row lock (SKIP LOCKED: two relays never carry out the same
message at once). The effects of its topic run in the registry's order, each in a savepoint; an
effect that succeeds is recorded in the message's `done` in the same transaction as what it
wrote, so a re-run after a crash carries out only what had not committed. A failing effect is
logged and tried again with backoff; it never stops the next effect.
"""

import logging
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.effects import registry
from core.faults import AFTER_COMMIT_BEFORE_RELAY, fault_point
from core.models import OutboxMessage

logger = logging.getLogger(__name__)


class _RelayAfterCommit:
    """The commit callback of one transaction: relays the messages it wrote."""

    def __init__(self) -> None:
        self.message_ids: list[int] = []
        self.transient: list[OutboxMessage] = []

    def __call__(self) -> None:
        fault_point(AFTER_COMMIT_BEFORE_RELAY)
        try:
            if self.message_ids:
                outbox_relay(message_ids=self.message_ids)
            if self.transient:
                _carry_out(self.transient)
        except Exception:
            # The change stands; the sweep carries the (durable) messages out.
            logger.exception("outbox relay after commit failed for messages %s", self.message_ids)


_collecting = threading.local()


def _relay_after_commit(message: OutboxMessage) -> None:
    relay = getattr(_collecting, "relay", None)
    connection = transaction.get_connection()
    if relay is None and connection.in_atomic_block and connection.run_on_commit:
        # Messages written one after the other in the same atomic block share one relay.
        savepoints, callback, _robust = connection.run_on_commit[-1]
        if isinstance(callback, _RelayAfterCommit) and savepoints == set(connection.savepoint_ids):
            relay = callback
    if relay is None:
        relay = _RelayAfterCommit()
        transaction.on_commit(relay, robust=True)
    if message.pk is None:
        relay.transient.append(message)
    else:
        relay.message_ids.append(message.pk)


@contextmanager
def outbox_relayed_together() -> Iterator[None]:
    """Inside a transaction: every message written in this block (savepoints included) is relayed
    in one batch after the commit; a sweep's cancellations make one round of effects (one
    broadcast round trip, one read of the endpoints) instead of one each."""
    if getattr(_collecting, "relay", None) is not None:
        yield
        return
    # Registered first: the batch's effects run before any work its changes queued after commit
    # (a refund's task, whose own events come after these).
    relay = _collecting.relay = _RelayAfterCommit()
    transaction.on_commit(relay, robust=True)
    try:
        yield
    finally:
        _collecting.relay = None


def outbox_write(*, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Add a message to the outbox in the current transaction; it is relayed after the commit.

    A message of a topic that is not durable is kept in memory until then (no row)."""
    declared = registry().topic(topic)
    if declared is None:
        raise ValueError(f"no topic {topic!r} in the effect registry")
    message = OutboxMessage(topic=topic, payload=payload)
    if declared.durable:
        message.save()
    _relay_after_commit(message)
    return message


def _backoff(attempts: int) -> timedelta:
    ceiling = min(
        settings.ORDERFLOW_OUTBOX_RETRY_MAX_SECONDS,
        settings.ORDERFLOW_OUTBOX_RETRY_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311 -- retry jitter, not a secret


def outbox_relay(*, message_ids: Sequence[int] | None = None, now: datetime | None = None, limit: int = 500) -> int:
    """Carry out the effects still owed for the given messages (or, without ids, for those due).

    Returns how many messages it took (relayed, or put off after a failed effect)."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(relayed_at__isnull=True)
        if message_ids is not None:
            pending = pending.filter(pk__in=message_ids)
        else:
            settled = now - timedelta(seconds=settings.ORDERFLOW_OUTBOX_SWEEP_GRACE_SECONDS)
            pending = pending.filter(next_attempt_at__lte=now, created_at__lte=settled)
        messages = list(pending.order_by("pk")[:limit])
        if not messages:
            return 0
        failed = _carry_out(messages)
        for message in messages:
            if message.pk in failed:
                message.attempts += 1
                message.last_error = failed[message.pk][:300]
                message.next_attempt_at = now + _backoff(message.attempts)
            else:
                message.relayed_at = now
        OutboxMessage.objects.bulk_update(messages, ["done", "attempts", "last_error", "next_attempt_at", "relayed_at"])
    return len(messages)


def _carry_out(messages: list[OutboxMessage]) -> dict[int, str]:
    """Run each topic's effects in order on its messages; the errors of those left unfinished."""
    effects = registry()
    failed: dict[int, str] = {}
    topics: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        topics.setdefault(message.topic, []).append(message)
    for name, batch in topics.items():
        topic = effects.topic(name)
        if topic is None:
            for message in batch:
                failed[message.pk or id(message)] = f"no topic {name!r} in the effect registry"
            continue
        items = topic.items([message.payload for message in batch])
        for effect in effects.effects_of(name):
            owed = [
                (message, item)
                for message, item in zip(batch, items, strict=True)
                if item is not None and effect.name not in message.done
            ]
            if not owed:
                continue
            try:
                with transaction.atomic():
                    effect.run([item for _, item in owed])
            except Exception as exc:
                logger.exception("effect %s failed for outbox messages %s", effect.name, [m.pk for m, _ in owed])
                for message, _ in owed:
                    failed[message.pk or id(message)] = f"{effect.name}: {exc!r}"
                continue
            for message, _ in owed:
                message.done = [*message.done, effect.name]
    return failed


def outbox_relay_due(*, now: datetime | None = None) -> int:
    """Beat: relay what no process relayed after its commit (it died) and effects due again."""
    taken = 0
    size = settings.ORDERFLOW_OUTBOX_SWEEP_BATCH_SIZE
    give_up = timezone.now() + timedelta(seconds=settings.ORDERFLOW_OUTBOX_SWEEP_BUDGET_SECONDS)
    while timezone.now() < give_up:
        batch = outbox_relay(now=now, limit=size)
        taken += batch
        if batch < size:
            break
    if taken:
        logger.info("outbox sweep: %s messages taken", taken)
    return taken


def outbox_purge_relayed(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Retention: delete messages relayed more than ORDERFLOW_OUTBOX_KEEP_DAYS ago, a batch of at most `limit`."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORDERFLOW_OUTBOX_KEEP_DAYS)
    old = OutboxMessage.objects.filter(relayed_at__lt=cutoff).values_list("pk", flat=True)[:limit]
    deleted, _ = OutboxMessage.objects.filter(pk__in=list(old)).delete()
    return deleted
