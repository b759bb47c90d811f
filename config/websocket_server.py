"""One WebSocket server process: daphne, with a graceful shutdown.

    python -m config.websocket_server -e tcp:port=8101:interface=127.0.0.1:backlog=4096 config.asgi:application

Takes daphne's own options. On SIGTERM (or SIGINT) it stops listening, so the proxy sends new
handshakes to the other processes; sends every open socket a close frame with code 1012
(Service Restart: reconnect, with `after` = the last sequence received, and miss nothing);
waits up to `ORDERFLOW_WS_DRAIN_SECONDS` (5) for the clients to finish the closing handshake;
then stops the consumers and exits, waiting at most `ORDERFLOW_WS_STOP_SECONDS` (3) for them.

`backlog` in the endpoint is the listen queue: a reconnect storm (every client of a restarted
process at once) queues up there instead of being refused.
"""

import asyncio
import logging
import os
import sys
import time
from functools import partial
from types import SimpleNamespace
from typing import Any

import uvloop

# uvloop's event loop under Twisted's asyncio reactor, which daphne installs on a loop it creates
# when daphne.server is first imported (below): registering a socket for writing, waking a task
# and running a callback then happen in C. Each frame sent registers its socket with the loop
# and unregisters it once written; a hot order's fan-out cost about a third less CPU time.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

import autobahn.util  # noqa: E402
from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.server import Server  # noqa: E402
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from twisted.web.http import HTTPChannel  # noqa: E402

from config.gc_tuning import tune_garbage_collection  # noqa: E402
from core.light_queue import LightQueue  # noqa: E402

logger = logging.getLogger("orderflow.websocket_server")

# RFC 6455 registry: 1012 Service Restart. autobahn's sendClose only lets 1000 and 3000-4999
# through, so the frame is sent with sendCloseFrame, which performs the same closing handshake.
CLOSE_SERVICE_RESTART = 1012
CLOSE_REASON = b"server restarting; reconnect with after"


# autobahn formats the arguments of a debug log line for every frame it sends, with click's
# colours, whether or not debug logging is on; uncoloured, that formatting costs a fraction.
autobahn.util._HAS_CLICK = False


class LeanWebSocketProtocol(WebSocketProtocol):
    """daphne's protocol, letting go of its handshake once the socket is open: autobahn keeps the
    raw request, its headers and parameters (the token among them) for the socket's life, though
    it reads them only while shaking hands; daphne keeps the request for its path."""

    HANDSHAKE_ONLY = (
        "http_request_data",
        "http_response_data",
        "http_headers",
        "http_request_params",
        "http_request_uri",
        "http_status_line",
    )

    def onOpen(self):
        super().onOpen()
        for name in self.HANDSHAKE_ONLY:
            self.__dict__.pop(name, None)
        request: Any = self.__dict__["request"]
        self.request = SimpleNamespace(path=request.path)


WebSocketFactory.protocol = LeanWebSocketProtocol


class GracefulServer(Server):
    def run(self):
        self.ports = []
        tune_garbage_collection()  # config/gc_tuning.py: a hot order's tail was mostly collections
        super().run()

    def create_application(self, protocol, scope):
        """daphne's, with a light queue for the client's messages (core/light_queue.py): a socket
        held all day should not keep an asyncio.Queue's deques and Event."""
        assert "application_instance" not in self.connections[protocol]  # noqa: S101 -- as daphne's
        transport: Any = getattr(protocol, "transport", None)
        if isinstance(getattr(transport, "producer", None), HTTPChannel):
            # The HTTP connection the socket was upgraded from registered itself as the
            # transport's producer: released, it goes with its request and their headers.
            transport.unregisterProducer()
        input_queue = LightQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(application_instance)
        return input_queue

    def listen_success(self, port):
        self.ports.append(port)
        super().listen_success(port)

    def kill_all_applications(self):
        drain_seconds = float(os.environ.get("ORDERFLOW_WS_DRAIN_SECONDS", "5"))
        stop_seconds = float(os.environ.get("ORDERFLOW_WS_STOP_SECONDS", "3"))

        def stop_consumers(_):
            stopped = super(GracefulServer, self).kill_all_applications()
            # A consumer stuck in a thread must not keep the process alive.
            stopped.addTimeout(stop_seconds, reactor)
            stopped.addErrback(lambda failure: logger.warning("shutdown: consumers not stopped: %s", failure))
            return stopped

        return self.close_sockets(drain_seconds).addCallback(stop_consumers)

    def close_sockets(self, drain_seconds: float) -> defer.Deferred:
        for port in self.ports:
            port.stopListening()
        sockets = [
            protocol
            for protocol in self.connections
            if isinstance(protocol, WebSocketProtocol) and protocol.state == WebSocketProtocol.STATE_OPEN
        ]
        for protocol in sockets:
            protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, reasonUtf8=CLOSE_REASON, isReply=False)
        logger.warning("shutdown: closing %s sockets with %s", len(sockets), CLOSE_SERVICE_RESTART)
        done: defer.Deferred[None] = defer.Deferred()
        give_up = time.monotonic() + drain_seconds

        def check():
            if all(protocol.state == WebSocketProtocol.STATE_CLOSED for protocol in sockets):
                done.callback(None)
            elif time.monotonic() >= give_up:
                open_count = sum(protocol.state != WebSocketProtocol.STATE_CLOSED for protocol in sockets)
                logger.warning("shutdown: %s sockets still open after %ss", open_count, drain_seconds)
                done.callback(None)
            else:
                reactor.callLater(0.05, check)  # type: ignore[arg-type]  # twisted types the module as its interfaces

        check()
        return done


class GracefulCommandLineInterface(CommandLineInterface):
    server_class = GracefulServer


if __name__ == "__main__":
    GracefulCommandLineInterface().run(sys.argv[1:])
