"""A demo of the guide's AI Governance API, served on 127.0.0.1 from a thread.

``/health`` goes unhealthy for a while now and then (a 503 with ``{"status": "down"}``),
``/dashboard`` is an HTML page, ``/v1/slow`` answers in about 1.2 s, ``/v1/check``
wants a Bearer key (401 without one), and ``/metrics`` exposes request counters and
latency histograms made with prometheus_client. A background thread generates
synthetic traffic so the metrics move.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

HEALTHY_FOR = 45.0  # seconds per cycle that /health is ok
UNHEALTHY_FOR = 20.0  # then this many seconds of 503
SLOW_SECONDS = 1.2


class DemoMetrics:
    """The API's own Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled by the AI Governance API.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)


class DemoApi:
    """The demo API server. ``start()`` binds an ephemeral port; ``stop()`` shuts down."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 7,
        healthy_for: float = HEALTHY_FOR,
        unhealthy_for: float = UNHEALTHY_FOR,
    ) -> None:
        self.clock = clock
        self.healthy_for = healthy_for
        self.unhealthy_for = unhealthy_for
        self.metrics = DemoMetrics()
        self._started = clock()
        self._rng = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    def healthy(self) -> bool:
        """Whether /health currently reports ok (it starts healthy)."""
        phase = (self.clock() - self._started) % (self.healthy_for + self.unhealthy_for)
        return phase < self.healthy_for

    def start(self) -> DemoApi:
        """Bind 127.0.0.1:0 and serve from daemon threads."""
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        serve = threading.Thread(target=self._server.serve_forever, name="demo-api", daemon=True)
        traffic = threading.Thread(target=self._traffic, name="demo-traffic", daemon=True)
        self._threads = [serve, traffic]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _traffic(self) -> None:
        """Synthetic customer traffic, worse while unhealthy."""
        routes = ("/v1/check", "/v1/policies", "/api/admin/logs")
        while not self._stop.wait(0.1):
            for _ in range(self._rng.randint(3, 8)):
                route = self._rng.choice(routes)
                if self.healthy():
                    status = 429 if self._rng.random() < 0.02 else 200
                    seconds = self._rng.lognormvariate(-3.0, 0.6)
                else:
                    status = 500 if self._rng.random() < 0.3 else 200
                    seconds = self._rng.lognormvariate(-0.5, 0.5)
                self.metrics.observe("POST", route, status, seconds)


def _make_handler(api: DemoApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"
        server_version = "ai-governance-demo/1.0"

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the TUI owns the terminal

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: object) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:
            started = time.perf_counter()
            path = self.path.split("?", 1)[0]
            status = self._route(path)
            api.metrics.observe("GET", path, status, time.perf_counter() - started)

        def _route(self, path: str) -> int:
            if path == "/health":
                if api.healthy():
                    self._json(200, {"status": "ok", "database": "ok", "redis": "ok"})
                    return 200
                self._json(503, {"status": "down", "database": "timeout", "redis": "ok"})
                return 503
            if path == "/dashboard":
                page = b"<!doctype html><title>AI Governance</title><h1>Dashboard</h1>"
                self._send(200, page, "text/html; charset=utf-8")
                return 200
            if path == "/v1/slow":
                time.sleep(SLOW_SECONDS)
                self._json(200, {"status": "ok"})
                return 200
            if path == "/v1/check":
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    self._json(401, {"error": "missing API key"})
                    return 401
                self._json(200, {"allowed": True})
                return 200
            if path == "/metrics":
                self._send(200, generate_latest(api.metrics.registry), CONTENT_TYPE_LATEST)
                return 200
            self._json(404, {"error": "not found"})
            return 404

    return Handler
