"""What an order's status change must cause, inside its transaction, in the apps above `orders`.

`orders` imports none of the apps that react to its changes; the effect registry
(core/effects.py, listed in config/effects.py) names them:

- `order_change_hooks`: called inside the transaction that places an order or changes its
  status, under the order's row lock, with the order, its new event and the actor, in the
  registry's order. They are for what must commit together with the change or not at all: the
  payment an online order waits for and the refund owed on a paid order that will not be
  delivered (payments), the handoff code the new status waits for (delivery). A hook that raises
  rolls the change back.
- `handoff_verifier`: the one check of a handoff code (delivery's), for the rules of the table
  that name a `handoff`. It runs under the lock and must leave a used-up attempt behind even when
  it refuses the code.

What happens after the commit (broadcasts, webhooks, notifications, courier offers, logs) are
the registry's effects of the committed event's outbox message (core/outbox.py).
"""

from datetime import datetime

from core.actors import Actor
from core.effects import registry
from orders.models import HandoffPurpose, Order, TrackingEvent


def run_order_change_hooks(*, order: Order, event: TrackingEvent, actor: Actor, now: datetime) -> None:
    for hook in registry().order_change_hooks:
        hook(order=order, event=event, actor=actor, now=now)


def verify_handoff(*, order: Order, purpose: HandoffPurpose, code: str, now: datetime) -> None:
    verify = registry().handoff_verifier
    if verify is None:
        raise RuntimeError("No handoff verifier is registered in ORDERFLOW_EFFECTS.")
    verify(order=order, purpose=purpose, code=code, now=now)
