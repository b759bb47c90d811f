"""What delivery announces that is not a tracking event.

`handoff_code_resent` is sent after the commit that replaced a handoff code at someone's
request, with `order_id`, `purpose` and `sends` (the code's send count, which names this
code). Receivers (the notifier) deliver the new code; the code itself is never sent along.
"""

from django.dispatch import Signal

handoff_code_resent = Signal()
