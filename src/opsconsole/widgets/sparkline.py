"""A one-line text sparkline (fits in a DataTable cell)."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """Render the last ``width`` values as block characters, scaled to their own range."""
    points = list(values)[-width:]
    if not points:
        return ""
    low, high = min(points), max(points)
    span = high - low
    if span <= 0:
        return BARS[0] * len(points)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / span * top)] for v in points)
