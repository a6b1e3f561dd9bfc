"""A fake Atlassian Statuspage on 127.0.0.1, serving ``/api/v2/summary.json``.

The document follows Statuspage's schema exactly (a component group with children, offsets
on every timestamp). Set :attr:`DemoStatuspage.scenario` to pick what it reports and
:attr:`DemoStatuspage.fault` to make it misbehave like a wrong vendor or a bad network.
Used by the adapter tests and by ``opsconsole demo``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Scenario = Literal["operational", "degraded", "demo"]
"""``operational``: all green. ``degraded``: a degraded child component, an investigating
incident and an upcoming maintenance. ``demo``: a minor indicator, a degraded "API"
component and an open incident linked to the demo API's health endpoint."""

Fault = Literal["404", "html", "garbage", "wrong-shape", "500", "429", "slow"]
"""``404`` (wrong path, like another vendor), ``html`` (a web page), ``garbage`` (broken
JSON), ``wrong-shape`` (valid JSON, not Statuspage's), ``500``, ``429`` with Retry-After,
``slow`` (answers after :attr:`DemoStatuspage.slow_seconds`)."""

SUMMARY_PATH = "/api/v2/summary.json"
PAGE_ID = "demo0pageid1"
_EASTERN = timezone(timedelta(hours=-5))


class DemoStatuspage:
    """The fake status page. ``start()`` binds an ephemeral port; ``stop()`` shuts down.

    Args:
        scenario: what the page reports (changeable at any time).
        api_url: the demo API's base URL, linked from the ``demo`` scenario's incident.
        clock: aware "now" used to date incidents and maintenances.
    """

    def __init__(
        self,
        *,
        scenario: Scenario = "operational",
        api_url: str = "http://127.0.0.1",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.scenario: Scenario = scenario
        self.fault: Fault | None = None
        self.slow_seconds = 5.0
        self.retry_after = 120
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self.requests = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the ``statuspage.url`` to configure)."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DemoStatuspage:
        """Bind 127.0.0.1:0 and serve from a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="demo-statuspage",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> DemoStatuspage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self) -> None:
        """Record one request to summary.json."""
        with self._lock:
            self.requests += 1

    def wait(self, seconds: float) -> None:
        """Sleep, waking early when the server stops."""
        self._stopping.wait(seconds)

    def summary(self) -> dict[str, Any]:
        """The summary.json document for the current scenario."""
        now = self.clock().astimezone(UTC)
        components = _components(self.scenario)
        incidents: list[dict[str, Any]] = []
        maintenances: list[dict[str, Any]] = []
        indicator, description = "none", "All Systems Operational"
        if self.scenario == "degraded":
            indicator, description = "minor", "Partially Degraded Service"
            incidents.append(
                _incident(
                    "inc00000001a",
                    "Elevated error rates in EU ingestion",
                    "investigating",
                    "minor",
                    now - timedelta(minutes=25),
                    [
                        (
                            "investigating",
                            "We are investigating elevated error rates.\nMore soon.",
                            now - timedelta(minutes=5),
                        ),
                        (
                            "investigating",
                            "We are looking into reports of failures.",
                            now - timedelta(minutes=25),
                        ),
                    ],
                    components=[c for c in components if c["id"] == "cmpeuingest1"],
                )
            )
            maintenances.append(_maintenance(now + timedelta(days=1), components[:1]))
        elif self.scenario == "demo":
            indicator, description = "minor", "Minor Service Outage"
            incidents.append(
                _incident(
                    "inc00000002b",
                    "API health check failing intermittently",
                    "identified",
                    "minor",
                    now - timedelta(minutes=12),
                    [
                        (
                            "identified",
                            f"The health endpoint {self.api_url}/health returns 503 at times; "
                            "a fix is being deployed.",
                            now - timedelta(minutes=3),
                        ),
                        (
                            "investigating",
                            "We are investigating intermittent API errors.",
                            now - timedelta(minutes=12),
                        ),
                    ],
                    components=[c for c in components if c["id"] == "cmpapi000001"],
                    shortlink=f"{self.api_url}/health",
                )
            )
        return {
            "page": {
                "id": PAGE_ID,
                "name": "AI Governance API (demo)",
                "url": "http://127.0.0.1",
                "time_zone": "Etc/UTC",
                "updated_at": _iso(now),
            },
            "components": components,
            "incidents": incidents,
            "scheduled_maintenances": maintenances,
            "status": {"indicator": indicator, "description": description},
        }


def _iso(when: datetime, tz: timezone = UTC) -> str:
    text = when.astimezone(tz).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _component(
    cid: str,
    name: str,
    status: str,
    position: int,
    *,
    group_id: str | None = None,
    children: list[str] | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": cid,
        "name": name,
        "status": status,
        "created_at": "2024-03-01T09:00:00.000Z",
        "updated_at": "2026-11-02T06:40:11.123Z",
        "position": position,
        "description": None,
        "showcase": children is None,
        "start_date": "2024-03-01",
        "group_id": group_id,
        "page_id": PAGE_ID,
        "group": children is not None,
        "only_show_if_degraded": False,
    }
    if children is not None:
        row["components"] = children
    return row


def _components(scenario: Scenario) -> list[dict[str, Any]]:
    ingest_eu = "degraded_performance" if scenario == "degraded" else "operational"
    api = "degraded_performance" if scenario == "demo" else "operational"
    # A degraded child makes its group degraded too; clients must not count both.
    group = "degraded_performance" if scenario == "degraded" else "operational"
    return [
        _component("cmpapi000001", "API", api, 1),
        _component("cmpdash00001", "Dashboard", "operational", 2),
        _component(
            "cmpingest001",
            "Ingestion",
            group,
            3,
            children=["cmpeuingest1", "cmpusingest1"],
        ),
        _component("cmpeuingest1", "EU", ingest_eu, 4, group_id="cmpingest001"),
        _component("cmpusingest1", "US", "operational", 5, group_id="cmpingest001"),
    ]


def _incident(
    iid: str,
    name: str,
    status: str,
    impact: str,
    started: datetime,
    updates: list[tuple[str, str, datetime]],
    *,
    components: list[dict[str, Any]],
    shortlink: str | None = None,
) -> dict[str, Any]:
    return {
        "id": iid,
        "name": name,
        "status": status,
        "created_at": _iso(started, _EASTERN),
        "updated_at": _iso(updates[0][2], _EASTERN),
        "monitoring_at": None,
        "resolved_at": None,
        "impact": impact,
        "shortlink": shortlink or f"https://stspg.io/{iid[:7]}",
        "started_at": _iso(started, _EASTERN),
        "page_id": PAGE_ID,
        "incident_updates": [
            {
                "id": f"upd{iid[3:]}{n}",
                "status": ustatus,
                "body": body,
                "incident_id": iid,
                "created_at": _iso(at, _EASTERN),
                "updated_at": _iso(at, _EASTERN),
                "display_at": _iso(at, _EASTERN),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for n, (ustatus, body, at) in enumerate(updates)
        ],
        "components": components,
    }


def _maintenance(start: datetime, components: list[dict[str, Any]]) -> dict[str, Any]:
    body = "We will upgrade the API database. Short write pauses are expected."
    row = _incident(
        "mnt00000001c",
        "Database upgrade",
        "scheduled",
        "maintenance",
        start,
        [("scheduled", body, start - timedelta(days=2))],
        components=components,
    )
    row["started_at"] = _iso(start - timedelta(days=2))
    row["scheduled_for"] = _iso(start)
    row["scheduled_until"] = _iso(start + timedelta(hours=2))
    return row


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose (timeouts)


_HTML = b"""<!doctype html><html><head><title>Status</title></head>
<body><h1>All systems operational</h1><p>Powered by another vendor.</p></body></html>"""


def _make_handler(page: DemoStatuspage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if path != SUMMARY_PATH:
                self._send(404, b'{"error":"not found"}', "application/json")
                return
            page.count()
            fault = page.fault
            if fault == "404":
                self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            elif fault == "html":
                self._send(200, _HTML, "text/html; charset=utf-8")
            elif fault == "garbage":
                self._send(200, b'{"page": {"id": "x", "name": ', "application/json")
            elif fault == "wrong-shape":
                self._json({"page": {"name": "Other vendor"}, "summary": {"ok": True}})
            elif fault == "500":
                self._send(500, b"upstream error", "text/plain")
            elif fault == "429":
                self._send(429, b"slow down", "text/plain", {"Retry-After": str(page.retry_after)})
            else:
                if fault == "slow":
                    page.wait(page.slow_seconds)
                self._json(page.summary())

        def _json(self, payload: object) -> None:
            self._send(200, json.dumps(payload).encode(), "application/json; charset=utf-8")

        def _send(
            self,
            code: int,
            body: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeouts in tests)

    return Handler
