"""A one-line text sparkline (fits in a DataTable cell)."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """Render the last ``width`` values as block characters, scaled from 0 to their maximum.

    Scaling from zero (not from the minimum) keeps 1 ms of jitter from looking like a spike.
    """
    points = [max(v, 0.0) for v in list(values)[-width:]]
    if not points:
        return ""
    high = max(points)
    if high <= 0:
        return BARS[0] * len(points)
    top = len(BARS) - 1
    return "".join(BARS[round(v / high * top)] for v in points)
