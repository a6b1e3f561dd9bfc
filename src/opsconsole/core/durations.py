"""Durations written the way people write them in checks.yaml: ``500ms 30s 5m 1h 3d``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")


MAX_DURATION = timedelta(days=36500)
"""The longest duration accepted anywhere (100 years): later date arithmetic stays in range."""
MIN_DURATION = timedelta(milliseconds=1)
"""The shortest positive duration accepted: ``1e-9`` would be a zero timedelta (a retention
that prunes everything, a poll interval that never sleeps)."""


class DurationError(ValueError):
    """Raised for a string that is not a duration."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"30s"``, ``"1h30m"`` or ``"500ms"`` into a timedelta.

    Raises:
        DurationError: when ``text`` is not a positive duration.
    """
    s = text.strip().replace(" ", "")
    if not _WHOLE.match(s):
        raise DurationError(f"expected a duration like 5s, got {text!r}")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(s))
    if seconds <= 0:
        raise DurationError(f"expected a positive duration, got {text!r}")
    return checked_duration(seconds, text)


def checked_duration(seconds: float, written: object) -> timedelta:
    """``seconds`` as a timedelta, refusing infinity, NaN, anything past MAX_DURATION and a
    positive value under MIN_DURATION.

    Raises:
        DurationError: naming ``written`` (the value as the user wrote it).
    """
    shown = repr(written) if isinstance(written, str) else str(written)
    if seconds != seconds:  # NaN
        raise DurationError(f"expected a duration like 5s, got {shown}")
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"expected a duration of at most 36500d (100 years), got {shown}")
    if 0 < seconds < MIN_DURATION.total_seconds():
        raise DurationError(f"expected a duration of at least 1ms, got {shown}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a timedelta compactly: ``1h05m``, ``45s``, ``3d02h``, ``250ms``."""
    total = delta.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total < 1:
        return f"{sign}{round(total * 1000)}ms"
    secs = int(total)
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{sign}{days}d{hours:02d}h"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{seconds:02d}s"
    return f"{sign}{seconds}s"


def format_setting(delta: timedelta) -> str:
    """Render a configured duration exactly enough to recognise: ``2.5s``, not ``2s``.

    :func:`format_duration` drops fractions of a second, so a 2.5 s timeout read "timed out
    after 2s" and a 1.5 s interval "must be shorter than interval (1s)".
    """
    total = delta.total_seconds()
    if 1 <= abs(total) < 60 and not total.is_integer():
        return f"{round(total, 3):g}s"
    if 0 < abs(total) < 1:
        return f"{round(total * 1000, 3):g}ms"
    return format_duration(delta)


def short_age(when: datetime | None, now: datetime) -> str:
    """Compact age for a table cell: ``45s``, ``12m``, ``3h``, ``2d`` (``—`` when unknown)."""
    if when is None:
        return "—"
    seconds = max((now - when).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
