"""Dashboard snapshots: frozen clock, fixed data; plain ``def`` (snap_compare runs a loop)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.clock import frozen_clock
from opsconsole.core.models import ProbeState

from fakes import FROZEN, ScriptedRunner, config_with, failed, ok, slow

NAMES = ["API health", "Dashboard", "Slow endpoint", "API key check", "Postgres"]
SIZE = (120, 24)


def _seed(db: Path) -> None:
    """Write a day of history so uptime and sparklines have something to draw."""

    async def go() -> None:
        store = await SqliteStore.open(db)
        for i in range(30):
            at = FROZEN - timedelta(minutes=30 - i)
            for name in NAMES:
                result = ok(name, latency=40 + (i * 7) % 35, at=at)
                if name == "Postgres" and i > 20:
                    result = replace(failed(name, at=at), state=ProbeState.DOWN)
                elif name == "Slow endpoint":
                    result = replace(slow(name, at=at), latency_ms=900 + i * 20)
                await store.record_probe_result(result)
        # the latest state per probe, as the engine would have written it
        await store.record_probe_result(replace(failed("Postgres"), state=ProbeState.DOWN))
        await store.record_probe_result(replace(slow("Slow endpoint"), state=ProbeState.DEGRADED))
        await store.close()

    asyncio.run(go())


def _app(db: Path):
    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(db)

    return make_app(
        config_with(NAMES, service="AI Governance API"),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        clock=frozen_clock(FROZEN),
        poll=False,
    )


def test_dashboard_from_history(snap_compare, tmp_path: Path) -> None:
    """Down first, then degraded, with failing conditions and 24h uptime."""
    db = tmp_path / "snap.db"
    _seed(db)
    assert snap_compare(_app(db), terminal_size=SIZE)


def test_dashboard_empty_store(snap_compare, tmp_path: Path) -> None:
    """A first start: every probe is listed as unknown with its target."""
    assert snap_compare(_app(tmp_path / "empty.db"), terminal_size=SIZE)


def test_help_screen(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path / "h.db"), terminal_size=SIZE, press=["question_mark"])


def test_paused(snap_compare, tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    _seed(db)
    assert snap_compare(_app(db), terminal_size=SIZE, press=["p"])
