"""Snapshots of every source pane in its ok, stale and error states (frozen clock)."""

from __future__ import annotations

from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.sources import SourceError
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.status_header import StatusHeader

from fakes import (
    FakeSource,
    MutableClock,
    ScriptedRunner,
    alerts_snapshot,
    metrics_snapshot,
    sentry_snapshot,
    sources_config,
    statuspage_snapshot,
)
from snapshot_settle import settled

SIZE = (160, 48)
ERRORS = {
    "sentry": "401 Unauthorized: the Sentry token is invalid or expired",
    "metrics": "cannot reach Prometheus at 127.0.0.1:9090: connection refused",
    "alerts": "Alertmanager did not answer within 10s",
    "statuspage": "not an Atlassian Statuspage (summary.json returned 404)",
}


def _app(tmp_path: Path, clock: MutableClock, *, fail_second: bool = False):
    snapshots = {
        "sentry": sentry_snapshot(),
        "metrics": metrics_snapshot(),
        "alerts": alerts_snapshot(),
        "statuspage": statuspage_snapshot(),
    }
    fakes = {
        name: FakeSource(data, SourceError(ERRORS[name])) if fail_second else FakeSource(data)
        for name, data in snapshots.items()
    }

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "snap.db", clock=clock)

    return make_app(
        sources_config(),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )


async def _refresh(pilot) -> None:
    await pilot.press("r")
    await pilot.app.workers.wait_for_complete()
    pilot.app.clear_notifications()  # the toast would hide the status page pane
    await _settle(pilot)


async def _settle(pilot) -> None:
    """Apply what the 0.5 s / 1 s timers would, so the frame never races them."""
    pilot.app.query_one(HealthPane).flush()
    pilot.app._update_overall()
    pilot.app.query_one(StatusHeader).refresh()
    await settled(pilot)


def test_sources_ok(snap_compare, tmp_path: Path) -> None:
    clock = MutableClock()
    assert snap_compare(_app(tmp_path, clock), terminal_size=SIZE, run_before=_refresh)


def test_sources_stale(snap_compare, tmp_path: Path) -> None:
    clock = MutableClock()

    async def run_before(pilot) -> None:
        await _refresh(pilot)
        clock.advance(minutes=10)  # more than 3 intervals of every source
        for pane in pilot.app.query(SourcePane):
            pane._refresh_freshness()
        await _settle(pilot)

    assert snap_compare(_app(tmp_path, clock), terminal_size=SIZE, run_before=run_before)


def test_sources_error(snap_compare, tmp_path: Path) -> None:
    clock = MutableClock()

    async def run_before(pilot) -> None:
        await _refresh(pilot)
        clock.advance(seconds=30)
        await _refresh(pilot)

    app = _app(tmp_path, clock, fail_second=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
