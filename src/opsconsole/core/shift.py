"""Shift boundaries: "since the start of your shift" for Sentry and alert history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo


def shift_start(now: datetime, starts: Sequence[str], tz: tzinfo) -> datetime:
    """The most recent shift start at or before ``now`` (aware UTC in and out).

    Args:
        now: current time, timezone-aware.
        starts: local start times such as ``["09:00", "21:00"]``.
        tz: the operator's timezone the start times are written in.
    """
    now_utc = now.astimezone(UTC)
    local = now.astimezone(tz)
    candidates: list[datetime] = []
    for text in starts:
        hour, minute = (int(p) for p in text.split(":"))
        for days_back in (0, 1, 2):
            day = local.date() - timedelta(days=days_back)
            # Compared as instants (UTC), never as wall times: on a DST night a start in
            # the skipped hour is not in the future, and one in the repeated hour is
            # already past during the second pass. A start in the skipped hour begins
            # when the clocks jump (zoneinfo's fold=0 reading, after the gap).
            start = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
            if start <= now_utc:
                candidates.append(start)
    if not candidates:  # no start times: treat the last 24 h as the shift
        return now - timedelta(hours=24)
    return max(candidates)


def previous_shift_start(now: datetime, starts: Sequence[str], tz: tzinfo) -> datetime:
    """The start of the shift before the current one: the "overnight" a start-of-shift
    review looks back to (with one start a day, the last 24 hours or more)."""
    current = shift_start(now, starts, tz)
    return shift_start(current - timedelta(seconds=1), starts, tz)
