"""``opsconsole status`` as a subprocess against the REAL Prometheus and Alertmanager.

The issue's "Done when": the installed ``opsconsole status --json``, pointed at a real
Prometheus (scraping the demo API) and a real Alertmanager (receiving the always-firing
watchdog), the Sentry fake with a page size small enough that counts span several pages
and a 429 on the way, and the fake status page, returns the right numbers and exit code.

One stack per module; the Sentry fake is per test so faults never leak between tests.
Without the binaries the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsconsole.config.sources import DEFAULT_QUERIES
from opsconsole.core.sources import classify
from opsconsole.demo.api import DemoApi
from opsconsole.demo.prom_stack import PromStack
from opsconsole.demo.sentry_api import RecordedRequest, SentryFake
from opsconsole.demo.statuspage import DemoStatuspage

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
CANARY = "sntryu_CANARY_0b5e55ed_status_cli_do_not_leak_0000000000000000000000"
WATCHDOG = "AlwaysFiringWatchdog"
PAGE_SIZE = 5
SHIFT_AGO = timedelta(hours=6, minutes=30)
"""The shift starts (to the minute) this long before the test: issues are placed well clear
of the boundary so "new since shift" is exact too."""

# (project, hours since first seen) of unresolved issues first seen in the last 24 h.
NEW_SINCE_SHIFT = {"api": [0.1, 0.5, 1, 1.5, 2, 3, 4, 5], "dashboard": [0.2, 1, 2.5, 5.5]}
NEW_BEFORE_SHIFT = {"api": [8, 10, 12, 14, 16, 20], "dashboard": [7.5, 9, 13, 18, 22.5]}
# Unresolved, first seen before the last 24 h but still active (counted as unresolved only).
OLDER_UNRESOLVED = {"api": [25, 30, 72, 200, 1000, 2000], "dashboard": [26, 48, 500, 1500]}
# Neither unresolved nor counted anywhere, although first seen today.
RESOLVED_TODAY = {"api": [1, 3, 9], "dashboard": [2]}
IGNORED_TODAY = {"dashboard": [4]}


def _count(*groups: dict[str, list[float]]) -> dict[str, int]:
    return {p: sum(len(g.get(p, [])) for g in groups) for p in ("api", "dashboard")}


EXPECTED_NEW_24H = _count(NEW_SINCE_SHIFT, NEW_BEFORE_SHIFT)
EXPECTED_SINCE_SHIFT = _count(NEW_SINCE_SHIFT)
EXPECTED_UNRESOLVED = _count(NEW_SINCE_SHIFT, NEW_BEFORE_SHIFT, OLDER_UNRESOLVED)
assert sum(EXPECTED_NEW_24H.values()) == 23  # several pages of PAGE_SIZE


# -- fixtures ---------------------------------------------------------------------------


def _require_binaries() -> None:
    reason = PromStack.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def _wait(predicate: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _has_rate(prom: PromStack) -> bool:
    query = urllib.parse.urlencode({"query": "sum(rate(http_requests_total[5m])) > 0"})
    return bool(_get_json(f"{prom.prometheus_url}/api/v1/query?{query}")["data"]["result"])


def _watchdog_in_alertmanager(prom: PromStack) -> bool:
    alerts = _get_json(f"{prom.alertmanager_url}/api/v2/alerts")
    return any(a["labels"].get("alertname") == WATCHDOG for a in alerts)


@dataclass
class Stack:
    """The demo API, Prometheus + Alertmanager on it, and the fake status page."""

    api: DemoApi
    prom: PromStack
    page: DemoStatuspage


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Started once; ready when rate() has data and the watchdog reached Alertmanager."""
    _require_binaries()
    api = DemoApi(healthy_for=3600, unhealthy_for=1).start()
    # A 5xx and a 429 series exist from the first scrape, so every default query is a number.
    api.metrics.observe("POST", "/v1/check", 500, 0.05)
    api.metrics.observe("POST", "/v1/check", 429, 0.01)
    page = DemoStatuspage(scenario="degraded").start()
    try:
        with PromStack([f"127.0.0.1:{api.port}"]).start() as prom:
            _wait(lambda: _has_rate(prom), "rate() data from the demo API")
            _wait(lambda: _watchdog_in_alertmanager(prom), "the watchdog in Alertmanager")
            yield Stack(api, prom, page)
    finally:
        page.stop()
        api.stop()


def _populate(fake: SentryFake, now: datetime) -> None:
    def add(groups: dict[str, list[float]], **kw: Any) -> None:
        for project, hours in groups.items():
            for h in hours:
                first = now - timedelta(hours=h)
                last = min(now, first + timedelta(minutes=20))
                fake.add_issue(project, first_seen=first, last_seen=last, **kw)

    add(NEW_SINCE_SHIFT)
    add(NEW_BEFORE_SHIFT, level="warning")
    for project, hours in OLDER_UNRESOLVED.items():  # old but seen recently (90-day window)
        for h in hours:
            fake.add_issue(
                project,
                title="TimeoutError: Redis command timed out",
                first_seen=now - timedelta(hours=h),
                last_seen=now - timedelta(minutes=h % 50 + 1),
                count=int(h) * 3,
            )
    add(RESOLVED_TODAY, status="resolved")
    add(IGNORED_TODAY, status="ignored")


@pytest.fixture
def sentry() -> Iterator[SentryFake]:
    """The Sentry fake, 5 issues per page, with the issue mix above."""
    fake = SentryFake(token=CANARY, issues=[], page_size=PAGE_SIZE).start()
    _populate(fake, datetime.now(UTC))
    yield fake
    fake.stop()


# -- running the command -----------------------------------------------------------------


def _write_config(
    tmp_path: Path,
    stack: Stack,
    sentry: SentryFake | None,
    *,
    alertmanager: bool = True,
    statuspage: bool = True,
) -> Path:
    starts = (datetime.now(UTC) - SHIFT_AGO).strftime("%H:%M")
    document: dict[str, Any] = {
        "service": "AI Governance API",
        "timezone": "UTC",
        "shift": {"starts": [starts]},
        "probes": [{"name": "API health", "url": f"{stack.api.base_url}/health"}],
        "prometheus": {"url": stack.prom.prometheus_url, "interval": "15s", "timeout": "5s"},
    }
    if sentry is not None:
        document["sentry"] = {
            "base_url": sentry.base_url,
            "org": "acme",
            "projects": ["api", "dashboard"],
            "token": "${OPSCONSOLE_TEST_SENTRY_TOKEN}",
        }
    if alertmanager:
        document["alertmanager"] = {"url": stack.prom.alertmanager_url, "timeout": "5s"}
    if statuspage:
        document["statuspage"] = {"url": stack.page.base_url}
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _status(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "SENTRY" not in k}
    env["OPSCONSOLE_TEST_SENTRY_TOKEN"] = CANARY
    proc = subprocess.run(
        [str(OPSCONSOLE), "status", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert CANARY not in proc.stdout and CANARY not in proc.stderr
    return proc


def _document(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"not one JSON document (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return document


def _assert_metrics(metrics: dict[str, Any]) -> None:
    readings = metrics["readings"]
    assert [r["name"] for r in readings] == [q.name for q in DEFAULT_QUERIES]
    for reading, query in zip(readings, DEFAULT_QUERIES, strict=True):
        assert reading["error"] is None, reading
        assert isinstance(reading["value"], float), reading
        assert reading["level"] in ("ok", "warn", "crit"), reading
        assert reading["level"] == classify(reading["value"], query.warn, query.crit)
        assert reading["unit"] == query.unit
    by_name = {r["name"]: r for r in readings}
    assert by_name["request rate"]["value"] > 0
    assert by_name["request rate"]["series"], "the chart has points"


def _assert_alerts(alerts: dict[str, Any]) -> None:
    watchdogs = [a for a in alerts["firing"] if a["name"] == WATCHDOG]
    assert len(watchdogs) == 1, alerts["firing"]
    assert watchdogs[0]["severity"] == "none"
    assert watchdogs[0]["summary"] == "Watchdog: the alerting pipeline works"
    assert watchdogs[0]["silenced"] is False and watchdogs[0]["inhibited"] is False
    assert alerts["history_error"] is None
    assert {"name": WATCHDOG, "severity": "none"}.items() <= next(
        f for f in alerts["fired_since_shift"] if f["name"] == WATCHDOG
    ).items()


def _assert_statuspage(page: dict[str, Any]) -> None:
    # The "degraded" scenario: minor, one degraded child (its group is skipped), an incident.
    assert page["indicator"] == "minor"
    assert page["description"] == "Partially Degraded Service"
    assert [(c["name"], c["status"]) for c in page["components"]] == [
        ("Ingestion / EU", "degraded_performance")
    ]
    assert [i["name"] for i in page["incidents"]] == ["Elevated error rates in EU ingestion"]


# -- tests ------------------------------------------------------------------------------


@pytest.mark.realserver
def test_status_json_counts_across_pages_after_a_429(
    stack: Stack, sentry: SentryFake, tmp_path: Path
) -> None:
    """The issue's "Done when": exact Sentry counts over several pages after one 429 (with
    Retry-After honoured), real metrics, the real watchdog alert, the status page, exit 0,
    and the token never printed."""
    sentry.inject("429", times=1, only="firstSeen", retry_after=1)
    arrivals: list[tuple[float, RecordedRequest]] = []
    record = sentry._record

    def timed(request: RecordedRequest) -> None:
        arrivals.append((time.monotonic(), request))
        record(request)

    sentry._record = timed  # type: ignore[method-assign]
    proc = _status(_write_config(tmp_path, stack, sentry), "--json")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = _document(proc)
    # ("tickets" and "incident" join these once they exist.)
    assert {"probes", "sentry", "metrics", "alerts", "statuspage"} <= set(document)
    assert [(p["name"], p["ok"]) for p in document["probes"]] == [("API health", True)]

    counts = document["sentry"]
    assert counts["projects"] == {
        p: {
            "unresolved": EXPECTED_UNRESOLVED[p],
            "new_24h": EXPECTED_NEW_24H[p],
            "new_since_shift": EXPECTED_SINCE_SHIFT[p],
        }
        for p in ("api", "dashboard")
    }
    assert counts["unresolved"] == sum(EXPECTED_UNRESOLVED.values()) == 33
    assert counts["new_24h"] == sum(EXPECTED_NEW_24H.values()) == 23
    assert counts["new_since_shift"] == sum(EXPECTED_SINCE_SHIFT.values())
    assert 0 < len(counts["top"]) <= 10
    assert all(isinstance(i["events"], int) for i in counts["top"])  # "count" is a string

    # The walk really went over several pages and retried the 429 after Retry-After.
    walks = [(t, r) for t, r in arrivals if "firstSeen:-24h" in (r.value("query") or "")]
    assert len(walks) == 1 + -(-23 // PAGE_SIZE)  # the 429, then 5 pages
    assert [bool(r.value("cursor")) for _, r in walks] == [False, False, True, True, True, True]
    assert walks[1][0] - walks[0][0] >= 0.95, "Retry-After: 1 was not waited out"

    _assert_metrics(document["metrics"])
    _assert_alerts(document["alerts"])
    _assert_statuspage(document["statuspage"])


@pytest.mark.realserver
def test_sentry_401_exits_1_and_leaves_the_other_sources_intact(
    stack: Stack, sentry: SentryFake, tmp_path: Path
) -> None:
    """One failing source makes the exit code 1 and is ``{"error": ...}``; the others are
    still there and correct."""
    sentry.inject("401", times=None)
    proc = _status(_write_config(tmp_path, stack, sentry), "--json")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    document = _document(proc)
    assert set(document["sentry"]) == {"error"}
    assert document["sentry"]["error"].startswith("401 Unauthorized: "), document["sentry"]
    _assert_metrics(document["metrics"])
    _assert_alerts(document["alerts"])
    _assert_statuspage(document["statuspage"])


@pytest.mark.realserver
def test_sources_not_configured_are_null(stack: Stack, tmp_path: Path) -> None:
    """A source missing from checks.yaml is ``null`` (not an error) and does not fail the
    exit code."""
    config = _write_config(tmp_path, stack, None, alertmanager=False, statuspage=False)
    proc = _status(config, "--json")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = _document(proc)
    assert document["sentry"] is None
    assert document["alerts"] is None
    assert document["statuspage"] is None
    _assert_metrics(document["metrics"])


@pytest.mark.realserver
def test_table_has_one_line_per_source(stack: Stack, sentry: SentryFake, tmp_path: Path) -> None:
    """Without --json: one headline per source with its key numbers, exit 0."""
    proc = _status(_write_config(tmp_path, stack, sentry))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    heads = [line.split()[0] for line in lines if line and not line.startswith(" ")]
    assert heads == ["PROBES", "SENTRY", "METRICS", "ALERTS", "STATUSPAGE"]
    text = proc.stdout
    assert "PROBES      1/1 ok" in lines
    assert "SENTRY      33 unresolved, 23 new in 24h" in text
    assert "  api: 20 unresolved, 14 new in 24h" in lines
    assert "  dashboard: 13 unresolved, 9 new in 24h" in lines
    assert any(line.startswith("ALERTS ") and line.endswith(" firing") for line in lines)
    assert any(WATCHDOG in line and "none" in line for line in lines)
    assert "fired since shift start: " in text and WATCHDOG in text
    assert "STATUSPAGE  minor: Partially Degraded Service" in lines
    for reading in DEFAULT_QUERIES:
        assert any(line.strip().endswith(reading.unit) and reading.name in line for line in lines)
