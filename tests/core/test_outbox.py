"""The transactional outbox: a committed change always has its message, its effects run once each
in the registry's order, a failed effect is tried again without repeating the others, and the
sweep carries out what no process relayed after its commit."""

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from core.effects import Effect, Registry, Topic, registry_replace
from core.faults import AFTER_COMMIT_BEFORE_RELAY, fault_point
from core.models import OutboxMessage
from core.outbox import outbox_relay, outbox_relay_due, outbox_relayed_together, outbox_write

pytestmark = pytest.mark.django_db

RAN: list[tuple[str, list[int]]] = []
FAILURES: dict[str, int] = {}


def effect(name: str):
    def run(items: list[dict]) -> None:
        if FAILURES.get(name, 0) > 0:
            FAILURES[name] -= 1
            raise RuntimeError(f"{name} is down")
        RAN.append((name, [item["n"] for item in items]))

    return Effect(name, "test.topic", run)


@pytest.fixture(autouse=True)
def test_registry():
    RAN.clear()
    FAILURES.clear()
    registry_replace(Registry(topics=[Topic("test.topic")], effects=[effect("first"), effect("second")]))
    yield
    registry_replace(None)


def test_messages_of_one_transaction_are_relayed_together_after_its_commit_in_order(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(3):
            outbox_write(topic="test.topic", payload={"n": n})
        assert RAN == []
    assert RAN == [("first", [0, 1, 2]), ("second", [0, 1, 2])]
    assert list(OutboxMessage.objects.values_list("done", flat=True)) == [["first", "second"]] * 3
    assert not OutboxMessage.objects.filter(relayed_at__isnull=True).exists()


def test_a_rolled_back_change_leaves_no_message_and_causes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(LookupError):  # noqa: PT012 -- the raise is what rolls the transaction back
        with transaction.atomic():
            outbox_write(topic="test.topic", payload={"n": 1})
            raise LookupError("the change fails after writing its message")
    assert callbacks == [] and RAN == [] and not OutboxMessage.objects.exists()


def test_a_failed_effect_is_tried_again_later_without_repeating_the_one_that_succeeded(
    django_capture_on_commit_callbacks,
):
    FAILURES["first"] = 1
    with django_capture_on_commit_callbacks(execute=True):
        outbox_write(topic="test.topic", payload={"n": 7})
    message = OutboxMessage.objects.get()
    assert RAN == [("second", [7])], "a failing effect never stops the next one"
    assert (message.done, message.attempts, message.relayed_at) == (["second"], 1, None)
    assert "first is down" in message.last_error
    assert message.next_attempt_at > timezone.now()

    assert outbox_relay_due() == 0, "not due yet"
    assert outbox_relay_due(now=message.next_attempt_at + timedelta(seconds=1)) == 1

    message.refresh_from_db()
    assert RAN == [("second", [7]), ("first", [7])]
    assert message.done == ["second", "first"] and message.relayed_at is not None
    assert outbox_relay_due(now=timezone.now() + timedelta(hours=1)) == 0, "a relayed message is done with"


def test_the_sweep_relays_what_no_process_relayed_after_its_commit(django_capture_on_commit_callbacks, settings):
    settings.ORDERFLOW_OUTBOX_SWEEP_GRACE_SECONDS = 2
    with django_capture_on_commit_callbacks(execute=False):  # the process died before its relay
        outbox_write(topic="test.topic", payload={"n": 1})
        outbox_write(topic="test.topic", payload={"n": 2})
    assert outbox_relay_due() == 0, "the committing process has a moment to relay them itself"
    assert outbox_relay_due(now=timezone.now() + timedelta(seconds=3)) == 2
    assert RAN == [("first", [1, 2]), ("second", [1, 2])]


def test_savepoints_of_one_block_are_relayed_together(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), outbox_relayed_together():
        for n in range(3):
            with transaction.atomic():
                outbox_write(topic="test.topic", payload={"n": n})
    assert RAN == [("first", [0, 1, 2]), ("second", [0, 1, 2])]


def test_a_message_for_an_unknown_topic_is_refused():
    with pytest.raises(ValueError, match="no topic"):
        outbox_write(topic="nobody.listens", payload={})


def test_relaying_a_message_twice_runs_nothing_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox_write(topic="test.topic", payload={"n": 3})
    assert outbox_relay(message_ids=[message.pk]) == 0
    assert RAN == [("first", [3]), ("second", [3])]


def test_a_fault_point_is_ignored_unless_the_settings_enable_it(monkeypatch, settings):
    monkeypatch.setenv("ORDERFLOW_FAULT_POINT", AFTER_COMMIT_BEFORE_RELAY)
    settings.ORDERFLOW_FAULT_POINTS_ENABLED = False
    fault_point(AFTER_COMMIT_BEFORE_RELAY)  # still alive
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    settings.ORDERFLOW_FAULT_POINTS_ENABLED = True
    fault_point("another_point")
    fault_point(AFTER_COMMIT_BEFORE_RELAY)
    assert killed == [(os.getpid(), signal.SIGKILL)]


def test_production_settings_never_enable_fault_points():
    from config.settings import base

    assert base.ORDERFLOW_FAULT_POINTS_ENABLED is False
    production = Path(base.__file__).with_name("production.py").read_text()
    assert "FAULT_POINTS" not in production, "production inherits the base's False and changes nothing about it"
