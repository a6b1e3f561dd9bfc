"""Uptime percentages from hourly rollups (pure: no I/O).

A rollup row is one probe's tally for one UTC hour: ``(hour, total, ok)`` where ``hour`` is
the Unix epoch second at which the hour starts. A window ``[since, until]`` reads every bucket
from the one containing ``since`` to the one containing ``until`` (:func:`tally`). The
rollups cannot be split inside an hour, so a bucket only partly inside the window counts
pro rata: its results are taken as spread evenly over the part of the hour that had passed
by ``until``, and the share of that part inside the window is the share of its results
counted. With ``now`` at 12:30 the 24 h window is half of the 12:00 bucket yesterday, the
buckets 13:00 yesterday .. 11:00 today and all of the current, partial 12:00 bucket: 24 h
exactly, whatever the minute, so the dashboard's 24 h and a report over the last 24 h agree.
Buckets in the future (clock skew between writers) are ignored.

What counts as "ok" is decided by the writer; the SQLite store counts a result as up when
its outcome is OK **or** it is merely degraded (only latency conditions failed): a slow
service is still serving.
"""

from __future__ import annotations

import math
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
    """Return the oldest hour start counted (perhaps in part) in ``window`` ending at ``now``."""
    return hour_start(now - window)


class Tally(NamedTuple):
    """What one probe's rollups say about a window (see :func:`tally`)."""

    total: float
    """Results counted (a bucket partly inside the window pro rata)."""
    ok: float
    """Of those, results that counted as up."""
    samples: int
    """Results stored in the buckets the window touches."""
    down_minutes: float
    """Approximate minutes down."""
    covered_minutes: float
    """Minutes of the window that were probed."""

    @property
    def uptime(self) -> float | None:
        """Percentage (0..100) of the results counted that were up; None without any."""
        return None if self.total <= 0 else 100.0 * self.ok / self.total


def tally(
    rows: Iterable[tuple[int, int, int]],
    since: datetime,
    until: datetime,
    interval: timedelta | None = None,
) -> Tally:
    """Tally ``rows`` over ``[since, until]`` (see the module docstring for partial buckets).

    Each bucket's downtime is its failed fraction times the minutes of it in the window, and
    it counts as probed for those minutes. With the probe's ``interval`` known, a result
    stands for at most one interval: an hour the console probed for only 5 minutes (it was
    stopped, or paused) counts at most 5 minutes, probed or down, not 60. Without it (a
    probe no longer configured), a bucket with results counts as probed throughout.
    """
    start, end = since.timestamp(), until.timestamp()
    first, last = hour_start(since), hour_start(until)
    step = None if interval is None else interval.total_seconds() / 60
    total = ok = down = covered = 0.0
    samples = 0
    for hour, row_total, row_ok in rows:
        if not first <= hour <= last or row_total <= 0:
            continue
        sampled = min(hour + HOUR_SECONDS, end) - hour  # seconds of it passed by ``until``
        inside = sampled - max(start - hour, 0)
        if sampled <= 0:  # ``until`` is this hour's start: results stamped exactly then
            inside, weight = 0.0, 1.0
        elif inside <= 0:
            continue
        else:
            weight = inside / sampled
        samples += row_total
        total += row_total * weight
        ok += row_ok * weight
        minutes = inside / 60
        failed = (row_total - row_ok) / row_total * minutes
        if step is not None:
            minutes = min(minutes, row_total * weight * step)
            failed = min(failed, (row_total - row_ok) * weight * step)
        down += failed
        covered += minutes
    return Tally(total, ok, samples, down, covered)


def percentage(
    rows: Iterable[tuple[int, int, int]], now: datetime, window: timedelta
) -> float | None:
    """Return the uptime percentage (0..100) over ``window``, or None without samples."""
    return tally(rows, now - window, now).uptime


def uptime_label(value: float, target: float, places: int = 3) -> str:
    """``99.882%``: cut instead of rounded up where rounding would reach the ``target``
    (or 100%) that ``value`` missed, so a miss never reads ``99.500%`` or ``100.000%``."""
    text = f"{value:.{places}f}"
    if any(value < bound <= float(text) for bound in (target, 100.0)):
        scale = 10**places
        text = f"{math.floor(value * scale) / scale:.{places}f}"
    return f"{text}%"


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
