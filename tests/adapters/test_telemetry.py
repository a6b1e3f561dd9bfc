"""Crash reporting: off without a DSN, Textual exceptions captured, no secret leaves.

Events go to a recording ``Transport`` (no network) or to a loopback HTTP server standing
in for Sentry's ingest endpoint (``http://key@127.0.0.1:PORT/1``).
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import sentry_sdk
import yaml
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from opsconsole.adapters.telemetry import (
    DSN_ENV,
    TelemetryAppMixin,
    capture_exception,
    flush_telemetry,
    init_telemetry,
    shutdown_telemetry,
    telemetry_active,
)
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config

CANARY = "CANARYq8w7e6r5"
"""Appears in URLs, webhook paths, a Bearer header, locals and the exception message."""
CONFIG_CANARY = "CFGCANARYm3n4b5"
"""A config secret (the Sentry token), leaked verbatim in free text."""


class RecordingTransport(Transport):
    """Keeps every envelope instead of sending it."""

    envelopes: ClassVar[list[Envelope]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        type(self).envelopes.append(envelope)


class IngestHandler(BaseHTTPRequestHandler):
    """Records POSTs to ``/api/<project>/envelope/``, answers 200."""

    server: IngestServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.posts.append((self.path, dict(self.headers), body))
        self._ok()

    def do_GET(self) -> None:
        self.server.gets.append((self.path, dict(self.headers)))
        self._ok()

    def _ok(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class IngestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), IngestHandler)
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.gets: list[tuple[str, dict[str, str]]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def dsn(self) -> str:
        return f"http://publickey0123@127.0.0.1:{self.server_address[1]}/1"


@pytest.fixture
def ingest() -> Iterator[IngestServer]:
    server = IngestServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def clean_sdk() -> Iterator[None]:
    """Every test starts and ends without a Sentry client."""
    shutdown_telemetry()
    RecordingTransport.envelopes.clear()
    yield
    shutdown_telemetry()
    RecordingTransport.envelopes.clear()


def make_config(dsn: str | None = None) -> Config:
    document: dict[str, Any] = {
        "sentry": {"org": "acme", "projects": ["api"], "token": CONFIG_CANARY},
        "telemetry": {"environment": "test"},
    }
    if dsn is not None:
        document["telemetry"]["sentry_dsn"] = dsn
    return loads_config(yaml.safe_dump(document))


def events() -> list[dict[str, Any]]:
    found = []
    for envelope in RecordingTransport.envelopes:
        event = envelope.get_event()
        if event is not None:
            found.append(dict(event))
    return found


# -- off unless configured ---------------------------------------------------------------


def test_no_dsn_initialises_nothing(ingest: IngestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """With SENTRY_DSN in the environment but no opsconsole DSN, nothing is initialised or sent."""
    monkeypatch.setenv("SENTRY_DSN", ingest.dsn)
    assert init_telemetry(make_config(), env={"SENTRY_DSN": ingest.dsn}) is False
    client = sentry_sdk.get_client()
    assert client.dsn is None
    assert not client.is_active()
    assert not telemetry_active()
    assert capture_exception(ValueError("boom")) is None
    sentry_sdk.capture_exception(ValueError("direct"))
    flush_telemetry(timeout=0.5)
    time.sleep(0.2)
    assert ingest.posts == []


def test_invalid_dsn_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    assert init_telemetry(make_config(), env={DSN_ENV: f"not a dsn {CANARY}"}) is False
    assert not telemetry_active()
    assert CANARY not in caplog.text


def test_env_dsn_wins_over_config() -> None:
    config = make_config("https://configkey@o1.ingest.sentry.io/2")
    env = {DSN_ENV: "https://envkey@o1.ingest.sentry.io/3"}
    assert init_telemetry(config, env=env, transport=RecordingTransport)
    assert sentry_sdk.get_client().dsn == env[DSN_ENV]
    shutdown_telemetry()
    assert init_telemetry(config, env={}, transport=RecordingTransport)
    assert sentry_sdk.get_client().dsn == "https://configkey@o1.ingest.sentry.io/2"


def test_client_options() -> None:
    assert init_telemetry(make_config("https://k@o1.ingest.sentry.io/2"), env={})
    options = sentry_sdk.get_client().options
    assert not options["send_default_pii"]
    assert options["release"].startswith("opsconsole@")
    assert options["environment"] == "test"
    assert options["max_breadcrumbs"] == 50
    assert options["shutdown_timeout"] == 2
    assert options["trace_propagation_targets"] == []
    integrations = sentry_sdk.get_client().integrations
    assert "argv" not in integrations
    assert "logging" in integrations and "httpx" in integrations


# -- Textual -------------------------------------------------------------------------------


class BoomApp(TelemetryAppMixin, App[None]):
    """A tiny app whose actions fail like a buggy handler or worker would."""

    BINDINGS = [Binding("b", "boom", "Boom"), Binding("w", "worker_boom", "Worker boom")]

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def compose(self) -> ComposeResult:
        yield Static("boom")

    async def action_boom(self) -> None:
        webhook = f"https://hooks.slack.com/services/T000/B000/{CANARY}"
        slack_url = f"https://hooks.slack.com/services/T000/B000/{CANARY}"
        headers = {"Authorization": f"Bearer {CANARY}"}
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"{self.base}/api/0/issues/?token={CANARY}", headers=headers)
        sentry_sdk.add_breadcrumb(
            category="http",
            data={
                "url": f"https://sentry.example/api/0/?token={CANARY}",
                "http.query": f"project=api&cursor={CANARY}",
            },
        )
        logging.getLogger("opsconsole.test").warning("POST %s failed", slack_url)
        assert webhook and headers  # both stay in the frame's locals
        raise RuntimeError(
            f"posting to {slack_url} failed; token {CONFIG_CANARY} rejected "
            f"(Authorization: Bearer {CANARY})"
        )

    def action_worker_boom(self) -> None:
        self.failing_worker()

    @work(exit_on_error=True)
    async def failing_worker(self) -> None:
        raise ValueError("worker failed")


async def test_handler_exception_is_captured_without_secrets(ingest: IngestServer) -> None:
    """An exception in a Textual handler is sent, and the whole envelope holds no canary:
    not from the exception message, a URL breadcrumb's ?token=, a local named ``webhook``,
    a Slack webhook URL in a local or a log breadcrumb, nor a config secret."""
    assert init_telemetry(
        make_config("https://k@o1.ingest.sentry.io/2"), env={}, transport=RecordingTransport
    )
    app = BoomApp(ingest.base)
    with pytest.raises(RuntimeError):
        async with app.run_test() as pilot:
            await pilot.press("b")
            await pilot.pause()
    flush_telemetry()
    (event,) = events()
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    payload = b"".join(envelope.serialize() for envelope in RecordingTransport.envelopes)
    assert CANARY.encode() not in payload
    assert CONFIG_CANARY.encode() not in payload
    # It was redacted, not dropped:
    crumbs = event["breadcrumbs"]["values"]
    http_urls = [c["data"].get("url", "") for c in crumbs if c.get("category") == "httplib"]
    assert f"{ingest.base}/api/0/issues/" in http_urls
    text = payload.decode()
    assert "[redacted]" in text and "[Filtered]" in text
    assert "hooks.slack.com/services/[redacted]" in text
    frame_vars = [f.get("vars", {}) for f in exception["stacktrace"]["frames"]]
    boom_vars = next(v for v in frame_vars if "slack_url" in v)
    assert boom_vars["slack_url"] == "'https://hooks.slack.com/services/[redacted]'"
    # No trace headers were added to the outgoing request (they carry the DSN key).
    ((_, headers),) = ingest.gets
    assert not {"sentry-trace", "baggage"} & {k.lower() for k in headers}
    assert event.get("server_name") == "opsconsole"
    assert socket.gethostname() not in text or socket.gethostname() == "opsconsole"
    assert "sys.argv" not in text


async def test_worker_exception_is_captured_unwrapped() -> None:
    assert init_telemetry(
        make_config("https://k@o1.ingest.sentry.io/2"), env={}, transport=RecordingTransport
    )
    app = BoomApp("http://127.0.0.1:9")
    with pytest.raises(Exception, match="worker failed"):
        async with app.run_test() as pilot:
            await pilot.press("w")
            await app.workers.wait_for_complete()
            await pilot.pause()
    (event,) = events()
    assert event["exception"]["values"][-1]["type"] == "ValueError"


async def test_mixin_without_telemetry_still_exits_with_error() -> None:
    """Telemetry off: the mixin only passes the exception on to Textual."""
    app = BoomApp("http://127.0.0.1:9")
    with pytest.raises(Exception, match="worker failed"):
        async with app.run_test() as pilot:
            await pilot.press("w")
            await app.workers.wait_for_complete()
            await pilot.pause()
    assert app.return_code == 1
    assert events() == []


# -- a real HTTP transport -------------------------------------------------------------------


def test_flush_sends_to_the_ingest_endpoint(ingest: IngestServer) -> None:
    assert init_telemetry(make_config(), env={DSN_ENV: ingest.dsn})
    try:
        raise ValueError(f"bad token={CANARY}")
    except ValueError as exc:
        assert capture_exception(exc) is not None
    flush_telemetry(timeout=2)
    assert len(ingest.posts) == 1
    path, headers, body = ingest.posts[0]
    assert path == "/api/1/envelope/"
    assert "sentry_key=publickey0123" in headers["X-Sentry-Auth"]
    assert b"ValueError" in body
    assert CANARY.encode() not in body
    assert b"publickey0123" not in body  # the DSN key is in the auth header only
    header = json.loads(body.split(b"\n", 1)[0])
    assert "dsn" not in header or "publickey0123" not in header["dsn"]
