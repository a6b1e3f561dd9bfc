"""Fault injection: every source adapter against a misbehaving loopback server (issue 7 §3).

For each source (an HTTP probe, Sentry, Prometheus direct and through Grafana's proxy URL,
Alertmanager, the status page, Slack through ``IncidentService.send_update``, SMTP and
IMAP) and each fault of :mod:`fault_server` (refused, hang, slow drip, 401, 403, 404, 429,
500, 502 with an HTML page, truncated JSON, invalid JSON, a 20 MB body), one poll runs
through the real adapter (inside a :class:`~opsconsole.polling.SourcePoller` for the
polled sources) with a 1–1.5 s deadline. It must:

* raise nothing (Slack, SMTP and IMAP raise their documented typed error instead);
* carry a one-line reason (no line break, no control character, short, no secret);
* end within the adapter's deadline (hang and drip included);
* succeed on the next poll once the server answers healthily again (recovery).

A healthy poll first warms the adapter up (TLS context, lazy imports, cached project ids),
so what is timed is steady-state work. Each case runs on its own event loop in asyncio
debug mode with ``slow_callback_duration = 0.05`` (RELIABILITY-AND-PERFORMANCE §B4: no
UI-loop callback over 50 ms); an "Executing … took" warning logged by ``asyncio`` during
the fault or recovery poll fails the case.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from opsconsole.adapters.alertmanager import AlertmanagerSource
from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.adapters.mail_transport import (
    ImapPoller,
    ImapSettings,
    MailTransportError,
    SmtpSender,
    SmtpSettings,
)
from opsconsole.adapters.prometheus import PrometheusSource
from opsconsole.adapters.sentry import SentrySource
from opsconsole.adapters.slack import SlackWebhook
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.adapters.statuspage import StatuspageSource
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.incidents import IncidentSeverity
from opsconsole.core.sources import Freshness
from opsconsole.incidents.service import IncidentError, IncidentService
from opsconsole.polling import SourcePoller

from fakes import MutableClock
from fault_server import FAULTS, MAIL_FAULTS, Answer, FaultServer, Request

SLOW_CALLBACK = 0.05
"""RELIABILITY-AND-PERFORMANCE §B4: no UI-loop callback over 50 ms."""
TIMEOUT = 1.0
"""Every adapter's deadline here (Sentry: 1.5 s, so one 429 retry fits)."""
SLACK_ATTEMPTS = 2
SECRET = "faultsecret-7Qm2xK9v"
"""Every token and password here; it must never appear in a reason."""
MAX_REASON = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# -- slow-callback watch ---------------------------------------------------------------------


class SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode "Executing <handle> took N seconds" warnings.

    Each warning is paired with the process CPU time of the step it reports (every
    ``Handle._run`` is timed; asyncio logs right after the step returns). A step that
    used 50 ms of CPU, on the loop's thread or on another thread holding the GIL, is
    counted; a step that was only slow on the wall clock was descheduled by a busy machine
    and is listed in ``starved`` instead, so a loaded CI box cannot fail the suite.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.active = False
        self.last_cpu = 0.0
        self.found: list[str] = []
        self.starved: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not (self.active and message.startswith("Executing ") and " took " in message):
            return
        took = message.rsplit(" took ", 1)[1]
        handle = re.sub(r" created at .*", "", message)[:160]
        note = f"{handle}… took {took} ({self.last_cpu * 1000:.0f} ms CPU)"
        (self.found if self.last_cpu >= SLOW_CALLBACK else self.starved).append(note)


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowCallbacks]:
    """The asyncio logger's slow-callback warnings, with each step's CPU time.

    The heap built by the test session so far is frozen (``gc.freeze``) for the test, so
    a full collection does not walk it: what remains is the cost of the adapter's work.
    """
    handler = SlowCallbacks()
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.Handle) -> None:
        started = time.process_time()
        try:
            original(handle)
        finally:
            handler.last_cpu = time.process_time() - started

    monkeypatch.setattr(asyncio.events.Handle, "_run", timed)
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    gc.freeze()
    try:
        yield handler
    finally:
        gc.unfreeze()
        logger.removeHandler(handler)


def run_debug(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` on a fresh event loop in debug mode with the 50 ms threshold."""

    async def wrapper() -> None:
        asyncio.get_running_loop().slow_callback_duration = SLOW_CALLBACK
        await main()

    asyncio.run(wrapper(), debug=True)


def check_slow(slow: SlowCallbacks, case: Case, fault: str) -> None:
    """Fail on a slow callback, or xfail when it is a known huge-body parse."""
    if not slow.found:
        return
    known = case.huge_body_issue if fault == "huge-body" else None
    if known is not None:
        pytest.xfail(f"{known} [{slow.found[0]}]")
    starved = f"; descheduled only (not counted): {slow.starved}" if slow.starved else ""
    pytest.fail(f"slow callbacks during the {fault} poll or recovery: {slow.found}{starved}")


# -- assertions ------------------------------------------------------------------------------


def assert_one_line(reason: str | None, what: str) -> str:
    assert reason, f"{what}: no reason given"
    assert not _CONTROL.search(reason), f"{what}: control character in {reason!r}"
    assert reason == reason.strip(), f"{what}: untrimmed {reason!r}"
    assert len(reason) <= MAX_REASON, f"{what}: {len(reason)} characters: {reason[:120]!r}…"
    assert SECRET not in reason, f"{what}: the secret leaked into {reason!r}"
    return reason


@dataclass
class Case:
    """One source under test: how to build it, poll it once and close it."""

    make: Callable[[FaultServer, Path], Awaitable[Any]]
    poll: Callable[[Any], Awaitable[str | None]]
    """One poll: ``None`` when it succeeded, else the one-line reason it shows."""
    close: Callable[[Any], Awaitable[None]]
    healthy: Callable[[Request], Answer]
    deadline: float
    """The longest a faulty poll may take (the adapter's own deadline plus slack)."""
    after_recovery: Callable[[Any, FaultServer, str], Awaitable[None]] | None = None
    huge_body_issue: str | None = None
    """Why a 20 MB answer is known to block the loop (the case xfails when it does)."""


async def exercise(
    case: Case,
    server: FaultServer,
    fault: str,
    tmp_path: Path,
    slow: SlowCallbacks,
    reasons: list[str] | None = None,
) -> None:
    """Warm up healthy, poll once under ``fault``, heal, poll again (the fault's reason is
    appended to ``reasons``)."""
    subject = await case.make(server, tmp_path)
    try:
        assert await case.poll(subject) is None, "the healthy warm-up poll failed"
        await asyncio.sleep(0)  # end the step that built the adapter before watching
        # Switching the server (joining its accept thread) stays off this loop.
        await asyncio.to_thread(server.set_fault, fault)
        slow.active = True
        started = time.monotonic()
        reason = await case.poll(subject)
        elapsed = time.monotonic() - started
        assert_one_line(reason, f"{fault} poll")
        if reasons is not None and reason is not None:
            reasons.append(reason)
        assert elapsed <= case.deadline, f"{fault}: took {elapsed:.2f}s ({reason})"
        await asyncio.to_thread(server.heal)
        recovered = await case.poll(subject)
        assert recovered is None, f"no recovery after {fault}: {recovered}"
        if case.after_recovery is not None:
            await case.after_recovery(subject, server, fault)
        slow.active = False
    finally:
        slow.active = False
        server.heal()
        await case.close(subject)


# -- healthy answers -------------------------------------------------------------------------


def healthy_probe(request: Request) -> Answer:
    return Answer.json({"status": "ok"})


def healthy_sentry(request: Request) -> Answer:
    if not request.path.startswith("/api/0/organizations/acme/issues/"):
        return Answer.json({"detail": "not found"}, 404)
    link = (
        '<http://127.0.0.1/x/?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        '<http://127.0.0.1/x/?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"'
    )
    return Answer.json([], 200, **{"X-Hits": "0", "Link": link})


def healthy_prometheus(request: Request) -> Answer:
    path = urlsplit(request.path).path
    now = time.time()
    if path.endswith("/api/v1/query"):
        data = {"resultType": "vector", "result": [{"metric": {}, "value": [now, "1.5"]}]}
    elif path.endswith("/api/v1/query_range"):
        data = {"resultType": "matrix", "result": [{"metric": {}, "values": [[now, "1.5"]]}]}
    else:
        return Answer(404, b"404 page not found\n", "text/plain")
    return Answer.json({"status": "success", "data": data})


def healthy_alertmanager(request: Request) -> Answer:
    if not request.path.startswith("/api/v2/alerts"):
        return Answer(404, b"not found", "text/plain")
    alert = {
        "labels": {"alertname": "Watchdog", "severity": "none"},
        "annotations": {"summary": "always firing"},
        "startsAt": "2024-01-01T00:00:00.000000000Z",
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "fingerprint": "abc123",
    }
    return Answer.json([alert])


def healthy_statuspage(request: Request) -> Answer:
    return Answer.json(
        {
            "page": {"name": "Demo"},
            "status": {"indicator": "none", "description": "All Systems Operational"},
            "components": [],
            "incidents": [],
            "scheduled_maintenances": [],
        }
    )


def healthy_slack(request: Request) -> Answer:
    return Answer(200, b"ok", "text/plain; charset=utf-8")


# -- polled sources (SourcePoller) -------------------------------------------------------------


def _config(document: dict[str, Any]) -> Config:
    return loads_config(yaml.safe_dump({"timezone": "UTC", **document}))


async def _poller_poll(poller: SourcePoller) -> str | None:
    status = await poller.poll_once()
    if status.error is not None:
        assert status.data is not None, "the last good data was dropped"  # from the warm-up
        assert status.freshness(poller.clock()) is Freshness.ERROR
        return status.error
    assert status.data is not None
    assert status.freshness(poller.clock()) is Freshness.OK
    return None


async def _poller_close(poller: SourcePoller) -> None:
    await poller.source.aclose()


def _poller(name: str, source: Any, interval: float, clock: MutableClock) -> SourcePoller:
    return SourcePoller(name, source, timedelta(seconds=interval), clock)


async def make_sentry(server: FaultServer, tmp_path: Path) -> SourcePoller:
    config = _config(
        {
            "sentry": {
                "base_url": server.url,
                "org": "acme",
                "projects": ["1"],
                "token": SECRET,
                "interval": "3s",
                "timeout": "1500ms",
            }
        }
    )
    assert config.sentry is not None
    clock = MutableClock(datetime(2025, 3, 4, 12, 0, tzinfo=UTC))
    source = SentrySource(config.sentry, clock=clock, shift_start=lambda: clock.now)
    return _poller("sentry", source, 3, clock)


def _prometheus_section(server: FaultServer, *, grafana: bool) -> dict[str, Any]:
    section: dict[str, Any] = {
        "interval": "2s",
        "timeout": "1s",
        "range": "5m",
        "step": "15s",
        "queries": [{"name": "rate", "query": "sum(rate(x[5m]))", "unit": "req/s"}],
    }
    if grafana:
        section["grafana"] = {"url": server.url, "datasource_uid": "prom-1", "token": SECRET}
    else:
        section["url"] = server.url
        section["token"] = SECRET
    return section


async def _make_prometheus(server: FaultServer, *, grafana: bool) -> SourcePoller:
    config = _config({"prometheus": _prometheus_section(server, grafana=grafana)})
    assert config.prometheus is not None
    clock = MutableClock(datetime.now(UTC))
    return _poller("metrics", PrometheusSource(config.prometheus, clock=clock), 2, clock)


async def make_prometheus(server: FaultServer, tmp_path: Path) -> SourcePoller:
    return await _make_prometheus(server, grafana=False)


async def make_grafana(server: FaultServer, tmp_path: Path) -> SourcePoller:
    return await _make_prometheus(server, grafana=True)


async def _grafana_paths(poller: SourcePoller, server: FaultServer, fault: str) -> None:
    assert server.requests, "Grafana saw no request"
    for request in server.requests:
        assert request.path.startswith("/api/datasources/proxy/uid/prom-1/api/v1/query")
        assert request.headers.get("authorization") == f"Bearer {SECRET}"


async def make_alertmanager(server: FaultServer, tmp_path: Path) -> SourcePoller:
    config = _config(
        {
            "alertmanager": {
                "url": server.url,
                "token": SECRET,
                "interval": "2s",
                "timeout": "1s",
            }
        }
    )
    assert config.alertmanager is not None
    clock = MutableClock(datetime.now(UTC))
    return _poller("alerts", AlertmanagerSource(config.alertmanager, clock=clock), 2, clock)


async def make_statuspage(server: FaultServer, tmp_path: Path) -> SourcePoller:
    config = _config({"statuspage": {"url": server.url, "timeout": "1s"}})
    assert config.statuspage is not None
    clock = MutableClock(datetime.now(UTC))
    return _poller("statuspage", StatuspageSource(config.statuspage, clock=clock), 60, clock)


async def _statuspage_poll(poller: SourcePoller) -> str | None:
    # The adapter serves a cached snapshot within 60 s of a fetch and honours Retry-After:
    # move its clock past both so every poll here really asks the server.
    assert isinstance(poller.clock, MutableClock)
    poller.clock.advance(seconds=61)
    return await _poller_poll(poller)


# -- the HTTP probe ------------------------------------------------------------------------------


@dataclass
class ProbeSubject:
    runner: ProbeRunner
    config: Config


async def make_probe(server: FaultServer, tmp_path: Path) -> ProbeSubject:
    config = _config(
        {
            "probes": [
                {
                    "name": "API health",
                    "url": f"{server.url}/health",
                    "interval": "5s",
                    "timeout": "1s",
                    "headers": {"Authorization": f"Bearer {SECRET}"},
                    "conditions": ["[STATUS] == 200", "[BODY].status == ok"],
                }
            ]
        }
    )
    return ProbeSubject(ProbeRunner(max_concurrency=4), config)


async def probe_poll(subject: ProbeSubject) -> str | None:
    result = await subject.runner.run(subject.config.probes[0])
    return None if result.ok else result.reason


async def probe_close(subject: ProbeSubject) -> None:
    await subject.runner.aclose()


# -- Slack through the incident service -----------------------------------------------------------


@dataclass
class SlackSubject:
    service: IncidentService
    store: SqliteStore
    webhook: SlackWebhook
    sent: list[str]
    last_text: str = ""


async def make_slack(server: FaultServer, tmp_path: Path) -> SlackSubject:
    store = await SqliteStore.open(tmp_path / "incidents.db")
    webhook = SlackWebhook(
        f"{server.url}/services/T000/B000/{SECRET}",
        timeout=TIMEOUT,
        max_attempts=SLACK_ATTEMPTS,
        backoff=0.05,
    )
    config = _config({"incident": {"reviews_dir": str(tmp_path / "reviews")}})
    service = IncidentService(store, config, slack=webhook)
    await service.declare("Checks failing", "API", IncidentSeverity.HIGH)
    return SlackSubject(service, store, webhook, [])


async def slack_poll(subject: SlackSubject) -> str | None:
    """Send one update; ``None`` when Slack took it, else the one-line reason shown."""
    text = f"Update {len(subject.sent) + 1}: still investigating"
    subject.sent.append(text)
    subject.last_text = text
    try:
        entry = await subject.service.send_update(text)
    except IncidentError as exc:  # the documented typed error (a refused delivery)
        reason = str(exc)
        assert_one_line(reason, "IncidentError")
    else:
        reason = None if entry.delivery == "slack: ok" else entry.delivery
    # Never lost: the update is in the timeline whatever Slack did.
    incident = await subject.service.active()
    assert incident is not None
    assert text in [e.text for e in incident.timeline], "the update is missing from the timeline"
    return reason


async def slack_after_recovery(subject: SlackSubject, server: FaultServer, fault: str) -> None:
    """A queued update goes out with the next outbox flush; a refused one says so."""
    faulted = subject.sent[-2]
    await subject.service.flush_outbox()
    delivered = [
        json.loads(r.body)["text"]
        for r in server.requests
        if r.method == "POST" and r.fault is None  # answered "ok"
    ]
    incident = await subject.service.active()
    assert incident is not None
    entry = next(e for e in incident.timeline if e.text == faulted)
    assert entry.delivery is not None
    if faulted in delivered:
        assert entry.delivery.startswith(("slack: ok", "slack: queued")), entry.delivery
    else:
        # Not retryable (the webhook or its answer is wrong): recorded, shown as failed.
        assert entry.delivery.startswith("slack: failed: "), entry.delivery
    assert subject.last_text in delivered


async def slack_close(subject: SlackSubject) -> None:
    await subject.webhook.aclose()
    await subject.store.close()


# -- the table -------------------------------------------------------------------------------------


def _poller_case(
    make: Callable[[FaultServer, Path], Awaitable[Any]],
    healthy: Callable[[Request], Answer],
    deadline: float,
    *,
    poll: Callable[[Any], Awaitable[str | None]] = _poller_poll,
    after_recovery: Callable[[Any, FaultServer, str], Awaitable[None]] | None = None,
    huge_body_issue: str | None = None,
) -> Case:
    return Case(make, poll, _poller_close, healthy, deadline, after_recovery, huge_body_issue)


def _within(seconds: float) -> float:
    """A deadline of ``seconds`` plus 10 % and 0.5 s of scheduling slack."""
    return seconds * 1.1 + 0.5


_PROMETHEUS_GIL = (
    "prometheus-api-client json-decodes the whole 20 MB body in a worker thread, which "
    "holds the GIL and stalls the event loop just the same"
)

CASES: dict[str, Case] = {
    "probe": Case(make_probe, probe_poll, probe_close, healthy_probe, _within(TIMEOUT)),
    "sentry": _poller_case(
        make_sentry,
        healthy_sentry,
        _within(1.5),
    ),
    "prometheus": _poller_case(
        make_prometheus, healthy_prometheus, _within(TIMEOUT), huge_body_issue=_PROMETHEUS_GIL
    ),
    "grafana": _poller_case(
        make_grafana,
        healthy_prometheus,
        _within(TIMEOUT),
        after_recovery=_grafana_paths,
        huge_body_issue=_PROMETHEUS_GIL,
    ),
    "alertmanager": _poller_case(
        make_alertmanager,
        healthy_alertmanager,
        _within(TIMEOUT),
    ),
    "statuspage": _poller_case(
        make_statuspage, healthy_statuspage, _within(TIMEOUT), poll=_statuspage_poll
    ),
    # Every attempt has the timeout, plus the backoff or Retry-After (1 s) between them.
    "slack": Case(
        make_slack,
        slack_poll,
        slack_close,
        healthy_slack,
        _within(SLACK_ATTEMPTS * TIMEOUT + 1.0),
        slack_after_recovery,
        "SlackWebhook reads the whole 20 MB answer and decodes and cleans it as text on the "
        "event loop (to quote it in the 'answered 200 without ok' reason)",
    ),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("source", list(CASES))
def test_http_source_survives_fault_and_recovers(
    source: str, fault: str, tmp_path: Path, slow: SlowCallbacks
) -> None:
    case = CASES[source]
    with FaultServer(case.healthy) as server:
        run_debug(lambda: exercise(case, server, fault, tmp_path, slow))
    check_slow(slow, case, fault)


@pytest.mark.parametrize(
    ("source", "cap"), [("sentry", "4 MiB"), ("alertmanager", "8 MiB"), ("statuspage", "4 MiB")]
)
def test_a_huge_answer_is_refused_unread(source: str, cap: str, tmp_path: Path) -> None:
    """Sentry, Alertmanager and the status page cap what they read; the reason says so."""
    case = CASES[source]

    async def run() -> str | None:
        with FaultServer(case.healthy) as server:
            subject = await case.make(server, tmp_path)
            try:
                assert await case.poll(subject) is None
                await asyncio.to_thread(server.set_fault, "huge-body")
                return await case.poll(subject)
            finally:
                await case.close(subject)

    reason = asyncio.run(run())
    assert reason is not None and f"larger than {cap}" in reason, reason


# -- SMTP and IMAP ---------------------------------------------------------------------------------


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "support@company.com"
    message["To"] = "customer@example.com"
    message["Subject"] = "Re: checks failing"
    message.set_content("We are on it.")
    return message


async def smtp_poll(sender: SmtpSender) -> str | None:
    try:
        await sender.send(_message())
    except MailTransportError as exc:  # the documented typed error
        return str(exc)
    return None


async def imap_poll(poller: ImapPoller) -> str | None:
    try:
        assert await poller.fetch_unseen() == []
    except MailTransportError as exc:  # the documented typed error
        return str(exc)
    return None


async def make_smtp(server: FaultServer, tmp_path: Path) -> SmtpSender:
    return SmtpSender(
        SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            user="support",
            password=SECRET,
            starttls=False,
            from_address="support@company.com",
            timeout=TIMEOUT,
            deadline=TIMEOUT,
        )
    )


async def make_imap(server: FaultServer, tmp_path: Path) -> ImapPoller:
    return ImapPoller(
        ImapSettings(
            host="127.0.0.1",
            port=server.port,
            user="support",
            password=SECRET,
            tls=False,
            timeout=TIMEOUT,
            deadline=TIMEOUT,
        )
    )


async def _nothing(subject: object) -> None:
    return None


async def _smtp_delivered(sender: SmtpSender, server: FaultServer, fault: str) -> None:
    assert len(server.mail) >= 2 and b"We are on it." in server.mail[-1]


async def _imap_logged_in(poller: ImapPoller, server: FaultServer, fault: str) -> None:
    assert len(server.logins) >= 2


MAIL_CASES = {
    "smtp": Case(
        make_smtp,
        smtp_poll,
        _nothing,
        healthy_slack,
        _within(TIMEOUT),
        _smtp_delivered,
    ),
    "imap": Case(
        make_imap,
        imap_poll,
        _nothing,
        healthy_slack,
        _within(TIMEOUT),
        _imap_logged_in,
    ),
}


MAIL_REASONS: dict[str, tuple[str, ...]] = {
    "refuse": ("connection refused",),
    "hang": ("timed out", "too slow"),  # the read timeout and the deadline are both 1 s here
    "drip": ("too slow",),
    "auth": ("login failed",),
    "busy": ("Too many connections",),
    "garbage": ("",),  # any one line: the stdlib clients word it as they like
    "truncated": ("",),
    "huge": ("",),
}


@pytest.mark.parametrize("fault", MAIL_FAULTS)
@pytest.mark.parametrize("protocol", ["smtp", "imap"])
def test_mail_transport_survives_fault_and_recovers(
    protocol: str, fault: str, tmp_path: Path, slow: SlowCallbacks
) -> None:
    """Each mail fault: one line naming the server (and the cause where the stdlib client
    reports it), within the deadline (a drip included), then a healthy poll again."""
    case = MAIL_CASES[protocol]
    reasons: list[str] = []
    with FaultServer(protocol=protocol) as server:  # type: ignore[arg-type]
        run_debug(lambda: exercise(case, server, fault, tmp_path, slow, reasons))
    check_slow(slow, case, fault)
    assert reasons and f"127.0.0.1:{server.port}" in reasons[0], reasons
    assert any(words in reasons[0] for words in MAIL_REASONS[fault]), reasons


def test_every_fault_is_covered() -> None:
    """The issue's list of faults, nothing left out."""
    assert set(FAULTS) == {
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
    }
