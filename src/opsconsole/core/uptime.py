"""Uptime percentages from hourly rollups (pure: no I/O).

A rollup row is one probe's tally for one UTC hour: ``(hour, total, ok)`` where ``hour`` is
the Unix epoch second at which the hour starts. A window of N hours covers the N most recent
hourly buckets *including the current, partial one*: with ``now`` at 12:30 the 24 h window
is the buckets 13:00 yesterday .. 12:00 today. Buckets in the future (clock skew between
writers) are ignored.

What counts as "ok" is decided by the writer; the SQLite store counts a result as up when
its outcome is OK **or** it is merely degraded (only latency conditions failed): a slow
service is still serving.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from opsconsole.core.models import Uptime

HOUR_SECONDS: Final = 3600
DAY: Final = timedelta(hours=24)
WEEK: Final = timedelta(days=7)
MONTH: Final = timedelta(days=30)
LONGEST_WINDOW: Final = MONTH


class RollupRow(NamedTuple):
    """One probe's tally for one UTC hour."""

    hour: int
    """Epoch second of the hour start (a multiple of 3600)."""
    total: int
    """Results recorded in that hour."""
    ok: int
    """Results that counted as up (OK or degraded)."""


def hour_start(moment: datetime) -> int:
    """Return the epoch second of the UTC hour containing ``moment``.

    Raises:
        ValueError: when ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("uptime needs an aware datetime")
    return int(moment.timestamp() // HOUR_SECONDS) * HOUR_SECONDS


def first_hour(now: datetime, window: timedelta) -> int:
    """Return the oldest hour start counted in ``window`` ending at ``now``."""
    hours = int(window.total_seconds() // HOUR_SECONDS)
    return hour_start(now) - (hours - 1) * HOUR_SECONDS


def percentage(
    rows: Iterable[tuple[int, int, int]], now: datetime, window: timedelta
) -> float | None:
    """Return the uptime percentage (0..100) over ``window``, or None without samples."""
    oldest, newest = first_hour(now, window), hour_start(now)
    total = ok = 0
    for hour, row_total, row_ok in rows:
        if oldest <= hour <= newest:
            total += row_total
            ok += row_ok
    if total <= 0:
        return None
    return 100.0 * ok / total


def compute_uptime(rows: Iterable[tuple[int, int, int]], now: datetime) -> Uptime:
    """Return uptime over the last 24 h, 7 d and 30 d from rollup rows.

    Args:
        rows: ``(hour, total, ok)`` tuples (e.g. :class:`RollupRow`), in any order; rows
            outside a window are ignored for that window.
        now: aware datetime the windows end at.
    """
    materialised = list(rows)
    return Uptime(
        day=percentage(materialised, now, DAY),
        week=percentage(materialised, now, WEEK),
        month=percentage(materialised, now, MONTH),
    )
