"""Loopback stand-ins for the Prometheus adapter tests: a Grafana-like proxy and a fixed answer.

Grafana has no Debian package, so :class:`GrafanaProxy` plays its datasource proxy
(API-REFERENCE §3) in front of a REAL Prometheus: it checks ``Authorization: Bearer``,
forwards ``/api/datasources/proxy/uid/<uid>/<rest>`` to the upstream unchanged (status,
body and content type pass through), and answers with Grafana's own JSON ``{"message"}``
errors: 401 for a bad token, 403 ``Access denied to datasource``, 404 ``Unable to find
datasource``, 400 ``Authentication to data source failed`` (what Grafana turns an upstream
401 into) and 502 with an empty body when the upstream cannot be reached. ``/api/health``
answers 200, or 503 with ``"database": "failing"``.

:class:`FixedServer` answers every request with one canned response (e.g. Prometheus's
plain-text 503 while its TSDB loads).
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROXY_PREFIX = "/api/datasources/proxy/uid/"
_FORWARDED = ("Accept", "User-Agent", "Content-Type")


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _message(self, code: int, message: str) -> None:
        self._send(code, json.dumps({"message": message}).encode())


class _ProxyHandler(_Quiet):
    server: GrafanaProxy

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.server.seen.append((self.command, path, dict(self.headers)))
        if path == "/api/health":
            if self.server.database_failing:
                self._send(503, json.dumps({"database": "failing"}).encode())
            else:
                payload = {"commit": "83b9528bce", "database": "ok", "version": "11.3.0"}
                self._send(200, json.dumps(payload).encode())
            return
        if not path.startswith(PROXY_PREFIX):
            self._message(404, "Not found")
            return
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._send(
                401,
                json.dumps(
                    {
                        "message": "Invalid API key",
                        "messageId": "api-keys.invalid-key",
                        "statusCode": 401,
                    }
                ).encode(),
            )
            return
        uid, _, rest = path[len(PROXY_PREFIX) :].partition("/")
        if uid in self.server.forbidden_uids:
            self._message(403, "Access denied to datasource")
        elif uid in self.server.bad_credentials_uids:
            self._message(400, "Authentication to data source failed")
        elif uid != self.server.uid:
            self._message(404, "Unable to find datasource")
        else:
            self._forward(rest, query)

    do_POST = do_HEAD = do_GET

    def _forward(self, rest: str, query: str) -> None:
        url = f"{self.server.upstream}/{rest}" + (f"?{query}" if query else "")
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k in _FORWARDED}
        request = urllib.request.Request(url, data=data, headers=headers, method=self.command)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as response:
                body = response.read()
                code = response.status
                ctype = response.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as exc:
            with exc:
                body = exc.read()
                code = exc.code
                ctype = exc.headers.get("Content-Type", "text/plain")
            if code == 401:  # Grafana rewrites an upstream 401
                self._message(400, "Authentication to data source failed")
                return
        except OSError:
            self._send(502, b"", "text/plain")
            return
        self._send(code, body, ctype)


class GrafanaProxy(ThreadingHTTPServer):
    """A Grafana-like datasource proxy on 127.0.0.1 (see the module docstring).

    Attributes:
        upstream: The Prometheus base URL requests are forwarded to (may be changed).
        token: The only service-account token accepted.
        uid: The datasource uid that exists and is allowed.
        forbidden_uids: Uids answered with 403 ``Access denied to datasource``.
        bad_credentials_uids: Uids answered with 400 ``Authentication to data source failed``.
        database_failing: Makes ``/api/health`` answer 503.
        seen: ``(method, path, headers)`` of every request received.
    """

    daemon_threads = True

    def __init__(
        self,
        upstream: str,
        *,
        token: str,
        uid: str = "prom",
        forbidden_uids: tuple[str, ...] = ("locked",),
        bad_credentials_uids: tuple[str, ...] = ("badcreds",),
    ) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.token = token
        self.uid = uid
        self.forbidden_uids = forbidden_uids
        self.bad_credentials_uids = bad_credentials_uids
        self.database_failing = False
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose (timeouts)


class _FixedHandler(_Quiet):
    server: FixedServer

    def do_GET(self) -> None:
        self.server.hits += 1
        self.server.headers.append(dict(self.headers))
        self._send(self.server.status, self.server.body, self.server.content_type)

    do_POST = do_HEAD = do_GET


class FixedServer(ThreadingHTTPServer):
    """Answers every request with the same status, body and content type.

    Attributes:
        hits: Requests answered so far.
        headers: The headers of each request.
    """

    daemon_threads = True

    def __init__(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        super().__init__(("127.0.0.1", 0), _FixedHandler)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.hits = 0
        self.headers: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[Any]:
    """Serve ``server`` from a thread for the duration of the block, then close it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
