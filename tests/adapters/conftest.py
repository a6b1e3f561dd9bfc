"""Loopback servers for adapter tests: HTTP(S) routes, a black hole, open and closed ports.

Everything binds 127.0.0.1 on an ephemeral port and is torn down by the fixture.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme

from canned_server import Canned

SLOW_SECONDS = 5.0
"""How long ``/slow`` sleeps (far beyond any probe timeout used in tests)."""

BIG_BODY = 2 * 1_048_576
CERT_LIFETIME = timedelta(days=1)


class _Handler(BaseHTTPRequestHandler):
    """Routes:

    ``/ok`` JSON 200; ``/status/<code>``; ``/slow`` (sleeps SLOW_SECONDS);
    ``/redirect-once`` → ``/ok``; ``/redirect-loop`` → ``/loop/a`` ↔ ``/loop/b``;
    ``/chain/<n>`` → ``/chain/<n-1>`` … → ``/ok``; ``/big`` (2 MiB); ``/echo`` (method,
    ``X-Probe`` header and body as JSON); ``/work/<id>?ms=N`` (sleeps N ms, 200).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 10
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _route(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record(self.command, path, dict(self.headers), body)
        with self.server.track(path):
            if path == "/ok":
                self._json(200, {"status": "ok", "items": [1, 2]})
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), b"")
            elif path == "/slow":
                self.server.stopping.wait(SLOW_SECONDS)
                self._json(200, {"status": "slow"})
            elif path == "/redirect-once":
                self._redirect("/ok")
            elif path == "/redirect-loop":
                self._redirect("/loop/a")
            elif path == "/loop/a":
                self._redirect("/loop/b")
            elif path == "/loop/b":
                self._redirect("/loop/a")
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                self._redirect(f"/chain/{n - 1}" if n > 1 else "/ok")
            elif path == "/big":
                self._send(200, b"x" * BIG_BODY, "text/plain")
            elif path == "/echo":
                self._json(
                    200,
                    {
                        "method": self.command,
                        "header": self.headers.get("X-Probe"),
                        "body": body.decode(),
                    },
                )
            elif path.startswith("/work/"):
                ms = float(parse_qs(query).get("ms", ["0"])[0])
                self.server.stopping.wait(ms / 1000)
                self._json(200, {"path": path})
            else:
                self._send(404, b"not found", "text/plain")

    def _redirect(self, location: str) -> None:
        self._send(302, b"", headers={"Location": location})

    def _json(self, code: int, payload: object) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that records requests and counts connections and concurrency.

    ``peak["*"]`` is the most requests in flight at once over all paths; ``peak[path]``
    the most for one path.
    """

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.stopping = threading.Event()
        self.requests: list[Recorded] = []
        self.inflight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.connections = 0
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base + path

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))

    @contextlib.contextmanager
    def track(self, path: str) -> Iterator[None]:
        with self._lock:
            for key in ("*", path):
                self.inflight[key] += 1
                self.peak[key] = max(self.peak[key], self.inflight[key])
        try:
            yield
        finally:
            with self._lock:
                for key in ("*", path):
                    self.inflight[key] -= 1

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.connections += 1
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # the client refused our certificate: expected in TLS tests
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose (timeouts, unread bodies)


@contextlib.contextmanager
def _serve(tls: ssl.SSLContext | None = None) -> Iterator[LoopbackServer]:
    server = LoopbackServer(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A plain-HTTP loopback server with the routes listed on ``_Handler``."""
    with _serve() as server:
        yield server


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A throwaway certificate authority (not trusted by the system)."""
    return trustme.CA()


@dataclass
class TLSServer:
    """An HTTPS loopback server whose leaf certificate expires in CERT_LIFETIME."""

    server: LoopbackServer
    ca: trustme.CA
    not_after: datetime
    client_context: ssl.SSLContext = field(repr=False)

    def url(self, path: str) -> str:
        return self.server.url(path)


@pytest.fixture
def tls_server(tls_ca: trustme.CA) -> Iterator[TLSServer]:
    """HTTPS on 127.0.0.1 with a cert for ``127.0.0.1`` expiring in about a day."""
    not_after = (datetime.now(UTC) + CERT_LIFETIME).replace(microsecond=0)
    leaf = tls_ca.issue_cert("127.0.0.1", "localhost", not_after=not_after)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    tls_ca.configure_trust(client_ctx)
    with _serve(server_ctx) as server:
        yield TLSServer(server, tls_ca, not_after, client_ctx)


@pytest.fixture
def blackhole() -> Iterator[tuple[str, int]]:
    """A port that completes TCP handshakes but never answers (listens, never accepts)."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield "127.0.0.1", sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def not_http() -> Iterator[tuple[str, int]]:
    """A port that answers every connection with an SSH banner and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield "127.0.0.1", server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.fixture
def unanswered_syn() -> Iterator[tuple[str, int]]:
    """A port whose accept queue is full, so a new connect() waits on its SYN forever."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    address = server.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(address)
            fillers.append(filler)
        yield "127.0.0.1", address[1]
    finally:
        for filler in fillers:
            filler.close()
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server() -> Iterator[Canned]:
    """A :class:`canned_server.Canned` loopback server (routes set by the test)."""
    canned = Canned()
    try:
        yield canned
    finally:
        canned.close()
