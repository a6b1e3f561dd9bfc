"""Probe history: results, hourly rollups, uptime, pruning (Store and ReportStore)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from opsconsole.adapters.sqlite.common import _epoch
from opsconsole.adapters.sqlite.connection import SqliteBase
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState, Uptime
from opsconsole.core.uptime import (
    HOUR_SECONDS,
    LONGEST_WINDOW,
    RollupRow,
    compute_uptime,
    first_hour,
    hour_start,
)

_RESULT_COLUMNS = "probe, ts, outcome, state, status, latency_ms, error, conditions_json"


class ProbesMixin(SqliteBase):
    """The :class:`~opsconsole.core.store.Store` methods, and the probe rollups report."""

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Insert ``result`` and upsert its hourly rollup in one transaction."""
        await self.record_probe_results((result,))

    async def record_probe_results(self, results: Sequence[ProbeResult]) -> None:
        """Insert ``results`` and upsert their hourly rollups, all in one transaction.

        The rollup counts a result as ok when its outcome is OK or it is only degraded
        (latency conditions failed): a slow-but-up service is up for uptime purposes.
        """
        if not results:
            return
        rows = []
        rollups = []
        for result in results:
            ts = _epoch(result.timestamp)
            conditions = json.dumps(
                [
                    {
                        "condition": c.condition,
                        "ok": c.ok,
                        "resolved": c.resolved,
                        "latency_only": c.latency_only,
                    }
                    for c in result.conditions
                ]
            )
            latency = result.latency_ms
            rows.append(
                (
                    result.probe,
                    ts,
                    result.outcome.value,
                    result.state.value,
                    result.status,
                    latency,
                    result.error,
                    conditions,
                )
            )
            rollups.append(
                (
                    result.probe,
                    int(ts // HOUR_SECONDS) * HOUR_SECONDS,
                    1 if (result.ok or result.degraded) else 0,
                    latency or 0.0,
                    latency,
                    0 if latency is None else 1,
                )
            )
        async with self._write() as db:
            await db.executemany(
                f"INSERT INTO probe_results ({_RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # Two-argument max() is NULL if either side is; coalesce keeps the known one.
            await db.executemany(
                """
                INSERT INTO probe_rollups
                    (probe, hour, total, ok, latency_sum, latency_max, latency_count)
                VALUES (?, ?, 1, ?, ?, ?, ?)
                ON CONFLICT (probe, hour) DO UPDATE SET
                    total = total + 1,
                    ok = ok + excluded.ok,
                    latency_sum = latency_sum + excluded.latency_sum,
                    latency_max = max(
                        coalesce(latency_max, excluded.latency_max),
                        coalesce(excluded.latency_max, latency_max)
                    ),
                    latency_count = latency_count + excluded.latency_count
                """,
                rollups,
            )

    async def latest_results(self) -> dict[str, ProbeResult]:
        """Return the newest result (by timestamp) of every probe.

        Walks the distinct probes through the ``(probe, ts)`` index (a recursive skip
        scan) and picks each probe's newest row from the same index, so the cost grows
        with the number of probes, not the number of stored results.
        """
        rows = await self._fetchall(
            f"""
            WITH RECURSIVE probes(name) AS (
                SELECT min(probe) FROM probe_results
                UNION ALL
                SELECT (SELECT min(probe) FROM probe_results WHERE probe > name)
                FROM probes WHERE name IS NOT NULL
            )
            SELECT {_RESULT_COLUMNS} FROM probes JOIN probe_results r
              ON r.id = (
                SELECT id FROM probe_results
                WHERE probe = probes.name ORDER BY ts DESC, id DESC LIMIT 1
              )
            WHERE probes.name IS NOT NULL
            """
        )
        return {row[0]: _row_to_result(row) for row in rows}

    async def state_since(self, probe: str, state: ProbeState) -> datetime | None:
        """When ``probe``'s current run of results in ``state`` began (None if its newest
        stored result is in another state, or it has none).

        The run starts after the newest result in any other state; both ends are read
        through the ``(probe, ts)`` index.
        """
        rows = await self._fetchall(
            """
            SELECT min(ts), (SELECT state FROM probe_results WHERE probe = ?1
                             ORDER BY ts DESC, id DESC LIMIT 1)
            FROM probe_results
            WHERE probe = ?1 AND ts > coalesce(
                (SELECT max(ts) FROM probe_results WHERE probe = ?1 AND state != ?2), -1e18)
            """,
            (probe, state.value),
        )
        first, newest = rows[0] if rows else (None, None)
        if first is None or newest != state.value:
            return None
        return datetime.fromtimestamp(first, UTC)

    async def recent_latencies(self, probe: str, limit: int = 30) -> list[float]:
        """Return up to ``limit`` latest latencies (ms) of ``probe``, oldest first.

        Results without a latency (e.g. DNS failures) are skipped.
        """
        if limit <= 0:
            return []
        rows = await self._fetchall(
            """
            SELECT latency_ms FROM probe_results
            WHERE probe = ? AND latency_ms IS NOT NULL
            ORDER BY ts DESC, id DESC LIMIT ?
            """,
            (probe, limit),
        )
        return [float(row[0]) for row in reversed(rows)]

    async def uptime(self, probe: str, now: datetime) -> Uptime:
        """Return uptime over 24 h, 7 d and 30 d, read from hourly rollups only."""
        _epoch(now)
        rows = await self._fetchall(
            "SELECT hour, total, ok FROM probe_rollups WHERE probe = ? AND hour >= ?",
            (probe, first_hour(now, LONGEST_WINDOW)),
        )
        return compute_uptime(((int(h), int(t), int(o)) for h, t, o in rows), now)

    async def prune(self, older_than: datetime) -> int:
        """Delete results before ``older_than`` and rollups of hours ending by then.

        Deletes in chunks of :attr:`prune_chunk_rows`, one short transaction each, so other
        writers are never blocked for long. Returns the number of results deleted.
        """
        cutoff = _epoch(older_than)
        deleted = await self._delete_in_chunks(
            "SELECT id FROM probe_results WHERE ts < ? LIMIT ?",
            "DELETE FROM probe_results WHERE id IN ({select})",
            cutoff,
        )
        # A rollup hour is removed only once it lies entirely before the cutoff.
        await self._delete_in_chunks(
            f"SELECT rowid FROM probe_rollups WHERE hour + {HOUR_SECONDS} <= ? LIMIT ?",
            "DELETE FROM probe_rollups WHERE rowid IN ({select})",
            cutoff,
        )
        return deleted

    # -- ReportStore protocol ----------------------------------------------------------

    async def rollups_since(self, since: datetime) -> dict[str, list[RollupRow]]:
        """Return probe -> hourly rollups from the hour containing ``since`` on, oldest first.

        Read from ``probe_rollups`` only (its primary key serves the per-probe order).
        """
        rows = await self._fetchall(
            "SELECT probe, hour, total, ok FROM probe_rollups WHERE hour >= ? ORDER BY probe, hour",
            (hour_start(since),),
        )
        # 90 days of 500 probes is a million rows: grouped in a worker thread, so the
        # event loop (the UI) keeps its turns while they are.
        return await asyncio.to_thread(_group_rollups, rows)


def _group_rollups(rows: Iterable[Any]) -> dict[str, list[RollupRow]]:
    rollups: dict[str, list[RollupRow]] = {}
    for probe, hour, total, ok in rows:
        rollups.setdefault(probe, []).append(RollupRow(int(hour), int(total), int(ok)))
    return rollups


def _row_to_result(row: Iterable[Any]) -> ProbeResult:
    probe, ts, outcome, state, status, latency, error, conditions_json = row
    conditions = tuple(
        ConditionResult(
            condition=c["condition"],
            ok=bool(c["ok"]),
            resolved=c["resolved"],
            latency_only=bool(c.get("latency_only", False)),
        )
        for c in json.loads(conditions_json or "[]")
    )
    return ProbeResult(
        probe=probe,
        timestamp=datetime.fromtimestamp(ts, UTC),
        outcome=Outcome(outcome),
        status=status,
        latency_ms=latency,
        error=error,
        conditions=conditions,
        state=ProbeState(state),
    )
