"""A loopback HTTP server answering each path with a canned ``(status, headers, body)``.

Routes are ``route(query, body) -> (status, headers, body)`` with the query as a list of
``(name, value)`` pairs (repeated parameters such as Sentry's ``project=`` kept); a body
that is not bytes is sent as JSON. Unknown paths get Prometheus's plain-text 404. Every
request is recorded as ``(method, path, query, body, headers)``. The ``server`` fixture
(``tests/adapters/conftest.py``) starts one per test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, dict[str, str], Any]
Route = Callable[[list[tuple[str, str]], bytes], Answer]


class Canned(ThreadingHTTPServer):
    """The server; ``routes`` maps a path to its route."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, list[tuple[str, str]], bytes, dict[str, str]]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Canned

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qsl(parts.query, keep_blank_values=True)
        self.server.requests.append((self.command, parts.path, query, body, dict(self.headers)))
        route = self.server.routes.get(parts.path)
        if route is None:
            status, headers, out = 404, {"Content-Type": "text/plain"}, b"404 page not found"
        else:
            status, headers, out = route(query, body)
        if not isinstance(out, bytes):
            out = json.dumps(out).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
