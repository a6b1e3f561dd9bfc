"""Injected time: all datetimes are timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def frozen_clock(at: datetime) -> Clock:
    """Return a clock that always answers ``at`` (for tests and snapshots)."""
    if at.tzinfo is None:
        raise ValueError("frozen_clock needs an aware datetime")
    return lambda: at
