"""One task per process re-checks every socket's access and renews its memberships
(tracking/timers.py): sockets due together with the same question share one answer, each socket
keeps its own token expiry, and a socket that has ended is dropped, never kept alive."""

import asyncio
import gc
import time

import pytest

from tracking.timers import RECHECK, SocketTimers


class FakeSocket:
    def __init__(self, key, *, expires_at=None, lost=None):
        self.key = key
        self.scope = {"token_expires_at": expires_at}
        self.closing = False
        self.lost = lost
        self.checks = 0
        self.ended_with = None
        self.rescheduled = 0
        self.renewed = 0

    def token_ended(self):
        expires_at = self.scope["token_expires_at"]
        return 4401 if expires_at is not None and expires_at <= time.time() else None

    def recheck_key(self):
        return self.key

    async def access_beyond_token(self):
        self.checks += 1
        await asyncio.sleep(0.01)
        return self.lost

    async def end_access(self, code):
        self.ended_with = code
        self.closing = True

    def recheck_later(self):
        self.rescheduled += 1

    async def renew_memberships(self):
        self.renewed += 1


def run(coroutine):
    return asyncio.run(coroutine)


def test_sockets_with_the_same_question_share_one_check_in_a_pass():
    same = [FakeSocket(("order", "o1", 7)) for _ in range(5)]
    own = [FakeSocket(None) for _ in range(3)]

    run(SocketTimers(tick=0.01)._pass([(RECHECK, socket) for socket in same + own]))

    assert sum(socket.checks for socket in same) == 1
    assert [socket.checks for socket in own] == [1, 1, 1]
    assert all(socket.rescheduled == 1 and socket.ended_with is None for socket in same + own)


def test_a_shared_answer_that_ends_the_access_closes_every_socket_that_shares_it():
    lost = [FakeSocket(("order", "o2", 7), lost=4404) for _ in range(3)]

    run(SocketTimers(tick=0.01)._pass([(RECHECK, socket) for socket in lost]))

    assert [socket.ended_with for socket in lost] == [4404, 4404, 4404]
    assert sum(socket.checks for socket in lost) == 1


def test_an_expired_token_ends_its_own_socket_only():
    expired = FakeSocket(("order", "o3", 7), expires_at=time.time() - 1)
    valid = FakeSocket(("order", "o3", 7), expires_at=time.time() + 60)

    run(SocketTimers(tick=0.01)._pass([(RECHECK, expired), (RECHECK, valid)]))

    assert expired.ended_with == 4401 and expired.checks == 0
    assert valid.ended_with is None and valid.checks == 1


def test_a_failing_check_is_asked_again_later():
    class Failing(FakeSocket):
        async def access_beyond_token(self):
            raise ConnectionError("database away")

    failing = Failing(None)
    run(SocketTimers(tick=0.01)._pass([(RECHECK, failing)]))

    assert failing.ended_with is None and failing.rescheduled == 1


def test_due_sockets_are_checked_and_renewed_by_the_one_task():
    async def scenario():
        timers = SocketTimers(tick=0.01)
        sockets = [FakeSocket(("order", "o4", 7)) for _ in range(4)]
        for socket in sockets:
            timers.recheck_later(socket, 0.05)
            timers.renew_later(socket, 0.05)
        await asyncio.sleep(0.3)
        return sockets

    sockets = run(scenario())
    assert all(socket.renewed == 1 and socket.rescheduled == 1 for socket in sockets)
    assert 1 <= sum(socket.checks for socket in sockets) <= 4


@pytest.mark.parametrize("ending", ["closing", "collected"])
def test_a_socket_that_has_ended_is_dropped(ending):
    async def scenario():
        timers = SocketTimers(tick=0.01)
        socket = FakeSocket(None)
        timers.recheck_later(socket, 0.05)
        if ending == "closing":
            socket.closing = True
            kept = socket
        else:
            kept = None
            del socket
            gc.collect()
        await asyncio.sleep(0.2)
        return timers, kept

    timers, kept = run(scenario())
    assert timers.heap == []
    if kept is not None:
        assert kept.checks == 0


def test_the_heap_is_compacted_when_ended_sockets_outnumber_the_live_ones():
    async def scenario():
        timers = SocketTimers(tick=0.01)
        live = FakeSocket(None)
        timers.renew_later(live, 3600)
        for _ in range(3000):
            ended = FakeSocket(None)
            timers.renew_later(ended, 3600)
            ended.closing = True
        return len(timers.heap), live

    size, _ = run(scenario())
    assert size < 2 * 1 + 1024 + 2
