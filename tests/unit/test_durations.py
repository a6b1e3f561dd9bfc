"""Durations as written in checks.yaml."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsconsole.core.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("3d", timedelta(days=3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2w ", timedelta(weeks=2)),
        ("1.5s", timedelta(seconds=1.5)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["fast", "", "5", "-5s", "0s", "5 sec", "s5"])
def test_reject(text: str) -> None:
    with pytest.raises(DurationError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=2, seconds=5), "2m05s"),
        (timedelta(hours=1, minutes=5), "1h05m"),
        (timedelta(days=3, hours=2), "3d02h"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
