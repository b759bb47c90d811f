"""A real HTTP receiver on loopback, in a thread of the test process, with scripted answers."""

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    location: str = ""


@dataclass
class Received:
    headers: dict
    body: bytes
    status: int
    answered_at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Answers each POST with the next scripted Answer (then `default`), and remembers what it took in."""

    def __init__(self, *script: Answer, default: Answer | None = None, tls: tuple[str, str] | None = None) -> None:
        self.script = list(script)
        self.default = default or Answer()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                with receiver.lock:
                    receiver.received.append(Received(dict(self.headers.items()), body, answer.status))
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    if answer.location:
                        self.send_header("Location", answer.location)
                    reply = json.dumps({"status": answer.status}).encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.url_for("127.0.0.1")

    def url_for(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.server.server_address[1]}/hooks/orderflow?source=test"

    def accepted(self) -> list[Received]:
        """What the receiver processed (answered 2xx), each event id once, in the order it first arrived."""
        seen, unique = set(), []
        with self.lock:
            for received in self.received:
                event_id = received.headers.get("X-Orderflow-Event-Id")
                if 200 <= received.status < 300 and event_id not in seen:
                    seen.add(event_id)
                    unique.append(received)
        return unique

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
