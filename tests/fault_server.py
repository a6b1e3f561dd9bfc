"""A loopback server that misbehaves on demand, for the fault-injection and canary tests.

:class:`FaultServer` listens on 127.0.0.1 from a thread and answers every connection with
its *healthy* answer (a per-source callable) until a fault is set with
:meth:`FaultServer.set_fault`:

* ``refuse``: the listening socket is closed, so connections are refused; any other
  setting listens again on the same port.
* ``hang``: accept and read the request, never answer (until the client gives up).
* ``drip``: send the healthy answer one byte every 0.5 s.
* ``401``, ``403``, ``404``, ``500``: that status with a short plain-text body;
  ``429`` also carries ``Retry-After: 1``.
* ``502-html``: a 502 with a proxy's HTML error page.
* ``truncated-json``, ``invalid-json``: a 200 ``application/json`` whose body is cut off
  half-way, or is not JSON at all.
* ``huge-body``: a 200 with 20 MB of JSON that is no source's answer.

The server speaks just enough HTTP/1.1 (every answer closes the connection), and with
``protocol="smtp"`` or ``"imap"`` just enough of those protocols for the stdlib clients
to send one message or poll an empty mailbox. Their faults (:data:`MAIL_FAULTS`) are the
mail protocols' versions of the HTTP ones: ``refuse`` and ``hang`` as above; ``drip``
(every line one byte per 0.5 s); ``auth`` (every login refused, the 401/403 of mail);
``busy`` (a 421 greeting, or IMAP's ``* BYE``: the 429/503); ``garbage`` (a greeting that
is not the protocol: the invalid JSON); ``truncated`` (half a greeting, then the
connection closes); ``huge`` (a 20 MB greeting line). Every HTTP request is recorded in
:attr:`FaultServer.requests`; every SMTP ``DATA`` in :attr:`FaultServer.mail`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

FAULTS = (
    "refuse",
    "hang",
    "drip",
    "401",
    "403",
    "404",
    "429",
    "500",
    "502-html",
    "truncated-json",
    "invalid-json",
    "huge-body",
)
"""Every fault an HTTP server can be switched to."""

MAIL_FAULTS = ("refuse", "hang", "drip", "auth", "busy", "garbage", "truncated", "huge")
"""Every fault an SMTP or IMAP server can be switched to."""

DRIP_SECONDS = 0.5
HUGE_BYTES = 20 * 1024 * 1024

_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_HTML_502 = (
    b"<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    b"<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n"
    b"</body>\n</html>\n"
)
_TRUNCATED = b'{"status": "success", "data": {"resultType": "vector", "result": [{"metr'
_INVALID = b"{'status': ok, \"data\": [1, 2,, ]} <- not JSON"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: object, status: int = 200, **headers: str) -> Answer:
        """A JSON answer."""
        return cls(status, json.dumps(value).encode(), "application/json", dict(headers))

    def encode(self) -> bytes:
        """The full response, status line to body."""
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True)
class Request:
    """One recorded HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fault: str | None = None
    """The fault the server was set to when the request arrived (None: healthy)."""


Healthy = Callable[[Request], Answer]


_huge: bytes | None = None


def huge_body() -> bytes:
    """20 MB of valid JSON (a list of 1 KB strings under one key), built once."""
    global _huge
    if _huge is None:
        item = b'"' + b"x" * 1000 + b'"'
        count = HUGE_BYTES // (len(item) + 1)
        _huge = b'{"padding": [' + b",".join([item] * count) + b"]}"
    return _huge


def fault_answer(fault: str) -> Answer:
    """The canned answer of an HTTP fault that answers at all."""
    if fault in ("401", "403", "404", "500"):
        code = int(fault)
        return Answer(code, f"{code} {_REASONS[code]}\n".encode(), "text/plain; charset=utf-8")
    if fault == "429":
        body = b"429 Too Many Requests\n"
        return Answer(429, body, "text/plain; charset=utf-8", {"Retry-After": "1"})
    if fault == "502-html":
        return Answer(502, _HTML_502, "text/html")
    if fault == "truncated-json":
        return Answer(200, _TRUNCATED)
    if fault == "invalid-json":
        return Answer(200, _INVALID)
    if fault == "huge-body":
        return Answer(200, huge_body())
    raise ValueError(f"unknown fault {fault!r}")


class FaultServer:
    """A loopback server whose answers can be switched between healthy and faulty.

    Args:
        healthy: the healthy HTTP answer to a request (ignored for smtp/imap).
        protocol: ``http``, ``smtp`` (a minimal server that accepts AUTH and one message
            per connection) or ``imap`` (LOGIN, SELECT and an empty ``UID SEARCH``).
    """

    def __init__(
        self,
        healthy: Healthy | None = None,
        *,
        protocol: Literal["http", "smtp", "imap"] = "http",
    ) -> None:
        self.healthy = healthy or (lambda request: Answer.json({"status": "ok"}))
        self.protocol = protocol
        self.fault: str | None = None
        self.requests: list[Request] = []
        self.mail: list[bytes] = []
        self.logins: list[str] = []
        self.reject_login = False
        """smtp/imap: refuse every login, quoting the credentials back (a hostile server)."""
        self.port = 0
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stop_accepting = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FaultServer:
        """Listen on 127.0.0.1 (an ephemeral port the first time)."""
        self._listen()
        return self

    def stop(self) -> None:
        """Stop listening and end every connection."""
        self._stopped.set()
        self._close_listener()
        for thread in list(self._connections):
            thread.join(5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def set_fault(self, fault: str | None) -> None:
        """Misbehave from the next connection on (``None``: healthy again)."""
        known = FAULTS if self.protocol == "http" else MAIL_FAULTS
        if fault is not None and fault not in known:
            raise ValueError(f"unknown {self.protocol} fault {fault!r}")
        self.fault = fault
        if fault == "refuse":
            self._close_listener()
        elif self._listener is None and not self._stopped.is_set():
            self._listen()

    def heal(self) -> None:
        """Answer healthily again."""
        self.set_fault(None)

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        sock.settimeout(0.05)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._stop_accepting = threading.Event()
        self._accepting = threading.Thread(
            target=self._accept_loop, args=(sock, self._stop_accepting), daemon=True
        )
        self._accepting.start()

    def _close_listener(self) -> None:
        if self._listener is None:
            return
        self._stop_accepting.set()
        if self._accepting is not None:
            self._accepting.join(5)
        self._listener.close()
        self._listener = None

    def _accept_loop(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._connections = [t for t in self._connections if t.is_alive()]
                self._connections.append(thread)
            thread.start()

    # -- serving -------------------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        try:
            with conn:
                if self.protocol == "http":
                    self._serve_http(conn)
                elif self.fault == "hang":
                    self._hang(conn, "hang")
                elif self.fault in _GREETING_FAULTS:
                    self._bad_greeting(conn, self.fault)
                else:
                    dripping = self.fault == "drip"
                    lines = _Lines(
                        conn, self._stopped, drip=self._still("drip") if dripping else None
                    )
                    if self.protocol == "smtp":
                        self._serve_smtp(lines)
                    else:
                        self._serve_imap(lines)
        except (OSError, EOFError):
            pass  # the client went away: nothing to do

    def _still(self, fault: str) -> Callable[[], bool]:
        """Whether the server is still running with ``fault`` set."""
        return lambda: not self._stopped.is_set() and self.fault == fault

    def _bad_greeting(self, conn: socket.socket, fault: str) -> None:
        """busy, garbage, truncated, huge: a greeting that ends the conversation."""
        smtp = self.protocol == "smtp"
        if fault == "busy":
            conn.sendall(
                b"421 4.3.2 Too many connections, try again later\r\n"
                if smtp
                else b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
            )
        elif fault == "garbage":
            conn.sendall(b"\x16\x03\x01\x00HTTP/1.1 502 Bad Gateway <html>\x1b[2J\xff\r\n")
        elif fault == "truncated":
            conn.sendall(b"220 faults.te" if smtp else b"* OK [CAPABILITY IMA")
        else:  # huge: one line of 20 MB, sent until the client stops reading
            conn.settimeout(5)
            chunk = b"x" * 65536
            sent = 0
            while sent < HUGE_BYTES and self._still(fault)():
                conn.sendall(chunk)
                sent += len(chunk)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)

    def _hang(self, conn: socket.socket, fault: str) -> None:
        """Hold the connection, answering nothing, until the client closes it."""
        while not self._stopped.is_set() and self.fault == fault:
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue

    def _serve_http(self, conn: socket.socket) -> None:
        request = _read_request(conn, self._stopped)
        if request is None:
            return
        fault = self.fault
        self.requests.append(replace(request, fault=fault))
        if fault == "hang":
            self._hang(conn, fault)
            return
        if fault == "drip":
            for byte in self.healthy(request).encode():
                if self._stopped.is_set() or self.fault != "drip":
                    return
                conn.sendall(bytes([byte]))
                time.sleep(DRIP_SECONDS)
            return
        answer = self.healthy(request) if fault is None else fault_answer(fault)
        conn.settimeout(10)
        conn.sendall(answer.encode())
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(1)
            while conn.recv(65536):  # let the client read everything before closing
                pass

    def _serve_smtp(self, lines: _Lines) -> None:
        lines.send(b"220 faults.test ESMTP ready")
        while True:
            line = lines.read()
            if line is None:
                return
            verb = line.split(b" ", 1)[0].upper()
            if verb in (b"EHLO", b"HELO"):
                lines.send(b"250-faults.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
            elif verb == b"AUTH":
                self.logins.append(line.decode("latin-1"))
                if self.reject_login or self.fault == "auth":
                    echo = _decoded_auth(line)
                    lines.send(b"535 5.7.8 Authentication failed for " + echo)
                else:
                    lines.send(b"235 2.7.0 Authentication successful")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                lines.send(b"250 OK")
            elif verb == b"DATA":
                lines.send(b"354 End data with <CR><LF>.<CR><LF>")
                data: list[bytes] = []
                while (part := lines.read()) not in (None, b"."):
                    assert part is not None
                    data.append(part)
                self.mail.append(b"\r\n".join(data))
                lines.send(b"250 OK: queued")
            elif verb == b"QUIT":
                lines.send(b"221 Bye")
                return
            else:
                lines.send(b"502 Command not implemented")

    def _serve_imap(self, lines: _Lines) -> None:
        lines.send(b"* OK [CAPABILITY IMAP4rev1] faults.test ready")
        while True:
            line = lines.read()
            if line is None:
                return
            tag, _, rest = line.partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if command == b"CAPABILITY":
                lines.send(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK CAPABILITY completed")
            elif command == b"LOGIN":
                self.logins.append(rest.decode("latin-1"))
                if self.reject_login or self.fault == "auth":
                    lines.send(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials: " + rest)
                else:
                    lines.send(tag + b" OK LOGIN completed")
            elif command in (b"SELECT", b"EXAMINE"):
                lines.send(
                    b"* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n"
                    + tag
                    + b" OK [READ-ONLY] SELECT completed"
                )
            elif command == b"UID":
                lines.send(b"* SEARCH\r\n" + tag + b" OK UID completed")
            elif command == b"CLOSE":
                lines.send(tag + b" OK CLOSE completed")
            elif command == b"LOGOUT":
                lines.send(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed")
                return
            else:
                lines.send(tag + b" BAD unknown command")


class _Lines:
    """CRLF lines over a socket with a short poll timeout (for the mail protocols).

    With ``drip``, every line goes out one byte per ``DRIP_SECONDS`` for as long as
    ``drip()`` says so (the fault is still set), and the rest at once after that.
    """

    def __init__(
        self,
        conn: socket.socket,
        stopped: threading.Event,
        drip: Callable[[], bool] | None = None,
    ) -> None:
        self._conn = conn
        self._stopped = stopped
        self._drip = drip
        self._buffer = b""

    def send(self, data: bytes) -> None:
        data += b"\r\n"
        while self._drip is not None and self._drip() and data:
            self._conn.sendall(data[:1])
            data = data[1:]
            time.sleep(DRIP_SECONDS)
        self._conn.sendall(data)

    def read(self) -> bytes | None:
        while b"\r\n" not in self._buffer:
            if self._stopped.is_set():
                return None
            try:
                chunk = self._conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line


_GREETING_FAULTS = ("busy", "garbage", "truncated", "huge")


def _decoded_auth(line: bytes) -> bytes:
    """``AUTH PLAIN <base64>`` / ``AUTH LOGIN <base64>`` with the base64 decoded."""
    parts = line.split()
    try:
        return base64.b64decode(parts[2]).replace(b"\0", b" ") if len(parts) > 2 else line
    except ValueError:
        return line


def _read_request(conn: socket.socket, stopped: threading.Event) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        if stopped.is_set() or len(data) > 1_000_000:
            return None
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*request_line.split(" "), "", ""][:3]
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length and not stopped.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


@contextlib.contextmanager
def serving(healthy: Healthy | None = None, **kwargs: object) -> Iterator[FaultServer]:
    """A started :class:`FaultServer`, stopped on exit."""
    server = FaultServer(healthy, **kwargs)  # type: ignore[arg-type]
    with server:
        yield server
