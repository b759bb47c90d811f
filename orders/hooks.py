"""What an order's status change must cause in the apps above `orders`, registered in code.

`orders` imports none of the apps that react to its changes; they register here from their
`AppConfig.ready()`:

- `on_order_change(hook)`: called inside the transaction that places an order or changes its
  status, under the order's row lock, with the order, its new event and the actor. It is for what
  must commit together with the change or not at all: the payment an online order waits for and
  the refund owed on a paid order that will not be delivered (payments), the handoff code the new
  status waits for (delivery). A hook that raises rolls the change back.
- `handoff_verifier(verify)`: the one check of a handoff code (delivery's), for the rules of the
  table that name a `handoff`. It runs under the lock and must leave a used-up attempt behind
  even when it refuses the code.

What may happen after the commit (broadcasts, courier offers, logs) subscribes to the committed
event instead: `core.publishing`.
"""

from collections.abc import Callable
from datetime import datetime

from core.actors import Actor
from orders.models import HandoffPurpose, Order, TrackingEvent

ChangeHook = Callable[..., None]
HandoffVerifier = Callable[..., None]

_change_hooks: list[ChangeHook] = []
_handoff_verifier: list[HandoffVerifier] = []


def on_order_change(hook: ChangeHook) -> ChangeHook:
    """Register `hook(*, order, event, actor, now)`; registering the same hook twice is a no-op."""
    if hook not in _change_hooks:
        _change_hooks.append(hook)
    return hook


def handoff_verifier(verify: HandoffVerifier) -> HandoffVerifier:
    """Register `verify(*, order, purpose, code, now)`, which raises when the code is refused."""
    _handoff_verifier[:] = [verify]
    return verify


def run_order_change_hooks(*, order: Order, event: TrackingEvent, actor: Actor, now: datetime) -> None:
    for hook in _change_hooks:
        hook(order=order, event=event, actor=actor, now=now)


def verify_handoff(*, order: Order, purpose: HandoffPurpose, code: str, now: datetime) -> None:
    if not _handoff_verifier:
        raise RuntimeError("No handoff verifier is registered: is the delivery app installed?")
    _handoff_verifier[0](order=order, purpose=purpose, code=code, now=now)
