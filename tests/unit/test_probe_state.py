"""Debounced probe state (Gatus thresholds) and the overall state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState
from opsconsole.core.probe_state import StateTracker, overall_state

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
OK = ProbeResult("api", T0, Outcome.OK)
FAIL = ProbeResult(
    "api",
    T0,
    Outcome.FAILED_CONDITIONS,
    conditions=(ConditionResult("[STATUS] == 200", False, "[STATUS] (503) == 200"),),
)
SLOW = ProbeResult(
    "api",
    T0,
    Outcome.FAILED_CONDITIONS,
    conditions=(
        ConditionResult("[STATUS] == 200", True, "[STATUS] (200) == 200"),
        ConditionResult("[RESPONSE_TIME] < 1000", False, "[RESPONSE_TIME] (1500) < 1000", True),
    ),
)
TIMEOUT = ProbeResult("api", T0, Outcome.TIMEOUT, error="timed out after 5s")


def run(seq: list[ProbeResult], start: ProbeState = ProbeState.UNKNOWN) -> list[ProbeState]:
    tracker = StateTracker(state=start)
    states = []
    for r in seq:
        tracker = tracker.observe(r)
        states.append(tracker.state)
    return states


@pytest.mark.parametrize(
    ("seq", "start", "expected"),
    [
        ([OK], ProbeState.UNKNOWN, [ProbeState.UP]),
        ([FAIL, FAIL, FAIL], ProbeState.UNKNOWN, [ProbeState.UNKNOWN] * 2 + [ProbeState.DOWN]),
        ([FAIL, FAIL, OK], ProbeState.UP, [ProbeState.UP, ProbeState.UP, ProbeState.UP]),
        ([FAIL, FAIL, FAIL], ProbeState.UP, [ProbeState.UP, ProbeState.UP, ProbeState.DOWN]),
        ([OK, OK], ProbeState.DOWN, [ProbeState.DOWN, ProbeState.UP]),
        ([OK, FAIL, OK], ProbeState.DOWN, [ProbeState.DOWN] * 3),
        ([SLOW], ProbeState.UP, [ProbeState.DEGRADED]),
        ([SLOW, OK], ProbeState.UP, [ProbeState.DEGRADED, ProbeState.UP]),
        ([TIMEOUT] * 3, ProbeState.UP, [ProbeState.UP, ProbeState.UP, ProbeState.DOWN]),
    ],
)
def test_state_transitions(
    seq: list[ProbeResult], start: ProbeState, expected: list[ProbeState]
) -> None:
    """fail,fail,ok never changes state; 3 failures go down; 2 successes come back."""
    assert run(seq, start) == expected


def test_degraded_only_when_latency_alone_fails() -> None:
    assert SLOW.degraded
    assert not FAIL.degraded
    assert not TIMEOUT.degraded
    assert SLOW.reason == "[RESPONSE_TIME] (1500) < 1000"
    assert TIMEOUT.reason == "timed out after 5s"


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], ProbeState.UNKNOWN),
        ([ProbeState.UP, ProbeState.UP], ProbeState.UP),
        ([ProbeState.UP, ProbeState.DEGRADED], ProbeState.DEGRADED),
        ([ProbeState.DEGRADED, ProbeState.DOWN, ProbeState.UP], ProbeState.DOWN),
        ([ProbeState.UP, ProbeState.UNKNOWN], ProbeState.UNKNOWN),
    ],
)
def test_overall_state(states: list[ProbeState], expected: ProbeState) -> None:
    assert overall_state(states) is expected
