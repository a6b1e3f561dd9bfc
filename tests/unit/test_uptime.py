"""Uptime arithmetic over hourly rollups (opsconsole.core.uptime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from opsconsole.core.models import Uptime
from opsconsole.core.uptime import (
    DAY,
    MONTH,
    WEEK,
    RollupRow,
    compute_uptime,
    first_hour,
    hour_start,
    percentage,
)

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)
H = 3600
CURRENT = hour_start(NOW)  # 12:00 today


def row(hours_ago: int, total: int, ok: int) -> RollupRow:
    return RollupRow(CURRENT - hours_ago * H, total, ok)


def test_hour_start_floors_to_the_utc_hour() -> None:
    assert int(datetime(2024, 5, 10, 12, tzinfo=UTC).timestamp()) == CURRENT
    plus_two = datetime(2024, 5, 10, 16, 59, 59, tzinfo=timezone(timedelta(hours=2)))
    assert hour_start(plus_two) == CURRENT + 2 * H


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        compute_uptime([], datetime(2024, 5, 10, 12))


def test_first_hour_is_the_bucket_the_window_starts_in() -> None:
    assert first_hour(NOW, DAY) == CURRENT - 24 * H
    assert first_hour(NOW, WEEK) == CURRENT - 168 * H
    assert first_hour(NOW, MONTH) == CURRENT - 720 * H


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], Uptime(None, None, None), id="empty"),
        pytest.param([row(0, 0, 0)], Uptime(None, None, None), id="zero-total"),
        pytest.param([row(0, 4, 4)], Uptime(100.0, 100.0, 100.0), id="all-up"),
        pytest.param([row(0, 4, 0)], Uptime(0.0, 0.0, 0.0), id="all-down"),
        pytest.param([row(0, 4, 3), row(5, 4, 1)], Uptime(50.0, 50.0, 50.0), id="mixed-day"),
        # oldest bucket inside the 24 h window, the one it cuts (12:00 yesterday, half of it
        # from 12:30 counted pro rata) and the first one outside it
        pytest.param([row(23, 2, 1)], Uptime(50.0, 50.0, 50.0), id="day-boundary-in"),
        pytest.param([row(24, 2, 1)], Uptime(50.0, 50.0, 50.0), id="day-boundary-cut"),
        pytest.param([row(25, 2, 1)], Uptime(None, 50.0, 50.0), id="day-boundary-out"),
        pytest.param([row(167, 1, 1)], Uptime(None, 100.0, 100.0), id="week-boundary-in"),
        pytest.param([row(168, 1, 1)], Uptime(None, 100.0, 100.0), id="week-boundary-cut"),
        pytest.param([row(169, 1, 1)], Uptime(None, None, 100.0), id="week-boundary-out"),
        pytest.param([row(719, 1, 1)], Uptime(None, None, 100.0), id="month-boundary-in"),
        pytest.param([row(720, 1, 1)], Uptime(None, None, 100.0), id="month-boundary-cut"),
        pytest.param([row(721, 1, 1)], Uptime(None, None, None), id="month-boundary-out"),
        # a cut bucket weighs half: (1×½ + 3) of (4×½ + 4) results up
        pytest.param(
            [row(24, 4, 1), row(0, 4, 3)],
            Uptime(100 * 3.5 / 6, 50.0, 50.0),
            id="day-cut-weighs-half",
        ),
        pytest.param([row(-1, 5, 0)], Uptime(None, None, None), id="future-ignored"),
        pytest.param(
            [row(0, 3, 3), row(48, 1, 0), row(240, 4, 0)],
            Uptime(100.0, 75.0, 3 / 8 * 100),
            id="partial-windows",
        ),
    ],
)
def test_compute_uptime(rows: list[RollupRow], expected: Uptime) -> None:
    assert compute_uptime(rows, NOW) == expected


def test_accepts_plain_tuples_in_any_order_and_generators() -> None:
    rows = ((CURRENT - h * H, 2, 1) for h in (100, 0, 30))
    assert compute_uptime(rows, NOW) == Uptime(50.0, 50.0, 50.0)


def test_percentage_single_window() -> None:
    assert percentage([row(0, 3, 1)], NOW, DAY) == pytest.approx(100 / 3)
