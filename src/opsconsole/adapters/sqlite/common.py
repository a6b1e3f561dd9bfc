"""Conversions and small helpers that every group of tables uses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import aiosqlite

from opsconsole.core.store import StoreError

log = logging.getLogger("opsconsole.adapters.sqlite_store")
"""One logger for the whole store, under the name it has always logged as."""


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("SqliteStore needs timezone-aware datetimes")
    return moment.timestamp()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _opt_epoch(moment: datetime | None) -> float | None:
    return None if moment is None else _epoch(moment)


def _from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{name} must be a timezone-aware datetime, not {value!r}")
    return value.astimezone(UTC)


def _lastrowid(cursor: aiosqlite.Cursor) -> int:
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - an INSERT always sets it
        raise StoreError("insert returned no row id")
    return int(rowid)
