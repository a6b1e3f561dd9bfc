"""Polling of the non-probe sources (Sentry, metrics, alerts, status page).

Each source has its own :class:`SourcePoller`: poll, publish, then sleep the interval,
so polls never overlap and one slow or failing source never touches another. A failure
keeps the last good data and records a one-line reason; the pane shows it and the
poller keeps trying, so the pane recovers by itself when the service returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.shift import previous_shift_start, shift_start
from opsconsole.core.sources import SourceError, SourceStatus

log = logging.getLogger(__name__)

SOURCE_ORDER = ("sentry", "metrics", "alerts", "statuspage")

MAX_BACKOFF = 3600.0
"""The longest a server's Retry-After can hold a poller back, in seconds."""


class Source(Protocol):
    """An adapter that can be polled (``adapters.sentry.SentrySource`` and friends)."""

    async def poll(self) -> object:
        """Fetch a fresh snapshot or raise SourceError."""

    async def aclose(self) -> None:
        """Release connections."""


StatusListener = Callable[[SourceStatus], None]


@dataclass
class SourcePoller:
    """Polls one source on its interval and publishes a :class:`SourceStatus` each time."""

    name: str
    source: Source
    interval: timedelta
    clock: Clock = system_clock
    listener: StatusListener | None = None

    def __post_init__(self) -> None:
        self.status = SourceStatus(source=self.name, interval=self.interval)
        self._wake = asyncio.Event()
        self._running = asyncio.Event()
        self._running.set()
        self._retry_after: float | None = None

    async def poll_once(self) -> SourceStatus:
        """Poll now; never raises (except cancellation)."""
        # A source has its own deadline; this outer one only guards against a hung adapter.
        guard = max(self.interval.total_seconds(), 1.0)
        try:
            async with asyncio.timeout(guard):
                data = await self.source.poll()
        except SourceError as exc:
            self._retry_after = exc.retry_after
            self.status = self.status.failed(exc.reason, self.clock())
        except TimeoutError:
            self.status = self.status.failed(f"no answer within {guard:.0f}s", self.clock())
        except Exception as exc:  # a bug in an adapter must not kill the pane
            log.exception("source %s failed unexpectedly", self.name)
            self.status = self.status.failed(
                f"unexpected error: {type(exc).__name__}: {exc}", self.clock()
            )
        else:
            self._retry_after = None
            self.status = self.status.succeeded(data, self.clock())
        if self.listener is not None:
            try:
                self.listener(self.status)
            except Exception:
                log.exception("source listener failed")
        return self.status

    async def run(self) -> None:
        """Poll for ever: poll, publish, sleep (longer when the server asked us to back off)."""
        while True:
            while self.paused and not self._wake.is_set():
                await self._sleep(0.25)
            self._wake.clear()
            await self.poll_once()
            delay = self.interval.total_seconds()
            retry_after = self._retry_after
            if retry_after is not None and math.isfinite(retry_after):
                delay = max(delay, min(retry_after, MAX_BACKOFF))
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Stop polling after the current poll."""
        self._running.clear()

    def resume(self) -> None:
        """Resume polling."""
        self._running.set()

    def run_now(self) -> None:
        """Poll immediately (also while paused)."""
        self._wake.set()


def shift_start_for(config: Config, clock: Clock) -> Callable[[], datetime]:
    """A callable answering the current shift's start for ``config``."""
    return lambda: shift_start(clock(), config.shift.starts, config.tz)


def previous_shift_start_for(config: Config, clock: Clock) -> Callable[[], datetime]:
    """A callable answering the previous shift's start ("overnight", for the checklist)."""
    return lambda: previous_shift_start(clock(), config.shift.starts, config.tz)


def build_sources(config: Config, *, clock: Clock = system_clock) -> dict[str, Source]:
    """Instantiate an adapter for every configured source, keyed by pane name."""
    since_shift = shift_start_for(config, clock)
    sources: dict[str, Source] = {}
    if config.sentry is not None:
        from opsconsole.adapters.sentry import SentrySource

        sources["sentry"] = SentrySource(
            config.sentry,
            clock=clock,
            shift_start=since_shift,
            overnight_start=previous_shift_start_for(config, clock),
        )
    prometheus = None
    if config.prometheus is not None:
        from opsconsole.adapters.prometheus import PrometheusSource

        prometheus = PrometheusSource(config.prometheus, clock=clock)
        sources["metrics"] = prometheus
    if config.alertmanager is not None:
        from opsconsole.adapters.alertmanager import AlertmanagerSource

        history = prometheus if config.prometheus and config.prometheus.alert_history else None
        sources["alerts"] = AlertmanagerSource(
            config.alertmanager,
            clock=clock,
            history=history,
            shift_start=since_shift,
            overnight_start=previous_shift_start_for(config, clock),
        )
    if config.statuspage is not None:
        from opsconsole.adapters.statuspage import StatuspageSource

        sources["statuspage"] = StatuspageSource(config.statuspage, clock=clock)
    return sources


def source_sections(config: Config) -> dict[str, Any]:
    """Each source pane's checks.yaml section (None when not configured)."""
    return {
        "sentry": config.sentry,
        "metrics": config.prometheus,
        "alerts": config.alertmanager,
        "statuspage": config.statuspage,
    }


def interval_of(config: Config, name: str) -> timedelta:
    """The configured polling interval of source ``name``."""
    section = source_sections(config)[name]
    assert section is not None, f"{name} is not configured"
    interval: timedelta = section.interval
    return interval


class SourceHub:
    """All source pollers of one console, started and stopped together."""

    def __init__(
        self,
        config: Config,
        sources: dict[str, Source],
        *,
        clock: Clock = system_clock,
        listener: StatusListener | None = None,
    ) -> None:
        self.pollers = {
            name: SourcePoller(name, src, interval_of(config, name), clock, listener)
            for name, src in sources.items()
        }
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start one task per source."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(p.run()) for p in self.pollers.values()]

    async def poll_all_once(self) -> dict[str, SourceStatus]:
        """Poll every source once, concurrently (``opsconsole status``)."""
        statuses = await asyncio.gather(*(p.poll_once() for p in self.pollers.values()))
        return dict(zip(self.pollers, statuses, strict=True))

    def pause(self) -> None:
        """Pause every poller."""
        for poller in self.pollers.values():
            poller.pause()

    def resume(self) -> None:
        """Resume every poller."""
        for poller in self.pollers.values():
            poller.resume()

    def run_now(self) -> None:
        """Poll every source now."""
        for poller in self.pollers.values():
            poller.run_now()

    async def stop(self) -> None:
        """Cancel the pollers and close every adapter."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for poller in self.pollers.values():
            try:
                await poller.source.aclose()
            except Exception:
                log.exception("closing %s failed", poller.name)
