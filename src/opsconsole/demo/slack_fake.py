"""A Slack incoming-webhook receiver, served on 127.0.0.1 from a thread.

Used by the adapter tests and by ``opsconsole demo``. It copies what Slack does with an
incoming webhook (API-REFERENCE §5):

* ``POST /services/T000/B000/<secret>`` with a JSON body. The secret is random per
  instance, so tests can use it as a canary: it must never show up in an error text.
* Success is **200 with the plain-text body ``ok``**; errors are an HTTP status with a
  plain-text body (``invalid_payload``, ``no_text``, ``invalid_token``, ``no_service``,
  ``channel_is_archived``, ``rollup_error``), never JSON.
* A body that is not a JSON object is ``400 invalid_payload``; one without a non-blank
  ``"text"`` is ``400 no_text``. Any other path is ``404 no_service``.

Faults are injected with :meth:`SlackFake.inject` and answer the next requests in order.
Delivered payloads land in :attr:`SlackFake.messages`; every answer's status code in
:attr:`SlackFake.statuses`. "Unreachable" is simply :meth:`SlackFake.stop` (the port is
then closed and connections are refused).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args

__all__ = ["FAULTS", "SlackFake", "SlackFault"]

SlackFault = Literal["400", "403", "404", "410", "429", "500", "slow", "200_not_ok"]
"""What :meth:`SlackFake.inject` can make a request answer with."""

FAULTS: tuple[str, ...] = get_args(SlackFault)

_FAULT_ANSWERS: dict[str, tuple[int, str]] = {
    "400": (400, "invalid_payload"),
    "403": (403, "invalid_token"),
    "404": (404, "no_service"),
    "410": (410, "channel_is_archived"),
    "429": (429, "rate_limited"),
    "500": (500, "rollup_error"),
    "200_not_ok": (200, "<html><body>Sign in to continue</body></html>"),
}
RETRY_AFTER_SECONDS = 1
"""The ``Retry-After`` an injected 429 carries."""

MAX_BODY = 1_048_576


class SlackFake:
    """A fake Slack incoming webhook; :meth:`start` it, then post to :attr:`webhook_url`.

    Attributes:
        messages: The JSON payloads accepted (answered ``200 ok``), in arrival order.
        statuses: The status code of every answer, in order (faults included).
        slow_seconds: How long a ``"slow"`` fault waits before answering ``200 ok``
            (cut short by :meth:`stop`). The payload is still recorded, as Slack would
            deliver a message whose answer the client gave up waiting for.
    """

    def __init__(self, *, slow_seconds: float = 5.0) -> None:
        """Prepare the fake (nothing listens until :meth:`start`)."""
        self.secret = secrets.token_urlsafe(18)
        self.path = f"/services/T000/B000/{self.secret}"
        self.slow_seconds = slow_seconds
        self.messages: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        """Never shows the secret."""
        return f"SlackFake(port={self._port}, messages={len(self.messages)})"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackFake:
        """Bind 127.0.0.1:0 and serve from a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (slow answers are cut short). Idempotent."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackFake:
        """Start and return the fake."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the fake."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (still known after :meth:`stop`, when it is closed)."""
        assert self._port is not None, "start() first"
        return self._port

    @property
    def webhook_url(self) -> str:
        """``http://127.0.0.1:PORT/services/T000/B000/<secret>``."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    # -- faults ------------------------------------------------------------------------------

    def inject(self, kind: SlackFault, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``kind`` (queued after earlier faults).

        Kinds: ``"400"`` invalid_payload, ``"403"`` invalid_token, ``"404"`` no_service,
        ``"410"`` channel_is_archived, ``"429"`` with ``Retry-After: 1``, ``"500"``
        rollup_error, ``"slow"`` (wait :attr:`slow_seconds`, then ``200 ok``) and
        ``"200_not_ok"`` (a 200 whose body is an HTML page, as from a captive proxy).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown Slack fault {kind!r}; expected one of {FAULTS}")
        with self._lock:
            self._faults.extend([kind] * times)

    def clear_faults(self) -> None:
        """Drop the faults not used yet."""
        with self._lock:
            self._faults.clear()

    # -- request handling (server threads) ---------------------------------------------------

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _answer(self, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        """Status, plain-text body and extra headers for one POST."""
        if path != self.path:
            return 404, "no_service", {}
        fault = self._next_fault()
        if fault in _FAULT_ANSWERS:
            status, text = _FAULT_ANSWERS[fault]
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 429 else {}
            return status, text, headers
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, "invalid_payload", {}
        if not isinstance(payload, dict):
            return 400, "invalid_payload", {}
        fallback = payload.get("text")
        if not isinstance(fallback, str) or not fallback.strip():
            return 400, "no_text", {}
        if fault == "slow":
            self._stopping.wait(self.slow_seconds)
        with self._lock:
            self.messages.append(payload)
        return 200, "ok", {}

    def _record_status(self, status: int) -> None:
        with self._lock:
            self.statuses.append(status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose (timeouts); nothing worth a traceback


def _make_handler(fake: SlackFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "slack-fake"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the default would print the request line, secret path included

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, "request_too_large")
                return
            body = self.rfile.read(length) if length else b""
            status, text, headers = fake._answer(self.path, body)
            self._send(status, text, headers)

        def do_GET(self) -> None:
            self._send(405, "invalid_method")

        do_PUT = do_DELETE = do_PATCH = do_GET

        def _send(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
            fake._record_status(status)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if text.startswith("<") else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (timeout)
                self.wfile.write(data)

    return Handler
