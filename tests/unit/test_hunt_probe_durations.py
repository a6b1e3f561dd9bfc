"""Configured durations are shown as written: a 2.5 s timeout is not "2s"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.core.durations import format_setting


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (0.2505, "250.5ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (2.25, "2.25s"),
        (30, "30s"),
        (90, "1m30s"),
        (3600, "1h00m"),
    ],
)
def test_format_setting(seconds: float, text: str) -> None:
    assert format_setting(timedelta(seconds=seconds)) == text


def test_timeout_error_names_a_fractional_interval_exactly() -> None:
    with pytest.raises(ConfigError) as info:
        loads_config(
            "probes:\n  - name: a\n    url: http://x.example/\n    interval: 1.5s\n"
            "    timeout: 1.5s\n",
            env={},
        )
    assert str(info.value) == (
        "checks.yaml:5: probes[0].timeout: must be shorter than interval (1.5s)"
    )


def test_defaults_timeout_error_names_a_fractional_interval_exactly() -> None:
    with pytest.raises(ConfigError) as info:
        loads_config("defaults:\n  interval: 2.5s\n  timeout: 3s\n", env={})
    assert str(info.value) == (
        "checks.yaml:3: defaults.timeout: must be shorter than interval (2.5s)"
    )
