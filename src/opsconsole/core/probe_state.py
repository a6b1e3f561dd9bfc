"""Debounced probe state, as Gatus does it: down after N failures, up after M successes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from opsconsole.core.models import ProbeResult, ProbeState


@dataclass(frozen=True, slots=True)
class StateTracker:
    """Consecutive-result counters for one probe.

    A result "answered" when it is ok or only latency conditions failed
    (degraded): the service is up, just slow.
    """

    failure_threshold: int = 3
    success_threshold: int = 2
    state: ProbeState = ProbeState.UNKNOWN
    failures: int = 0
    successes: int = 0

    def observe(self, result: ProbeResult) -> StateTracker:
        """Return the tracker after ``result`` (the tracker itself is immutable)."""
        answered = result.ok or result.degraded
        failures = 0 if answered else self.failures + 1
        successes = self.successes + 1 if answered else 0
        state = self.state
        if not answered:
            if failures >= self.failure_threshold:
                state = ProbeState.DOWN
        elif self.state is ProbeState.DOWN:
            if successes >= self.success_threshold:
                state = ProbeState.DEGRADED if result.degraded else ProbeState.UP
        else:
            state = ProbeState.DEGRADED if result.degraded else ProbeState.UP
        return replace(self, state=state, failures=failures, successes=successes)


def overall_state(states: list[ProbeState]) -> ProbeState:
    """Worst state across probes: down > degraded > unknown > up."""
    for candidate in (ProbeState.DOWN, ProbeState.DEGRADED, ProbeState.UNKNOWN):
        if candidate in states:
            return candidate
    return ProbeState.UP if states else ProbeState.UNKNOWN


SEVERITY_ORDER = {
    ProbeState.DOWN: 0,
    ProbeState.DEGRADED: 1,
    ProbeState.UNKNOWN: 2,
    ProbeState.UP: 3,
}
