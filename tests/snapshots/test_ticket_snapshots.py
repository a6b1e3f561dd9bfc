"""Snapshots of the ticket queue, the Tickets screen and a ticket, at a frozen time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.widgets.health_pane import HealthPane

from fakes import MutableClock, ScriptedRunner
from snapshot_settle import settled
from ticket_fixtures import seed_store, ticket_config

SIZE = (150, 44)


def _app(tmp_path: Path):
    config = ticket_config(tmp_path)
    db = tmp_path / "snap.db"

    clock = MutableClock()

    async def seed() -> None:
        store = await SqliteStore.open(db, clock=clock)
        await seed_store(store, config)
        await store.close()

    asyncio.run(seed())

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(db, clock=clock)

    return make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )


async def _settle(pilot) -> None:
    pilot.app.query_one(HealthPane).flush()
    await settled(pilot)


def test_dashboard_with_ticket_queue(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=_settle)


def test_tickets_screen(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("t")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_ticket_screen(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=run_before)
