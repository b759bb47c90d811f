"""One client process of bench/websocket_fanout.py's held sockets: opens tracking sockets and
holds them, answering the server's pings, until told to close them.

    python bench/_socket_holder.py ws://127.0.0.1:8000 <order id>[,<order id>...]   (a token on stdin's first line)

Then one command a line on stdin, one answer a line on stdout (JSON):

- `open N`: open N more sockets (at most 250 handshakes at a time), spread over the orders;
  answers `{"held": ..., "failed": ..., "failures": {...}}`;
- `check`: answers `{"held": ..., "open": <still open>, "events": <events received>}`;
- `close`: closes every socket, answers, and exits.

Several of these hold the sockets of one run, so that the clients are not what is measured: one
Python process reading thousands of sockets would be the bottleneck before the server is. The
sockets open from 127.0.0.<n> (`--source`), so that the run is not limited by one address's
ephemeral ports.
"""

import argparse
import asyncio
import json
import resource
import sys

import websockets

AT_ONCE = 250


class Holder:
    def __init__(self, base: str, orders: list[str], token: str, source: str) -> None:
        self.base = base
        self.orders = orders
        self.token = token
        self.source = source
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []
        self.failed = 0
        self.failures: dict[str, int] = {}
        self.events = 0

    async def open(self, count: int) -> None:
        for start in range(0, count, AT_ONCE):
            batch = min(AT_ONCE, count - start)
            first = len(self.sockets) + self.failed
            outcomes = await asyncio.gather(
                *(self._open(self.orders[(first + n) % len(self.orders)]) for n in range(batch)),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    self.failed += 1
                    name = type(outcome).__name__
                    self.failures[name] = self.failures.get(name, 0) + 1
                else:
                    self.sockets.append(outcome)
                    self.readers.append(asyncio.create_task(self._read(outcome)))

    async def _open(self, order_id: str):
        connection = await websockets.connect(
            f"{self.base}/ws/orders/{order_id}/?token={self.token}",
            open_timeout=120,
            max_queue=None,
            ping_interval=None,  # the server pings; the client answers
            local_addr=(self.source, 0),
        )
        snapshot = json.loads(await asyncio.wait_for(connection.recv(), 120))
        if snapshot.get("type") != "snapshot":
            await connection.close()
            raise RuntimeError(f"no snapshot: {snapshot}")
        return connection

    async def _read(self, connection) -> None:
        try:
            async for _ in connection:
                self.events += 1
        except websockets.ConnectionClosed:
            pass

    def still_open(self) -> int:
        return sum(connection.close_code is None for connection in self.sockets)

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.sockets), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


async def serve(holder: Holder) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if not line or line == "close":
            await holder.close()
            answer: dict = {"closed": len(holder.sockets)}
            try:
                print(json.dumps(answer), flush=True)
            except BrokenPipeError:  # the benchmark is gone already; the sockets are closed
                pass
            return
        command, _, argument = line.partition(" ")
        if command == "open":
            await holder.open(int(argument))
            answer = {"held": len(holder.sockets), "failed": holder.failed, "failures": holder.failures}
        elif command == "check":
            answer = {"held": len(holder.sockets), "open": holder.still_open(), "events": holder.events}
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("orders")
    parser.add_argument("--source", default="127.0.0.1")
    args = parser.parse_args()
    token = sys.stdin.readline().strip()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(Holder(args.base, args.orders.split(","), token, args.source)))


if __name__ == "__main__":
    main()
