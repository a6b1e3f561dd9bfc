"""The probe engine: scheduling, pause/resume, run-now, history and store failures."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from opsconsole import engine as engine_module
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.schema import ProbeConfig
from opsconsole.core.clock import frozen_clock
from opsconsole.core.models import ProbeResult, ProbeState
from opsconsole.engine import ProbeEngine, ProbeStatus, next_due

from fakes import FROZEN, ScriptedRunner, config_with, failed, ok


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def test_run_once_debounces_records_and_publishes(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "e.db")
    seen: list[ProbeStatus] = []
    runner = ScriptedRunner({"b": [failed("b")]})
    engine = ProbeEngine(
        config_with(["a", "b"]),
        store=store,
        runner=runner,
        clock=frozen_clock(FROZEN),
        listener=seen.append,
    )
    for _ in range(3):
        results = await engine.run_once()
    assert [r.probe for r in results] == ["a", "b"]
    assert [r.state for r in results] == [ProbeState.UP, ProbeState.DOWN]
    latest = await store.latest_results()
    assert latest["b"].state is ProbeState.DOWN
    assert latest["b"].reason == "[STATUS] (503) == 200"
    assert len(seen) == 6 and seen[-1].state is ProbeState.DOWN
    assert seen[-1].latencies == (12.0, 12.0, 12.0)
    await store.close()


async def test_history_seeds_state_and_sparkline(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "h.db")
    for latency in (10.0, 20.0, 30.0):
        await store.record_probe_result(replace(ok("a", latency=latency), state=ProbeState.UP))
    await store.record_probe_result(replace(failed("b"), state=ProbeState.DOWN))
    engine = ProbeEngine(
        config_with(["a", "b", "c"]),
        store=store,
        runner=ScriptedRunner(),
        clock=frozen_clock(FROZEN),
    )
    await engine.load_history()
    by_name = {s.name: s for s in engine.statuses()}
    assert by_name["a"].state is ProbeState.UP and by_name["a"].latencies == (10.0, 20.0, 30.0)
    assert by_name["b"].state is ProbeState.DOWN
    assert by_name["c"].state is ProbeState.UNKNOWN and by_name["c"].result is None
    assert by_name["a"].uptime is not None and by_name["a"].uptime.day == 100.0
    # b was DOWN in the history: one success is not enough to come back (threshold 2)
    results = await engine.run_once(["b"])  # the scripted runner answers ok for b now
    assert results[0].state is ProbeState.DOWN
    results = await engine.run_once(["b"])
    assert results[0].state is ProbeState.UP
    await store.close()


async def test_schedule_pause_resume_and_run_now() -> None:
    runner = ScriptedRunner()
    engine = ProbeEngine(config_with(["a", "b"], interval="100ms"), store=None, runner=runner)
    await engine.start()
    try:
        await wait_until(lambda: runner.calls["a"] >= 3 and runner.calls["b"] >= 3)
        engine.pause()
        await asyncio.sleep(0.15)  # let a run in flight finish
        paused_at = dict(runner.calls)
        await asyncio.sleep(0.35)
        assert dict(runner.calls) == paused_at, "probes ran while paused"
        engine.run_now()  # r works while paused: exactly one more run each
        await wait_until(lambda: runner.calls["a"] == paused_at["a"] + 1)
        await asyncio.sleep(0.25)
        assert runner.calls["a"] == paused_at["a"] + 1
        engine.resume()
        await wait_until(lambda: runner.calls["a"] >= paused_at["a"] + 3)
    finally:
        await engine.stop()


def test_next_due_is_the_next_point_on_the_probes_grid() -> None:
    assert next_due(0.0, 0.25, 1.0, now=0.1) == 0.25  # early in the first interval
    assert next_due(0.0, 0.25, 1.0, now=0.25) == 1.25  # exactly on a point: the next one
    assert next_due(0.0, 0.25, 1.0, now=3.7) == 4.25  # a run that overran: skip, no burst
    assert next_due(10.0, 0.0, 2.0, now=10.001) == 12.0
    assert next_due(0.0, 0.0, 0.0, now=5.0) == 5.0


class TimedRunner(ScriptedRunner):
    """Records when each probe ran (event-loop time)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, list[float]] = {}

    async def run(self, probe: ProbeConfig) -> ProbeResult:
        self.times.setdefault(probe.name, []).append(asyncio.get_running_loop().time())
        return await super().run(probe)


async def test_probes_settle_on_evenly_spread_phases_without_longer_gaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """4 probes at 1 s: first runs 100 ms apart, then one run every 250 ms.

    Probe i of n keeps phase i/n of its interval (no burst of every probe at once), and
    moving onto that phase only ever shortens a gap: none is longer than the interval.
    (The first-run spread is cut from 2 s to 0.4 s so the first runs, at i × 0.1 s, are
    off the grid, at i × 0.25 s, as they are for real intervals over 2 s.)
    """
    monkeypatch.setattr(engine_module, "FIRST_RUN_SPREAD", 0.4)
    runner = TimedRunner()
    names = ["a", "b", "c", "d"]
    engine = ProbeEngine(config_with(names, interval="1s"), store=None, runner=runner)
    base = asyncio.get_running_loop().time()
    await engine.start()
    try:
        await asyncio.sleep(3.3)
    finally:
        await engine.stop()
    slack = 0.12  # scheduling jitter on a busy CI machine
    for index, name in enumerate(names):
        times = [t - base for t in runner.times[name]]
        assert abs(times[0] - 0.1 * index) < slack, (name, times)  # first runs come fast
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps and max(gaps) < 1.0 + slack, (name, gaps)
        for t in times[1:]:  # every later run sits on the probe's own phase
            phase = t % 1.0
            distance = min(abs(phase - index / 4), 1.0 - abs(phase - index / 4))
            assert distance < slack, (name, round(t, 3))
        assert len(times) >= 3, (name, times)


class SlowRunner(ScriptedRunner):
    """Takes longer than the interval; records overlapping runs."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.max_in_flight = 0

    async def run(self, probe: ProbeConfig) -> ProbeResult:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.08)
            return await super().run(probe)
        finally:
            self.in_flight -= 1


async def test_polls_of_one_probe_never_overlap() -> None:
    runner = SlowRunner()
    engine = ProbeEngine(config_with(["a"], interval="50ms"), store=None, runner=runner)
    await engine.start()
    try:
        for _ in range(5):
            engine.run_now()  # hammering run-now must not start a second concurrent run
            await asyncio.sleep(0.03)
        await wait_until(lambda: runner.calls["a"] >= 4)
    finally:
        await engine.stop()
    assert runner.max_in_flight == 1


class BrokenStore:
    """A store whose every call fails, as a full disk or a locked file would."""

    async def record_probe_result(self, result: ProbeResult) -> None:
        raise OSError("disk I/O error")

    async def record_probe_results(self, results: Sequence[ProbeResult]) -> None:
        raise OSError("disk I/O error")

    async def latest_results(self) -> dict[str, ProbeResult]:
        raise OSError("disk I/O error")

    async def recent_latencies(self, probe: str, limit: int = 30) -> list[float]:
        raise OSError("disk I/O error")

    async def uptime(self, probe, now):
        raise OSError("disk I/O error")

    async def prune(self, older_than) -> int:
        raise OSError("disk I/O error")

    async def close(self) -> None:
        return None


async def test_store_failure_degrades_to_a_note_not_a_crash() -> None:
    seen: list[ProbeStatus] = []
    engine = ProbeEngine(
        config_with(["a"]), store=BrokenStore(), runner=ScriptedRunner(), listener=seen.append
    )
    await engine.load_history()
    assert engine.store_error == "store: could not read history: disk I/O error"
    results = await engine.run_once()
    assert results[0].ok and seen[-1].state is ProbeState.UP
    assert engine.store_error == "store: could not record a probe result: disk I/O error"
    await engine.maintain()
    assert engine.store_error == "store: could not apply retention: disk I/O error"


async def test_broken_listener_does_not_stop_polling() -> None:
    def listener(status: ProbeStatus) -> None:
        raise RuntimeError("pane gone")

    engine = ProbeEngine(config_with(["a"]), store=None, runner=ScriptedRunner(), listener=listener)
    results = await engine.run_once()
    assert results[0].ok


async def test_maintain_prunes_by_retention(tmp_path: Path) -> None:
    from datetime import timedelta

    store = await SqliteStore.open(tmp_path / "r.db")
    old = FROZEN - timedelta(days=91)
    await store.record_probe_result(ok("a", at=old))
    await store.record_probe_result(ok("a", at=FROZEN))
    engine = ProbeEngine(
        config_with(["a"]), store=store, runner=ScriptedRunner(), clock=frozen_clock(FROZEN)
    )
    await engine.maintain()
    assert await store.recent_latencies("a") == [42.0]
    await store.close()


async def test_every_published_result_is_already_stored_and_writes_are_batched(
    tmp_path: Path,
) -> None:
    """Many probes at once share store transactions; none is shown before it is committed."""
    import contextlib
    import sqlite3

    path = tmp_path / "batch.db"
    store = await SqliteStore.open(path)
    names = [f"p{n}" for n in range(40)]
    unstored: list[str] = []

    def listener(status: ProbeStatus) -> None:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM probe_results WHERE probe = ?", (status.name,)
            ).fetchone()
        if count == 0:
            unstored.append(status.name)

    engine = ProbeEngine(
        config_with(names), store=store, runner=ScriptedRunner(), listener=listener
    )
    try:
        await engine.run_once()
        writer = engine._writer
        assert writer is not None and 1 <= writer.batches <= 5  # not 40 transactions
    finally:
        await engine.stop()
        await store.close()
    assert unstored == []
