"""The garbage collector of a long-running server process, tuned once its code is loaded.

CPython's defaults (a young collection every 700 allocations, a full one every hundred of
those) suit short scripts. A server process holds Django, its URL and model registries and, in
a WebSocket process, thousands of sockets: every full collection walks all of it. Measured on
the production topology (docs/operations/serving.md): with the defaults, a hot order's fan-out
ran two full collections of 90-120 ms in each WebSocket process during the benchmark's 7 events,
most of the tail. Here everything loaded at startup is frozen out of every collection
(`gc.freeze()`), and young collections run every 50,000 allocations: a request or a broadcast
makes little cyclic garbage, and what it makes is still collected, just in fewer, larger passes.
"""

import gc

THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collection() -> None:
    """Call once the process has loaded what it serves with (HTTP worker, WebSocket process,
    Celery worker), before it starts serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
