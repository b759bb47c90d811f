"""How a socket's consumer waits for its next message: from its client or from its groups."""

import asyncio


async def await_many_dispatch(sources, dispatch) -> None:
    """channels' function of the same name (the next message of each source, as it comes, to
    `dispatch`) without `asyncio.wait`: a socket waits on one future that its sources' tasks
    complete, not on a chain of coroutines held for its whole life."""
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] | None = None

    def wake(_: asyncio.Future) -> None:
        if woken is not None and not woken.done():
            woken.set_result(None)

    def start(source) -> asyncio.Future:
        task = asyncio.ensure_future(source())
        task.add_done_callback(wake)
        return task

    tasks = [start(source) for source in sources]
    try:
        while True:
            if not any(task.done() for task in tasks):
                woken = loop.create_future()
                await woken
                woken = None
            for index, task in enumerate(tasks):
                if task.done():
                    message = task.result()
                    await dispatch(message)
                    tasks[index] = start(sources[index])
    finally:
        for task in tasks:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
