"""A probe that was already down before the console started counts its outage from the
history, not from the restart: the guide's "API completely down (> 15 minutes)" suggestion
comes at once instead of 15 minutes after every restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import yaml

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.config.loader import loads_config
from opsconsole.core.models import ProbeState
from opsconsole.engine import ProbeEngine
from pilot_wait import until

from fakes import FROZEN, MutableClock, ScriptedRunner, failed, ok

NAME = "API health"


def _config(tmp_path: Path):
    document = {
        "service": "AI Governance API",
        "probes": [{"name": NAME, "url": "http://127.0.0.1:9/health", "interval": "1h"}],
        "incident": {"reviews_dir": str(tmp_path / "reviews")},
    }
    return loads_config(yaml.safe_dump(document))


async def _seed(path: Path, *, down_for: timedelta) -> None:
    store = await SqliteStore.open(path)
    went_down = FROZEN - down_for
    await store.record_probe_results(
        [
            replace(ok(NAME, at=went_down - timedelta(minutes=5)), state=ProbeState.UP),
            replace(failed(NAME, at=went_down), state=ProbeState.DOWN),
            replace(failed(NAME, at=went_down + timedelta(minutes=1)), state=ProbeState.DOWN),
        ]
    )
    await store.close()


async def test_state_since_is_the_start_of_the_current_run(tmp_path: Path) -> None:
    await _seed(tmp_path / "h.db", down_for=timedelta(hours=1))
    store = await SqliteStore.open(tmp_path / "h.db")
    try:
        assert await store.state_since(NAME, ProbeState.DOWN) == FROZEN - timedelta(hours=1)
        assert await store.state_since(NAME, ProbeState.UP) is None  # not its state now
        assert await store.state_since("unknown probe", ProbeState.DOWN) is None
        engine = ProbeEngine(_config(tmp_path), store=store, runner=ScriptedRunner())
        await engine.load_history()
        (status,) = engine.statuses()
        assert status.state is ProbeState.DOWN
        assert status.since == FROZEN - timedelta(hours=1)
    finally:
        await store.close()


async def test_suggestion_right_after_a_restart_during_an_outage(tmp_path: Path) -> None:
    await _seed(tmp_path / "h.db", down_for=timedelta(hours=1))
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "h.db", clock=clock)

    app = make_app(
        _config(tmp_path),
        store_factory=store_factory,
        runner_factory=lambda: ScriptedRunner({NAME: [failed(NAME)]}),
        clock=clock,
        poll=False,
    )
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("escape")  # the start-of-shift checklist, if it opened
        await pilot.press("r")  # one run: still down
        await app.workers.wait_for_complete()
        await until(
            pilot,
            lambda: any(n.title == "Declare an incident?" for n in app._notifications),
        )
        (note,) = [n for n in app._notifications if n.title == "Declare an incident?"]
        assert NAME in str(note.message)
