"""Secrets canary (issue 7 §5, RELIABILITY-AND-PERFORMANCE §A4).

Every secret gets a unique canary value: the Sentry token, the Grafana service-account
token, the Prometheus bearer token, the Alertmanager token, the Slack webhook's path
secret, the SMTP and IMAP passwords, the telemetry DSN's public key and a probe's
``Authorization: Bearer`` header. The sources point at loopback fakes, several of them
hostile: they answer 401/500 and quote the request's ``Authorization`` header (or the
login's credentials) back in their error text, so every error path has a canary to leak.

Then the real app (``make_app`` + ``build_sources``, polling) runs for 30 s (10 s with
``OPSCONSOLE_QUICK_TESTS=1``) with DEBUG logging, ``httpx`` included, into the file set up by
``opsconsole.cli._setup_file_logging``. During it an incident is declared, one Slack update
is queued by a 500 and flushed, the incident is resolved (writing the review Markdown), a
ticket arrives by Maildir and its auto-acknowledgement fails at the SMTP login, and a
crash whose message and locals hold secrets is reported through a recording Sentry
transport. ``opsconsole status --json`` (both Prometheus forms) and ``opsconsole check
--json`` run as subprocesses.

Grepped for every canary: the log file, the SQLite database with its ``-wal`` and ``-shm``
(copied while the app runs, and again after), the Sentry envelopes, the subprocesses'
stdout/stderr, SVG screenshots of the session, every SVG under
``tests/snapshots/__snapshots__`` and the review Markdown. There must be no hit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
import yaml
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from opsconsole import cli
from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.adapters.logging_setup import uninstall_log_redaction
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.adapters.telemetry import init_telemetry, shutdown_telemetry, telemetry_active
from opsconsole.app import OpsConsoleApp, make_app
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.incidents import IncidentSeverity, IncidentStatus
from opsconsole.demo.sentry_api import SentryFake
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.demo.statuspage import DemoStatuspage
from opsconsole.polling import build_sources

from fault_server import Answer, FaultServer, Request
from ticket_fixtures import raw_mail

SESSION_SECONDS = 10.0 if os.environ.get("OPSCONSOLE_QUICK_TESTS") == "1" else 30.0
SIZE = (160, 48)
REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = REPO / "tests" / "snapshots" / "__snapshots__"
OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def _canary(kind: str) -> str:
    return f"cnry{kind}{secrets.token_hex(8)}"


CANARIES = {
    "sentry token": _canary("SENTRY"),
    "grafana token": _canary("GRAFANA"),
    "prometheus token": _canary("PROM"),
    "alertmanager token": _canary("ALERTS"),
    "slack webhook secret": _canary("SLACK"),
    "smtp password": _canary("SMTP"),
    "imap password": _canary("IMAP"),
    "telemetry dsn key": _canary("DSN"),
    "probe bearer": _canary("PROBE"),
}


def _needles() -> dict[str, bytes]:
    """Every form a canary could leak in: whole, a 16-character prefix, URL-quoted, and the
    SMTP AUTH PLAIN base64 of the password."""
    found: dict[str, bytes] = {}
    for name, value in CANARIES.items():
        found[name] = value.encode()
        found[f"{name} (prefix)"] = value[:16].encode()
        found[f"{name} (quoted)"] = quote(value, safe="").encode()
    smtp = CANARIES["smtp password"]
    found["smtp password (AUTH PLAIN)"] = base64.b64encode(f"\0support\0{smtp}".encode())
    return found


def hits(label: str, data: bytes) -> list[str]:
    return [f"{label}: {name}" for name, needle in _needles().items() if needle in data]


class RecordingTransport(Transport):
    """Keeps every envelope instead of sending it (as in tests/adapters/test_telemetry.py)."""

    envelopes: ClassVar[list[Envelope]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        type(self).envelopes.append(envelope)


# -- hostile fakes ----------------------------------------------------------------------------


def echo_401(request: Request) -> Answer:
    """401 quoting the Authorization header (Grafana-style JSON message)."""
    auth = request.headers.get("authorization", "")
    return Answer.json({"message": f"Invalid API key: {auth}", "statusCode": 401}, 401)


def echo_500(request: Request) -> Answer:
    """500 whose plain-text first line quotes the Authorization header and the path."""
    auth = request.headers.get("authorization", "")
    body = f"internal error handling {request.path} for {auth}\n".encode()
    return Answer(500, body, "text/plain; charset=utf-8")


def probe_denied(request: Request) -> Answer:
    """A probe target that refuses the probe's bearer token and says which one."""
    auth = request.headers.get("authorization", "")
    return Answer.json({"status": "denied", "detail": f"token {auth} revoked"}, 403)


@dataclass
class Fakes:
    sentry: SentryFake
    slack: SlackFake
    page: DemoStatuspage
    grafana: FaultServer
    prometheus: FaultServer
    alertmanager: FaultServer
    probe_denied: FaultServer
    probe_ok: FaultServer
    imap: FaultServer
    smtp: FaultServer


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    slack = SlackFake()
    slack.secret = CANARIES["slack webhook secret"]
    slack.path = f"/services/T000/B000/{slack.secret}"
    servers = {
        "grafana": FaultServer(echo_401),
        "prometheus": FaultServer(echo_500),
        "alertmanager": FaultServer(echo_500),
        "probe_denied": FaultServer(probe_denied),
        "probe_ok": FaultServer(),
        "imap": FaultServer(protocol="imap"),
        "smtp": FaultServer(protocol="smtp"),
    }
    servers["imap"].reject_login = True
    servers["smtp"].reject_login = True
    sentry = SentryFake(token=CANARIES["sentry token"])
    page = DemoStatuspage(scenario="operational")
    started: list[Any] = []
    try:
        for fake in (slack, sentry, page, *servers.values()):
            fake.start()
            started.append(fake)
        yield Fakes(sentry=sentry, slack=slack, page=page, **servers)
    finally:
        for fake in reversed(started):
            fake.stop()


# -- config -----------------------------------------------------------------------------------


ENV = {
    "SENTRY_TOKEN": CANARIES["sentry token"],
    "GRAFANA_TOKEN": CANARIES["grafana token"],
    "PROMETHEUS_TOKEN": CANARIES["prometheus token"],
    "ALERTMANAGER_TOKEN": CANARIES["alertmanager token"],
    "SMTP_PASSWORD": CANARIES["smtp password"],
    "IMAP_PASSWORD": CANARIES["imap password"],
    "PROBE_TOKEN": CANARIES["probe bearer"],
}


def config_text(fakes: Fakes, tmp: Path, *, grafana: bool) -> str:
    """checks.yaml with ``${VAR}`` references (the Slack URL and DSN are inline secrets)."""
    prometheus: dict[str, Any] = {
        "interval": "2s",
        "timeout": "1s",
        "queries": [{"name": "request rate", "query": "sum(rate(x[5m]))", "unit": "req/s"}],
    }
    if grafana:
        prometheus["grafana"] = {
            "url": fakes.grafana.url,
            "datasource_uid": "prom-1",
            "token": "${GRAFANA_TOKEN}",
        }
    else:
        prometheus["url"] = fakes.prometheus.url
        prometheus["token"] = "${PROMETHEUS_TOKEN}"
    document = {
        "service": "Canary API",
        "timezone": "UTC",
        "probes": [
            {
                "name": "API health",
                "url": f"{fakes.probe_denied.url}/health",
                "interval": "1s",
                "headers": {"Authorization": "Bearer ${PROBE_TOKEN}"},
                "conditions": ["[STATUS] == 200", "[BODY].status == ok"],
            },
            {"name": "Dashboard", "url": f"{fakes.probe_ok.url}/", "interval": "1s"},
        ],
        "sentry": {
            "base_url": fakes.sentry.base_url,
            "org": "acme",
            "projects": ["api", "dashboard"],
            "token": "${SENTRY_TOKEN}",
            "interval": "2s",
            "timeout": "1500ms",
        },
        "prometheus": prometheus,
        "alertmanager": {
            "url": fakes.alertmanager.url,
            "token": "${ALERTMANAGER_TOKEN}",
            "interval": "2s",
            "timeout": "1s",
        },
        "statuspage": {"url": fakes.page.base_url, "timeout": "2s"},
        "telemetry": {
            "sentry_dsn": f"http://{CANARIES['telemetry dsn key']}@127.0.0.1:9/1",
            "environment": "canary",
        },
        "email": {
            "maildir": str(tmp / "maildir"),
            "imap": {
                "host": "127.0.0.1",
                "port": fakes.imap.port,
                "user": "support",
                "password": "${IMAP_PASSWORD}",
                "tls": False,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": fakes.smtp.port,
                "user": "support",
                "password": "${SMTP_PASSWORD}",
                "starttls": False,
            },
            "outbox": str(tmp / "outbox"),
            "poll_interval": "2s",
        },
        "incident": {
            "slack": {"webhook": fakes.slack.webhook_url},
            "reviews_dir": str(tmp / "reviews"),
        },
    }
    return yaml.safe_dump(document, sort_keys=False)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # a secret-holding config readable by others may be refused
    return path


# -- logging through the app's own setup ------------------------------------------------------


@contextlib.contextmanager
def app_file_logging(config: Config, state_home: Path) -> Iterator[Path]:
    """``cli._setup_file_logging`` as the app uses it, then everything at DEBUG.

    pytest's own handlers are taken off the root logger for the duration (otherwise
    ``basicConfig`` does nothing), and httpx/httpcore are lowered to DEBUG too: the worst
    case, someone debugging with the full URL lines on.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = ("httpx", "httpcore")
    saved_levels = {name: logging.getLogger(name).level for name in noisy}
    for handler in saved_handlers:
        root.removeHandler(handler)
    old_state = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state_home)
    try:
        log_file = cli._setup_file_logging(config)
        assert log_file is not None and log_file.is_relative_to(state_home)
        root.setLevel(logging.DEBUG)
        for name in noisy:
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield log_file
    finally:
        uninstall_log_redaction()
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        if old_state is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old_state


# -- the session ------------------------------------------------------------------------------


@dataclass
class Session:
    """What the app session left behind."""

    screenshots: dict[str, str]
    review: Path | None
    crash: BaseException | None


def _copy_db(db: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = db.with_name(db.name + suffix)
        if source.exists():
            shutil.copyfile(source, into / source.name)


async def _incident_work(app: OpsConsoleApp, fakes: Fakes) -> Path:
    """Declare, one refused and one queued-then-flushed Slack update, resolve (review)."""
    service = app.incident_service
    assert service.slack is not None
    service.slack._sleep = lambda seconds: asyncio.sleep(min(seconds, 0.05))
    await service.declare("Canary: checks failing", "API", IncidentSeverity.HIGH)
    fakes.slack.inject("404")  # not retryable: recorded as failed, with Slack's reason
    with contextlib.suppress(Exception):
        await service.send_update("First update: investigating the canary")
    fakes.slack.inject("500", times=4)  # every attempt fails: queued in the outbox
    await service.send_update("Second update: still investigating")
    await service.flush_outbox()
    await service.set_status(IncidentStatus.MONITORING)
    incident, review = await service.resolve(
        root_cause="expired token", fix="rotated it", override="canary test run"
    )
    assert incident.status is IncidentStatus.RESOLVED
    return review


async def run_session(app: OpsConsoleApp, fakes: Fakes, db: Path, copies: Path) -> Session:
    shots: dict[str, str] = {}
    review: Path | None = None
    crash: BaseException | None = None
    started = time.monotonic()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            review = await _incident_work(app, fakes)
            while time.monotonic() - started < SESSION_SECONDS:
                await pilot.pause(0.25)
            shots["main"] = app.export_screenshot()
            await pilot.press("t")
            await pilot.pause(0.5)
            shots["tickets"] = app.export_screenshot()
            await pilot.press("escape")
            await pilot.pause(0.2)
            _copy_db(db, copies)  # while the app holds it: the -wal file is live

            async def boom() -> None:
                webhook = fakes.slack.webhook_url  # noqa: F841 (a local holding a secret)
                token = CANARIES["sentry token"]
                raise RuntimeError(f"forced crash: POST {fakes.slack.webhook_url} Bearer {token}")

            app.run_worker(boom(), exit_on_error=True)
            await pilot.pause(1.0)
    except Exception as exc:  # run_test re-raises the app's crash on exit
        crash = exc
    return Session(shots, review, crash)


def _run_cli(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    proc = subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, timeout=120, env=env, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_no_secret_leaks_anywhere(fakes: Fakes, tmp_path: Path) -> None:
    grafana_file = write_config(
        tmp_path / "checks.yaml", config_text(fakes, tmp_path, grafana=True)
    )
    direct_file = write_config(
        tmp_path / "checks-direct.yaml", config_text(fakes, tmp_path, grafana=False)
    )
    config = loads_config(grafana_file.read_text(), env=ENV)
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.canary").write_bytes(
        raw_mail("Checks API returns 500", "Since 9:00 every call fails. Please help.")
    )
    db = tmp_path / "data" / "history.db"
    state = tmp_path / "state"
    found: list[str] = []

    shutdown_telemetry()
    RecordingTransport.envelopes.clear()
    try:
        with app_file_logging(config, state) as log_file:
            assert init_telemetry(config, env={}, transport=RecordingTransport)
            assert telemetry_active()

            async def open_store() -> SqliteStore:
                return await SqliteStore.open(db)

            app = make_app(
                config,
                store_factory=open_store,
                runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
                sources_factory=lambda: build_sources(config),
                poll=True,
            )
            session = asyncio.run(run_session(app, fakes, db, tmp_path / "db-copies"))
            import sentry_sdk

            sentry_sdk.get_client().flush(timeout=5)
            for handler in logging.getLogger().handlers:
                handler.flush()
    finally:
        shutdown_telemetry()

    # -- the session did what it should (so the greps below mean something) --------------
    assert session.crash is not None, "the forced crash did not stop the app"
    assert "forced crash" in repr(session.crash), "".join(
        traceback.format_exception(session.crash)[-12:]
    )
    events = [e.get_event() for e in RecordingTransport.envelopes]
    assert any(event and "RuntimeError" in str(event.get("exception")) for event in events), (
        "the forced crash was not reported"
    )
    crash_text = [str(event.get("exception")) for event in events if event]
    assert any("forced crash: POST [redacted] Bearer [redacted]" in t for t in crash_text)
    assert session.review is not None and session.review.exists()
    log_text = log_file.read_bytes()
    assert b"opsconsole crashed" in log_text
    assert b"HTTP Request: POST " in log_text  # httpx URL lines (the Slack webhook too)
    assert b"[redacted]" in log_text  # there was something to redact
    assert (tmp_path / "db-copies" / f"{db.name}-wal").exists(), "no live -wal file to grep"
    assert len(fakes.sentry.requests) > 0
    assert fakes.grafana.requests and fakes.alertmanager.requests and fakes.probe_denied.requests
    assert fakes.imap.logins, "IMAP was never polled"
    assert fakes.smtp.logins, "no auto-acknowledgement was attempted over SMTP"
    assert any(m.get("text") for m in fakes.slack.messages)

    # -- CLI subprocesses ----------------------------------------------------------------------
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "SENTRY_"))},
        **ENV,
        "XDG_STATE_HOME": str(state),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "NO_COLOR": "1",
    }
    outputs: dict[str, bytes] = {}
    for name, args in {
        "status (grafana)": ["status", "--json", "--config", str(grafana_file), "--db", str(db)],
        "status (direct)": ["status", "--json", "--config", str(direct_file), "--db", str(db)],
        "check": ["check", "--json", "--config", str(grafana_file), "--db", str(db)],
    }.items():
        code, out, err = _run_cli(args, env)
        assert code in (0, 1), (name, code, err.decode(errors="replace")[-2000:])
        assert out.lstrip().startswith((b"{", b"[")), (name, out[:200], err[-500:])
        outputs[f"{name} stdout"] = out
        outputs[f"{name} stderr"] = err
    assert fakes.prometheus.requests, "the direct Prometheus form was never asked"

    # -- grep ------------------------------------------------------------------------------------
    found += hits(f"log file {log_file.name}", log_text)
    for path in sorted((tmp_path / "db-copies").iterdir()):
        found += hits(f"{path.name} (copied while running)", path.read_bytes())
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            found += hits(f"{path.name} (after)", path.read_bytes())
    for index, envelope in enumerate(RecordingTransport.envelopes):
        found += hits(f"sentry envelope {index}", envelope.serialize())
    for label, data in outputs.items():
        found += hits(label, data)
    for label, svg in session.screenshots.items():
        found += hits(f"screenshot {label}", svg.encode())
    svgs = sorted(SNAPSHOTS.rglob("*.svg"))
    assert svgs, f"no snapshots under {SNAPSHOTS}"
    for svg_path in svgs:
        found += hits(f"snapshot {svg_path.name}", svg_path.read_bytes())
    found += hits(f"review {session.review.name}", session.review.read_bytes())
    # Anything else the run wrote (outbox, Maildir, reviews, state), configs excepted.
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path not in (grafana_file, direct_file):
            found += hits(f"file {path.relative_to(tmp_path)}", path.read_bytes())

    assert not found, "canary leaked:\n" + "\n".join(sorted(set(found)))
