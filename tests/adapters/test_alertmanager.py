"""AlertmanagerSource against a REAL Alertmanager fed by a REAL Prometheus, plus fakes.

One stack per module: a prometheus_client exporter with a gauge the tests toggle,
Prometheus evaluating rules every second (an always-firing watchdog, an always-firing page,
a rule without severity and one on the toggle) and an Alertmanager receiving them. Without
the binaries the stack tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from opsconsole.adapters.alertmanager import AlertmanagerSource, parse_alerts
from opsconsole.adapters.prometheus import PrometheusSource
from opsconsole.config.sources import AlertmanagerConfig, PrometheusConfig
from opsconsole.core.sources import Alert, SourceError
from opsconsole.demo.prom_stack import DEMO_RULES, AlertRule, PromStack

from grafana_proxy import FixedServer, serving

CANARY = "am_CANARY_51c0ffee_do_not_leak"
WATCHDOG = DEMO_RULES[0]
RULES = (
    WATCHDOG,
    AlertRule("AlwaysPaging", "vector(1)", "page", "Paging test rule"),
    AlertRule("NoSeverity", "vector(1)", "", "A rule without a severity label"),
    AlertRule("ToggleFiring", "opsconsole_test_toggle > 0", "warning", "The toggle is on"),
)


@dataclass
class Stack:
    """The running stack and the exporter gauge that drives ``ToggleFiring``."""

    prom: PromStack
    toggle: Gauge


def _require_binaries() -> None:
    reason = PromStack.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _am_alerts(stack: Stack) -> set[str]:
    with urllib.request.urlopen(f"{stack.prom.alertmanager_url}/api/v2/alerts", timeout=2) as r:
        return {a["labels"]["alertname"] for a in json.load(r)}


def _wait(predicate: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Exporter + Prometheus + Alertmanager, waited on until the always-firing rules arrive."""
    _require_binaries()
    registry = CollectorRegistry()
    toggle = Gauge("opsconsole_test_toggle", "Drives the ToggleFiring rule.", registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        target = f"127.0.0.1:{server.server_address[1]}"
        with PromStack([target], rules=RULES).start() as prom:
            running = Stack(prom, toggle)
            wanted = {"AlwaysFiringWatchdog", "AlwaysPaging", "NoSeverity"}
            _wait(lambda: wanted <= _am_alerts(running), "alerts to reach Alertmanager")
            yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    """Sources appended here are closed after the test."""
    sources: list[Any] = []
    yield sources
    for source in sources:
        await source.aclose()


def _am(url: str, closing: list[Any], **kw: Any) -> AlertmanagerSource:
    config = AlertmanagerConfig.model_validate(
        {"url": url, "timeout": kw.pop("timeout", "5s"), **kw.pop("config", {})}
    )
    source = AlertmanagerSource(config, **kw)
    closing.append(source)
    return source


def _fire_and_resolve_toggle(stack: Stack) -> None:
    """Make the ToggleFiring rule fire, then resolve, as Alertmanager sees it."""
    stack.toggle.set(1)
    try:
        _wait(lambda: "ToggleFiring" in _am_alerts(stack), "ToggleFiring to fire")
    finally:
        stack.toggle.set(0)
    _wait(lambda: "ToggleFiring" not in _am_alerts(stack), "ToggleFiring to resolve")


def _prom(url: str, closing: list[Any]) -> PrometheusSource:
    source = PrometheusSource(PrometheusConfig(url=url, timeout=timedelta(seconds=5)))
    closing.append(source)
    return source


async def _reason(source: AlertmanagerSource) -> str:
    with pytest.raises(SourceError) as info:
        await source.poll()
    reason = str(info.value)
    assert CANARY not in reason and "\n" not in reason
    return reason


# -- real Alertmanager ------------------------------------------------------------------


@pytest.mark.realserver
async def test_firing_alerts_with_severity_age_and_sort_order(
    stack: Stack, closing: list[Any]
) -> None:
    """The always-firing rules arrive with severity, summary and an aware UTC start."""
    source = _am(stack.prom.alertmanager_url, closing, config={"token": CANARY})
    snapshot = await source.poll()
    by_name = {a.name: a for a in snapshot.firing}

    watchdog = by_name["AlwaysFiringWatchdog"]
    assert watchdog.severity == "none"
    assert watchdog.summary == WATCHDOG.summary
    assert watchdog.state == "active"
    assert (watchdog.silenced, watchdog.inhibited) == (False, False)
    assert len(watchdog.fingerprint) == 16
    assert ("alertname", "AlwaysFiringWatchdog") in watchdog.labels
    assert watchdog.starts_at is not None and watchdog.starts_at.tzinfo is UTC
    age = datetime.now(UTC) - watchdog.starts_at
    assert timedelta(0) <= age < timedelta(minutes=1)
    assert by_name["NoSeverity"].severity == "none"  # Prometheus drops the empty label
    assert "severity" not in dict(by_name["NoSeverity"].labels)
    assert snapshot.firing[0].name == "AlwaysPaging"  # page sorts first
    assert snapshot.fired_since_shift is None and snapshot.history_error is None


@pytest.mark.realserver
async def test_silence_marks_the_alert_silenced(stack: Stack, closing: list[Any]) -> None:
    """A silence created through POST /api/v2/silences shows as silenced/suppressed."""
    now = datetime.now(UTC)
    silence = {
        "matchers": [{"name": "alertname", "value": "AlwaysPaging", "isRegex": False}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "opsconsole tests",
        "comment": "testing",
    }
    request = urllib.request.Request(
        f"{stack.prom.alertmanager_url}/api/v2/silences",
        data=json.dumps(silence).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        silence_id = json.load(response)["silenceID"]
    try:
        source = _am(stack.prom.alertmanager_url, closing)
        by_name = {a.name: a for a in (await source.poll()).firing}
        paging = by_name["AlwaysPaging"]
        assert paging.silenced is True
        assert paging.state == "suppressed"
        assert by_name["AlwaysFiringWatchdog"].silenced is False
    finally:
        delete = urllib.request.Request(
            f"{stack.prom.alertmanager_url}/api/v2/silence/{silence_id}", method="DELETE"
        )
        urllib.request.urlopen(delete, timeout=2).close()


@pytest.mark.realserver
async def test_resolved_alert_stays_in_the_shift_history(stack: Stack, closing: list[Any]) -> None:
    """A rule that fired and resolved is gone from Alertmanager but listed in fired_since."""
    shift_start = datetime.now(UTC) - timedelta(minutes=5)
    source = _am(
        stack.prom.alertmanager_url,
        closing,
        history=_prom(stack.prom.prometheus_url, closing),
        shift_start=lambda: shift_start,
    )
    _fire_and_resolve_toggle(stack)

    snapshot = await source.poll()
    assert "ToggleFiring" not in {a.name for a in snapshot.firing}
    assert snapshot.history_error is None
    assert snapshot.fired_since_shift is not None
    fired = {f.name: f for f in snapshot.fired_since_shift}
    assert fired["ToggleFiring"].severity == "warning"
    assert {"AlwaysFiringWatchdog", "AlwaysPaging", "NoSeverity"} <= fired.keys()


@pytest.mark.realserver
async def test_overnight_history_is_read_from_the_previous_shift_start(
    stack: Stack, closing: list[Any]
) -> None:
    """An alert that fired and resolved before this shift began is in ``fired_overnight``
    (read from the previous shift's start), not in this shift's ``fired_since_shift``."""
    overnight = datetime.now(UTC) - timedelta(minutes=5)
    _fire_and_resolve_toggle(stack)
    time.sleep(2.5)  # past Prometheus's last firing sample (1 s evaluations)
    shift_start = datetime.now(UTC)
    time.sleep(1.5)  # a few evaluations inside this shift's window
    source = _am(
        stack.prom.alertmanager_url,
        closing,
        history=_prom(stack.prom.prometheus_url, closing),
        shift_start=lambda: shift_start,
        overnight_start=lambda: overnight,
    )

    snapshot = await source.poll()
    assert snapshot.history_error is None
    assert snapshot.since == shift_start and snapshot.overnight_since == overnight
    assert snapshot.fired_since_shift is not None and snapshot.fired_overnight is not None
    this_shift = {f.name for f in snapshot.fired_since_shift}
    night = {f.name for f in snapshot.fired_overnight}
    assert "ToggleFiring" in night and "ToggleFiring" not in this_shift
    assert "AlwaysFiringWatchdog" in night & this_shift


@pytest.mark.realserver
async def test_history_failure_keeps_the_firing_list(
    stack: Stack, closing: list[Any], closed_port: int
) -> None:
    """When Prometheus is unreachable the pane still gets the firing alerts."""
    source = _am(
        stack.prom.alertmanager_url,
        closing,
        history=_prom(f"http://127.0.0.1:{closed_port}", closing),
    )
    snapshot = await source.poll()
    assert "AlwaysFiringWatchdog" in {a.name for a in snapshot.firing}
    assert snapshot.fired_since_shift is None
    assert snapshot.history_error == (
        f"cannot reach Prometheus at 127.0.0.1:{closed_port}: connection refused"
    )


# -- failures (no stack needed) ---------------------------------------------------------


async def test_unreachable(closing: list[Any], closed_port: int) -> None:
    """Connection refused is a one-line reason with host:port."""
    source = _am(f"http://127.0.0.1:{closed_port}", closing, config={"token": CANARY})
    assert await _reason(source) == (
        f"cannot reach Alertmanager at 127.0.0.1:{closed_port}: connection refused"
    )


async def test_timeout(closing: list[Any], blackhole: tuple[str, int]) -> None:
    """A server that never answers: the poll gives up at config.timeout."""
    host, port = blackhole
    source = _am(f"http://{host}:{port}", closing, timeout="300ms")
    started = time.monotonic()
    assert await _reason(source) == "Alertmanager did not answer within 300ms"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status", "body", "ctype", "expected"),
    [
        (
            400,
            b'"bad matcher format: alertname=~"',
            "application/json",
            "Alertmanager answered HTTP 400: bad matcher format: alertname=~",
        ),
        (
            500,
            b'"storage\\nfailure"',
            "application/json",
            "Alertmanager answered HTTP 500: storage",
        ),
        (401, b"Unauthorized", "text/plain", "Alertmanager rejected the token (401)"),
        (502, b"<html>Bad Gateway</html>", "text/html", "Alertmanager answered HTTP 502"),
        (
            200,
            b"<html>login</html>",
            "text/html; charset=utf-8",
            "Alertmanager answered with something that is not its API JSON (text/html)",
        ),
        (
            200,
            b'{"status": "success"}',
            "application/json",
            "Alertmanager answered with something that is not its API JSON (application/json)",
        ),
    ],
)
async def test_http_errors_are_one_line_reasons(
    closing: list[Any], status: int, body: bytes, ctype: str, expected: str
) -> None:
    """400/500 bodies are JSON strings; other answers become short reasons."""
    with serving(FixedServer(status, body, ctype)) as fake:
        source = _am(fake.url, closing, config={"token": CANARY})
        assert await _reason(source) == expected
        assert fake.headers[-1]["Authorization"] == f"Bearer {CANARY}"
        assert fake.hits == 1


def test_parse_alerts_sorts_by_severity_then_age_and_tolerates_junk() -> None:
    """Critical/page first, then oldest first; nanosecond times parse; bad rows skipped."""

    def row(name: str, severity: str | None, starts: str) -> dict[str, Any]:
        labels = {"alertname": name} | ({"severity": severity} if severity else {})
        return {
            "labels": labels,
            "annotations": {"description": f"{name} described"},
            "startsAt": starts,
            "fingerprint": name.lower(),
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": ["x"]},
        }

    alerts = parse_alerts(
        [
            row("Info", "info", "2026-11-02T01:00:00.000Z"),
            row("NewCrit", "critical", "2026-11-02T03:00:00.123456789Z"),
            "junk",
            row("OldPage", "page", "2026-11-02T02:00:00Z"),
            row("Warn", "warning", "not a time"),
            row("Bare", None, "0001-01-01T00:00:00Z"),
        ]
    )
    assert [a.name for a in alerts] == ["OldPage", "NewCrit", "Warn", "Info", "Bare"]
    new_crit = alerts[1]
    assert new_crit.starts_at == datetime(2026, 11, 2, 3, 0, 0, 123456, tzinfo=UTC)
    assert new_crit.summary == "NewCrit described"
    assert new_crit.inhibited is True and new_crit.silenced is False
    assert alerts[2].starts_at is None and alerts[4].starts_at is None
    assert alerts[4].severity == "none"
    assert isinstance(alerts[0], Alert)
