"""The Store protocol: what the engine and UI need from persistence.

The aiosqlite implementation lives in ``opsconsole.adapters.sqlite_store``; a
PostgreSQL one can slot in later without touching ui or core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from opsconsole.core.models import ProbeResult, Uptime


class StoreError(Exception):
    """A persistence failure with a one-line, human-readable message."""


class Store(Protocol):
    """Persistence for probe history (later: tickets, incidents, checklists)."""

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Persist one probe result and update its hourly rollup."""

    async def latest_results(self) -> dict[str, ProbeResult]:
        """Return the most recent result of every probe, keyed by probe name."""

    async def recent_latencies(self, probe: str, limit: int = 30) -> list[float]:
        """Return up to ``limit`` latest latencies (ms), oldest first."""

    async def uptime(self, probe: str, now: datetime) -> Uptime:
        """Return uptime percentages over 24h, 7d and 30d, computed from rollups."""

    async def prune(self, older_than: datetime) -> int:
        """Delete results and rollups older than ``older_than``; return rows deleted."""

    async def close(self) -> None:
        """Flush and close."""
