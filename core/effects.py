"""The one way out: every effect of a committed change, listed once, in the order they run.

A change that must reach the outside world (a socket broadcast, a webhook, a notification, a
snapshot, a counter) writes an outbox message in its own transaction (`core.outbox.outbox_write`,
with a topic such as `order.event`). After the commit the relay (core/outbox.py) loads the
messages of each topic and hands them, as one batch, to each effect registered for the topic, in
the registry's order, and records each effect carried out.

The registry itself is one module above every app (`ORDERFLOW_EFFECTS`, `config/effects.py`):
the order of `INSTALLED_APPS` and of the apps' `ready()` plays no part. It also names what must
happen *inside* an order's transaction, before it commits (`order_change_hooks`, the
`handoff_verifier`): orders/hooks.py runs them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

Payload = dict[str, Any]


@dataclass(frozen=True)
class Topic:
    """A kind of outbox message. `load` turns a batch of payloads into what the effects take (one
    item per payload, in order; None for one whose subject is gone); without it they take the
    payloads themselves. A durable topic's messages are rows of the outbox; the others are not."""

    name: str
    load: Callable[[list[Payload]], list[Any]] | None = None
    # False for what the next message supersedes within seconds (a courier's position): relayed
    # after the commit from memory, never written or swept, lost with a process that dies.
    durable: bool = True

    def items(self, payloads: list[Payload]) -> list[Any]:
        return list(payloads) if self.load is None else self.load(payloads)


@dataclass(frozen=True)
class Effect:
    """`run(items)` carries out one topic's committed messages, a batch at once, in their order.

    It may run again for the same messages after a crash (before its completion was recorded):
    what it writes to the database commits with that record; what leaves otherwise carries the
    message's identity (an event id, a sequence) for the receiver to recognise a repeat."""

    name: str
    topic: str
    run: Callable[[list[Any]], object]


@dataclass(frozen=True)
class Registry:
    topics: Sequence[Topic]
    effects: Sequence[Effect]
    # Inside the order's transaction, under its row lock: `hook(*, order, event, actor, now)`.
    order_change_hooks: Sequence[Callable[..., None]] = field(default_factory=tuple)
    # `verify(*, order, purpose, code, now)`, which raises when the code is refused.
    handoff_verifier: Callable[..., None] | None = None

    def __post_init__(self) -> None:
        names = [effect.name for effect in self.effects]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"effects registered twice: {', '.join(duplicates)}")
        known = {topic.name for topic in self.topics}
        unknown = sorted({effect.topic for effect in self.effects} - known)
        if unknown:
            raise ValueError(f"effects for topics nobody declared: {', '.join(unknown)}")

    def topic(self, name: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.name == name), None)

    def effects_of(self, topic: str) -> list[Effect]:
        return [effect for effect in self.effects if effect.topic == topic]


@cache
def _configured() -> Registry:
    configured: Registry = import_string(settings.ORDERFLOW_EFFECTS)
    return configured


_override: list[Registry] = []


def registry() -> Registry:
    """The registry named by ORDERFLOW_EFFECTS (imported on first use, when every app is loaded)."""
    return _override[-1] if _override else _configured()


def registry_replace(replacement: Registry | None) -> None:
    """Run with another registry (None: the configured one again); for tests that watch effects."""
    _override[:] = [] if replacement is None else [replacement]
