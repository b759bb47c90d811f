"""config.asgi_limits.WebSocketHandshakeLimit: only so many sockets of a process in their handshake
at once; the others wait before their connect handler runs, and one whose client leaves while it
waits is given its disconnect instead: its connect handler never runs."""

import asyncio

from config.asgi_limits import WebSocketHandshakeLimit


class Client:
    """One socket's side of the ASGI connection: what the server hands the application, and
    what the application sent."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        return await self.incoming.get()

    async def send(self, message: dict) -> None:
        self.sent.append(message)


class HeldHandshakes:
    """An application whose connect handler waits until the test lets it finish, then accepts (or
    refuses, for a client told so) and serves messages as a consumer does until disconnected."""

    def __init__(self) -> None:
        self.in_handshake: set[int] = set()
        self.entered: list[int] = []
        self.finish: dict[int, asyncio.Event] = {}
        self.refuse: set[int] = set()
        self.fail: set[int] = set()

    async def __call__(self, scope, receive, send):
        number = scope["number"]
        first = await receive()
        if first["type"] == "websocket.disconnect":
            return
        assert first["type"] == "websocket.connect"
        self.entered.append(number)
        self.in_handshake.add(number)
        self.finish.setdefault(number, asyncio.Event())
        await self.finish[number].wait()
        self.in_handshake.discard(number)
        if number in self.fail:
            raise RuntimeError("the connect handler failed")
        if number in self.refuse:
            await send({"type": "websocket.close", "code": 4403})
            return
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def open_sockets(limit: WebSocketHandshakeLimit, count: int) -> tuple[list[Client], list[asyncio.Task]]:
    clients = [Client() for _ in range(count)]
    tasks = [
        asyncio.ensure_future(limit({"type": "websocket", "number": n}, client.receive, client.send))
        for n, client in enumerate(clients)
    ]
    return clients, tasks


async def finished_and_accepted(app: HeldHandshakes, clients: list[Client], tasks: list[asyncio.Task], n: int) -> bool:
    """Let socket `n`'s connect handler finish, then its client leave: was it accepted?"""
    app.finish.setdefault(n, asyncio.Event()).set()
    await settle()
    clients[n].incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(tasks[n], 5)
    return clients[n].sent == [{"type": "websocket.accept"}]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_sockets_past_the_limit_wait_for_a_handshake_to_finish():
    async def scenario():
        app = HeldHandshakes()
        clients, tasks = open_sockets(WebSocketHandshakeLimit(app, limit=2), 4)
        await settle()
        assert app.entered == [0, 1]

        app.finish.setdefault(0, asyncio.Event()).set()
        await settle()
        # The first socket is open and receiving; its turn went to the next in line.
        assert clients[0].sent == [{"type": "websocket.accept"}]
        assert app.entered == [0, 1, 2]
        assert app.in_handshake == {1, 2}

        for number in (1, 2, 3):
            app.finish.setdefault(number, asyncio.Event()).set()
        await settle()
        assert app.entered == [0, 1, 2, 3]
        assert all(client.sent == [{"type": "websocket.accept"}] for client in clients)
        for client in clients:
            client.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(asyncio.gather(*tasks), 5)

    asyncio.run(scenario())


def test_a_socket_whose_client_leaves_while_waiting_never_runs():
    async def scenario():
        app = HeldHandshakes()
        clients, tasks = open_sockets(WebSocketHandshakeLimit(app, limit=1), 3)
        await settle()
        clients[1].incoming.put_nowait({"type": "websocket.disconnect", "code": 1006})
        await asyncio.wait_for(tasks[1], 5)

        app.finish.setdefault(0, asyncio.Event()).set()
        app.finish.setdefault(2, asyncio.Event()).set()
        await settle()
        assert app.entered == [0, 2]
        assert clients[1].sent == []
        for client in (clients[0], clients[2]):
            client.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(asyncio.gather(tasks[0], tasks[2]), 5)

    asyncio.run(scenario())


def test_a_refused_socket_gives_its_turn_to_the_next():
    async def scenario():
        app = HeldHandshakes()
        app.refuse.add(0)
        clients, tasks = open_sockets(WebSocketHandshakeLimit(app, limit=1), 2)
        await settle()
        app.finish.setdefault(0, asyncio.Event()).set()
        await asyncio.wait_for(tasks[0], 5)
        await settle()
        assert clients[0].sent == [{"type": "websocket.close", "code": 4403}]
        assert app.entered == [0, 1]
        assert await finished_and_accepted(app, clients, tasks, 1)

    asyncio.run(scenario())


def test_an_application_that_fails_in_its_connect_handler_gives_its_turn_back():
    async def scenario():
        app = HeldHandshakes()
        app.fail.add(0)
        clients, tasks = open_sockets(WebSocketHandshakeLimit(app, limit=1), 2)
        await settle()
        assert app.entered == [0]
        app.finish.setdefault(0, asyncio.Event()).set()
        await asyncio.gather(tasks[0], return_exceptions=True)
        await settle()
        assert app.entered == [0, 1]
        assert await finished_and_accepted(app, clients, tasks, 1)

    asyncio.run(scenario())


def test_http_passes_through():
    async def scenario():
        seen = []

        async def app(scope, receive, send):
            seen.append(scope["type"])

        await WebSocketHandshakeLimit(app, limit=1)({"type": "http"}, None, None)
        assert seen == ["http"]

    asyncio.run(scenario())
