"""Hunt 3: probe history in a real SqliteStore, read back by the report and the dashboard.

Results are written with the store's ordinary ``record_probe_results``; expected values
are worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.core.report_render import render_report_md
from opsconsole.reporting import make_report

NOW = datetime(2025, 3, 31, 12, 30, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(tmp_path / "ops.db") as s:
        yield s


def config(retention: str = "90d") -> Config:
    return loads_config(
        f"retention: {retention}\n"
        "probes:\n"
        "  - {name: API health, url: 'http://127.0.0.1:9/health', interval: 60s}\n"
    )


def result(at: datetime, up: bool, probe: str = "API health") -> ProbeResult:
    outcome = Outcome.OK if up else Outcome.CONNECTION_REFUSED
    return ProbeResult(probe, at, outcome, latency_ms=10.0 if up else None)


async def record_every_minute(store: SqliteStore, start: datetime, end: datetime, up: bool) -> None:
    moments = []
    at = start
    while at < end:
        moments.append(at)
        at += M
    await store.record_probe_results([result(m, up) for m in moments])


async def test_hours_the_console_did_not_run_are_not_downtime(store: SqliteStore) -> None:
    # Down from 09:00; the console quit at 09:05 and was started again at 11:00 (all up).
    await record_every_minute(
        store, NOW.replace(hour=9, minute=0), NOW.replace(hour=9, minute=5), False
    )
    await record_every_minute(store, NOW.replace(hour=11, minute=0), NOW, True)
    report = await make_report(store, config(), since=3.5 * H, now=NOW)
    (probe,) = report.uptime
    assert probe.samples == 5 + 90
    assert probe.downtime_minutes == pytest.approx(5)
    assert probe.covered_minutes == pytest.approx(95)
    assert "45.2%" in render_report_md(report, UTC)  # 95 of the 210 minutes


async def test_a_report_longer_than_the_retention_says_it_has_only_the_retention(
    store: SqliteStore,
) -> None:
    for day in range(60):  # one all-up hour a day for 60 days, then pruned to 30 days
        start = (NOW - timedelta(days=day)).replace(minute=0)
        await record_every_minute(store, start, start + H, True)
    await store.prune(NOW - timedelta(days=30))
    report = await make_report(store, config("30d"), since=timedelta(days=90), now=NOW)
    assert report.history_from == NOW - timedelta(days=30)
    text = render_report_md(report, UTC)
    assert "retention" in text and "2025-03-01 12:30" in text
    (probe,) = report.uptime
    assert probe.covered_minutes <= 30 * 24 * 60
    inside = await make_report(store, config("30d"), since=timedelta(days=7), now=NOW)
    assert inside.history_from is None


async def test_the_dashboard_24h_matches_the_report_over_the_last_24h(
    store: SqliteStore,
) -> None:
    # Down for the first 40 minutes of every fifth hour over 26 hours, up otherwise.
    start = (NOW - 26 * H).replace(minute=0)
    at = start
    batch = []
    while at < NOW:
        batch.append(result(at, not (at.hour % 5 == 0 and at.minute < 40)))
        at += M
    await store.record_probe_results(batch)
    report = await make_report(store, config(), since=24 * H, now=NOW)
    (probe,) = report.uptime
    uptime = await store.uptime("API health", NOW)
    assert probe.uptime is not None and uptime.day == pytest.approx(probe.uptime)


async def test_a_removed_probe_keeps_its_history_in_the_report(store: SqliteStore) -> None:
    await record_every_minute(store, NOW - 2 * H, NOW - H, False)
    await store.record_probe_results([result(NOW - 90 * M, True, probe="Old name")])
    report = await make_report(store, config(), since=24 * H, now=NOW)
    names = [u.probe for u in report.uptime]
    assert names == ["API health", "Old name"]
