"""The text sparkline used in the Health pane."""

from __future__ import annotations

from opsconsole.widgets.sparkline import sparkline


def test_scaled_from_zero() -> None:
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([10, 10, 10]) == "███"  # flat and non-zero: full bars, not a fake dip


def test_empty_and_width() -> None:
    assert sparkline([]) == ""
    assert len(sparkline(range(100), width=20)) == 20
    assert sparkline([0, 0]) == "▁▁"
