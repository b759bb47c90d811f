"""Fault points: places where a fault test (tests/faults/) makes this process die on purpose.

`fault_point(name)` kills the process with SIGKILL (no clean-up, no `finally`, as a power cut or
the OOM killer would) when ORDERFLOW_FAULT_POINTS_ENABLED is on and the environment variable
ORDERFLOW_FAULT_POINT names this point. Only the test settings can switch it on; anywhere else
it is one attribute read.
"""

import os
import signal

from django.conf import settings

AFTER_COMMIT_BEFORE_RELAY = "after_commit_before_relay"
# An action with an Idempotency-Key has committed, with its remembered answer, and not yet answered.
AFTER_ACTION_BEFORE_ANSWER = "after_action_before_answer"


def fault_point(name: str) -> None:
    if getattr(settings, "ORDERFLOW_FAULT_POINTS_ENABLED", False) and os.environ.get("ORDERFLOW_FAULT_POINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
