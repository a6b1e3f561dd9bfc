"""Checklist runs and their item results: the ChecklistStore methods."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import aiosqlite

from opsconsole.adapters.sqlite.common import (
    _epoch,
    _from_epoch,
    _lastrowid,
    _one_line,
    _placeholders,
)
from opsconsole.adapters.sqlite.connection import SqliteBase
from opsconsole.core.checklists import Cadence, ItemResult, ItemStatus
from opsconsole.core.redact import redact_text
from opsconsole.core.store import ChecklistRun, StoreError


class ChecklistsMixin(SqliteBase):
    """A run row per checklist run, one upserted row per (run, item); durable writes."""

    async def start_checklist_run(self, operator: str, at: datetime) -> int:
        """Start a checklist run by ``operator`` at ``at``; return its id (1, 2, …).

        Raises:
            StoreError: for a blank operator or a failed write.
        """
        name = operator.strip() if isinstance(operator, str) else ""
        if not name:
            raise StoreError("a checklist run needs an operator name")
        when = _epoch(at)
        async with (
            self._write(durable=True) as db,
            db.execute(
                "INSERT INTO checklist_runs (operator, started_at) VALUES (?, ?)", (name, when)
            ) as cursor,
        ):
            return _lastrowid(cursor)

    async def record_checklist_item(self, run_id: int, result: ItemResult, at: datetime) -> None:
        """Upsert ``result`` as item ``result.key`` of run ``run_id``; the latest wins.

        The evidence is redacted before storing (it may quote a source's error). An
        item keeps the position it was first recorded at.

        Raises:
            StoreError: for an unknown run, an invalid result or a failed write.
        """
        row = _checklist_row(result, _epoch(at))
        async with self._write(durable=True) as db:
            await _require_checklist_run(db, run_id)
            await db.execute(
                "INSERT INTO checklist_items "
                "(run, key, text, cadence, status, evidence, overdue, note, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run, key) DO UPDATE SET text = excluded.text, "
                "cadence = excluded.cadence, status = excluded.status, "
                "evidence = excluded.evidence, overdue = excluded.overdue, "
                "note = excluded.note, at = excluded.at",
                (run_id, *row),
            )

    async def finish_checklist_run(self, run_id: int, at: datetime) -> None:
        """Mark run ``run_id`` finished at ``at`` (finishing again moves the time).

        Raises:
            StoreError: for an unknown run or a failed write.
        """
        when = _epoch(at)
        async with (
            self._write(durable=True) as db,
            db.execute(
                "UPDATE checklist_runs SET finished_at = ? WHERE id = ?", (when, run_id)
            ) as cursor,
        ):
            if cursor.rowcount == 0:
                raise StoreError(f"no checklist run {run_id}")

    async def checklist_runs(self, limit: int = 5) -> list[ChecklistRun]:
        """Return up to ``limit`` runs, latest start first, each with its results."""
        if limit <= 0:
            return []
        return await self._read_checklist_runs(
            "ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )

    async def last_done_dates(self, *, tz: tzinfo = UTC) -> dict[str, date]:
        """Return item key -> the latest date (in ``tz``) it was recorded PASS or DONE."""
        rows = await self._fetchall(
            "SELECT key, max(at) FROM checklist_items WHERE status IN ('pass', 'done') GROUP BY key"
        )
        return {str(key): datetime.fromtimestamp(at, tz).date() for key, at in rows}

    async def first_run_since(self, since: datetime) -> ChecklistRun | None:
        """Return the first run started at or after ``since``, with its results, or None."""
        runs = await self._read_checklist_runs(
            "WHERE started_at >= ? ORDER BY started_at, id LIMIT 1", (_epoch(since),)
        )
        return runs[0] if runs else None

    async def _read_checklist_runs(self, tail: str, params: Sequence[Any]) -> list[ChecklistRun]:
        try:
            runs = await self._query(
                f"SELECT id, operator, started_at, finished_at FROM checklist_runs {tail}",
                params,
            )
            ids = [int(row[0]) for row in runs]
            items = (
                await self._query(
                    "SELECT run, key, text, cadence, status, evidence, overdue, note "
                    f"FROM checklist_items WHERE run IN ({_placeholders(len(ids))}) ORDER BY id",
                    ids,
                )
                if ids
                else []
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        results: dict[int, list[ItemResult]] = {i: [] for i in ids}
        for row in items:
            results[int(row[0])].append(_row_to_item_result(row[1:]))
        return [
            ChecklistRun(
                id=int(run_id),
                operator=str(operator),
                started_at=datetime.fromtimestamp(started, UTC),
                finished_at=_from_epoch(finished),
                results=tuple(results[int(run_id)]),
            )
            for run_id, operator, started, finished in runs
        ]


def _checklist_row(result: ItemResult, when: float) -> tuple[object, ...]:
    """The stored columns of ``result`` (after ``run``), checked and normalised."""
    try:
        status = ItemStatus(result.status)
        cadence = Cadence(result.cadence)
    except ValueError as exc:
        raise StoreError(f"bad checklist result: {exc}") from None
    if not isinstance(result.key, str) or not result.key.strip():
        raise StoreError("a checklist result needs a key")
    if not all(isinstance(v, str) for v in (result.text, result.evidence, result.note)):
        raise StoreError(f"bad checklist result for {result.key!r}: text fields must be str")
    return (
        result.key,
        result.text,
        cadence.value,
        status.value,
        redact_text(result.evidence),
        int(bool(result.overdue)),
        result.note,
        when,
    )


def _row_to_item_result(row: Sequence[Any]) -> ItemResult:
    key, text, cadence, status, evidence, overdue, note = row
    return ItemResult(
        key=key,
        text=text,
        cadence=Cadence(cadence),
        status=ItemStatus(status),
        evidence=evidence,
        overdue=bool(overdue),
        note=note,
    )


async def _require_checklist_run(db: aiosqlite.Connection, run_id: int) -> None:
    rows = list(await db.execute_fetchall("SELECT 1 FROM checklist_runs WHERE id = ?", (run_id,)))
    if not rows:
        raise StoreError(f"no checklist run {run_id}")
