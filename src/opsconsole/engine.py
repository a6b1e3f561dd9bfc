"""The probe engine: schedules probes, debounces state, writes the store, publishes results.

The TUI and the CLI share this code: ``opsconsole check`` calls :meth:`ProbeEngine.run_once`,
the dashboard calls :meth:`ProbeEngine.start`. Polls of one probe never overlap: run,
record, publish, then sleep until the next slot.

Each probe keeps a fixed phase on its interval (probe *i* of *n* runs at ``i/n`` of the
way through each interval, as Prometheus spreads its scrape targets), so 500 probes at 5 s
make a steady 100 runs a second rather than one burst every 5 s that the keyboard waits
behind. The first runs are spread over at most 2 s so every probe shows a state quickly;
the second run then moves onto the grid early (never late), so no gap exceeds the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from opsconsole.config.schema import Config, ProbeConfig
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.models import ProbeResult, ProbeState, Uptime
from opsconsole.core.probe_state import StateTracker
from opsconsole.core.store import Store
from opsconsole.result_writer import ResultWriter

log = logging.getLogger(__name__)

SPARK_POINTS = 30
UPTIME_REFRESH = 60.0
FIRST_UPTIME_REFRESH = 5.0
MAINTENANCE_EVERY = 600.0
FIRST_RUN_SPREAD = 2.0
"""Seconds over which the first runs are spread (less for shorter intervals)."""


def next_due(base: float, phase: float, interval: float, now: float) -> float:
    """The first time after ``now`` on the grid ``base + phase + k * interval`` (k ≥ 0)."""
    if interval <= 0:
        return now
    k = max(math.floor((now - base - phase) / interval) + 1, 0)
    return base + phase + k * interval


class Runner(Protocol):
    """Anything that can run one probe (``adapters.http_probe.ProbeRunner``)."""

    async def run(self, probe: ProbeConfig) -> ProbeResult:
        """Run ``probe`` once; never raise."""


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    """Everything a pane needs to draw one probe row (frozen snapshot).

    ``target`` is for display: a URL's credentials and query string are hidden.
    """

    name: str
    target: str
    state: ProbeState
    result: ProbeResult | None
    latencies: tuple[float, ...] = ()
    uptime: Uptime | None = None
    since: datetime | None = None
    """When the probe entered ``state`` (from the history after a restart), if known."""


@dataclass
class _Slot:
    probe: ProbeConfig
    tracker: StateTracker
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=SPARK_POINTS))
    result: ProbeResult | None = None
    uptime: Uptime | None = None
    since: datetime | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


Listener = Callable[[ProbeStatus], None]


class ProbeEngine:
    """Owns the schedule for every configured probe."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store | None,
        runner: Runner,
        clock: Clock = system_clock,
        listener: Listener | None = None,
    ) -> None:
        self.config = config
        self._store: Store | None = None
        self._writer: ResultWriter | None = None
        self.store = store
        self.runner = runner
        self.clock = clock
        self.listener = listener
        self._slots = {
            p.name: _Slot(
                probe=p,
                tracker=StateTracker(
                    failure_threshold=p.failure_threshold,
                    success_threshold=p.success_threshold,
                ),
            )
            for p in config.probes
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._running = asyncio.Event()
        self._running.set()
        self.store_error: str | None = None

    @property
    def store(self) -> Store | None:
        """Where results go; settable (the dashboard may open it after the first frame)."""
        return self._store

    @store.setter
    def store(self, store: Store | None) -> None:
        self._store = store
        self._writer = ResultWriter(store) if store is not None else None

    # -- state ------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """True while polling is paused."""
        return not self._running.is_set()

    def states(self) -> list[ProbeState]:
        """The current state of every probe (cheap: no snapshots are built)."""
        return [s.tracker.state for s in self._slots.values()]

    def statuses(self) -> list[ProbeStatus]:
        """Snapshot of every probe's current status."""
        return [self._status(s) for s in self._slots.values()]

    def _status(self, slot: _Slot) -> ProbeStatus:
        return ProbeStatus(
            name=slot.probe.name,
            target=slot.probe.display_target,  # never a URL's credentials or query
            state=slot.tracker.state,
            result=slot.result,
            latencies=tuple(slot.latencies),
            since=slot.since,
            uptime=slot.uptime,
        )

    def _publish(self, slot: _Slot) -> None:
        if self.listener is not None:
            try:
                self.listener(self._status(slot))
            except Exception:  # a broken listener must not stop polling
                log.exception("probe listener failed")

    # -- history ----------------------------------------------------------------------

    async def load_history(self) -> None:
        """Seed state, last result, sparkline and uptime from the store (last known state)."""
        if self.store is None:
            return
        try:
            latest = await self.store.latest_results()
            for name, slot in self._slots.items():
                last = latest.get(name)
                if last is not None:
                    slot.result = last
                    slot.tracker = replace(slot.tracker, state=last.state)
                    # e.g. down for an hour before this start: "down for 15 minutes" counts
                    # from then, not from the restart
                    slot.since = await self.store.state_since(name, last.state)
                    slot.latencies.extend(await self.store.recent_latencies(name, SPARK_POINTS))
            await self.refresh_uptime(publish=False)
        except Exception as exc:
            self._store_failed("read history", exc)

    async def refresh_uptime(self, *, publish: bool = True) -> None:
        """Recompute 24h/7d/30d uptime for every probe from the store's rollups."""
        if self.store is None:
            return
        now = self.clock()
        for slot in self._slots.values():
            try:
                slot.uptime = await self.store.uptime(slot.probe.name, now)
            except Exception as exc:
                self._store_failed("read uptime", exc)
                return
            if publish:
                self._publish(slot)

    def _store_failed(self, what: str, exc: BaseException) -> None:
        self.store_error = f"store: could not {what}: {exc}"
        log.warning("%s", self.store_error)

    # -- running ----------------------------------------------------------------------

    async def _run_slot(self, slot: _Slot) -> ProbeResult:
        result = await self.runner.run(slot.probe)
        before = slot.tracker.state
        slot.tracker = slot.tracker.observe(result)
        if slot.tracker.state is not before:
            slot.since = result.timestamp
        result = replace(result, state=slot.tracker.state)
        slot.result = result
        if result.latency_ms is not None:
            slot.latencies.append(result.latency_ms)
        writer = self._writer
        if writer is not None:
            try:
                await writer.record(result)  # committed (batched with others) before shown
                self.store_error = None
            except Exception as exc:
                self._store_failed("record a probe result", exc)
        self._publish(slot)
        return result

    async def run_once(self, names: Sequence[str] | None = None) -> list[ProbeResult]:
        """Run every probe (or the named ones) once, concurrently; return results in order."""
        slots = [s for n, s in self._slots.items() if names is None or n in names]
        return list(await asyncio.gather(*(self._run_slot(s) for s in slots)))

    async def start(self) -> None:
        """Start one scheduling loop per probe plus the maintenance loop."""
        if self._tasks:
            return
        count = max(len(self._slots), 1)
        base = asyncio.get_running_loop().time()
        for index, slot in enumerate(self._slots.values()):
            interval = slot.probe.interval.total_seconds()
            first = min(interval, FIRST_RUN_SPREAD) * index / count
            phase = interval * index / count
            self._tasks.append(asyncio.create_task(self._loop(slot, base, first, phase)))
        self._tasks.append(asyncio.create_task(self._maintenance()))

    async def stop(self) -> None:
        """Cancel every loop and wait for them to finish."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._writer is not None:
            await self._writer.close()

    def pause(self) -> None:
        """Stop starting new probe runs (runs in flight finish)."""
        self._running.clear()

    def resume(self) -> None:
        """Resume polling."""
        self._running.set()

    def run_now(self) -> None:
        """Wake every probe loop so all probes run immediately (also while paused)."""
        for slot in self._slots.values():
            slot.wake.set()

    async def _sleep_or_wake(self, slot: _Slot, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True when woken by :meth:`run_now`."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slot.wake.wait(), seconds)
        woken = slot.wake.is_set()
        slot.wake.clear()
        return woken

    async def _loop(self, slot: _Slot, base: float, first: float, phase: float) -> None:
        """Run ``slot`` at ``base + first``, then on its grid ``base + phase + k * interval``."""
        loop = asyncio.get_running_loop()
        interval = slot.probe.interval.total_seconds()
        forced = await self._sleep_or_wake(slot, base + first - loop.time())
        while True:
            while not forced and self.paused:
                forced = await self._sleep_or_wake(slot, 0.25)
            try:
                await self._run_slot(slot)
            except Exception:  # the runner never raises; this is a last line of defence
                log.exception("probe %s crashed", slot.probe.name)
            now = loop.time()
            forced = await self._sleep_or_wake(slot, next_due(base, phase, interval, now) - now)

    async def _maintenance(self) -> None:
        """Apply retention at start and every 10 minutes; refresh uptime every minute."""
        ticks = 0
        while True:
            if ticks % round(MAINTENANCE_EVERY / UPTIME_REFRESH) == 0:
                await self.maintain()
            await asyncio.sleep(FIRST_UPTIME_REFRESH if ticks == 0 else UPTIME_REFRESH)
            await self.refresh_uptime()
            ticks += 1

    async def maintain(self) -> None:
        """Apply retention and checkpoint the WAL."""
        if self.store is None:
            return
        cutoff = self.clock() - self.config.retention
        try:
            await self.store.prune(cutoff)
            checkpoint = getattr(self.store, "checkpoint", None)
            if checkpoint is not None:
                await checkpoint()
        except Exception as exc:
            self._store_failed("apply retention", exc)
