"""Snapshots of the incident banner, the update prompt and the incident screen."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import yaml
from textual.widgets import TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.config.loader import loads_config
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.incident_banner import IncidentBanner

from fakes import MutableClock, ScriptedRunner
from snapshot_settle import settled

SIZE = (150, 44)


def _app(tmp_path: Path):
    clock = MutableClock()
    config = loads_config(
        yaml.safe_dump({"service": "AI Governance API", "incident": {"reviews_dir": str(tmp_path)}})
    )
    db = tmp_path / "inc.db"
    start = clock()

    async def seed() -> None:
        store = await SqliteStore.open(db, clock=clock)
        incident = Incident(
            id=0,
            title="API returning 500 errors",
            component="API",
            severity=IncidentSeverity.CRITICAL,
            status=IncidentStatus.IDENTIFIED,
            started_at=start,
            impact=Impact(customers=3, failing_percent=2.0),
        )
        created = await store.create_incident(incident, actor="Alex")
        for minutes, kind, text in (
            (2, EntryKind.PROBE, "Probe API health DOWN: [STATUS] (503) == 200"),
            (5, EntryKind.STATUS, "Status: identified"),
            (9, EntryKind.NOTE, "Redis connection pool exhausted; restarting workers"),
        ):
            await store.append_timeline(
                created.id, TimelineEntry(start + timedelta(minutes=minutes), kind, text, "Alex")
            )
        await store.close()

    asyncio.run(seed())
    clock.advance(minutes=13, seconds=20)  # the update countdown is in its warning phase

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(db, clock=clock)

    return make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )


async def _settle(pilot) -> None:
    pilot.app.query_one(HealthPane).flush()
    for banner in pilot.app.screen.query(IncidentBanner):
        banner.update_banner()
    await settled(pilot)


def test_banner_on_the_dashboard(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=_settle)


def test_incident_screen(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("i")
        await pilot.pause()
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_update_prompt(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("u")
        for _ in range(50):  # the prompt mounts asynchronously
            if pilot.app.screen.query(TextArea):
                break
            await pilot.pause()
        editor = pilot.app.screen.query_one(TextArea)
        editor.cursor_blink = False
        pilot.app.screen.set_focus(None)  # no cursor at all: its blink made frames random
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=run_before)
