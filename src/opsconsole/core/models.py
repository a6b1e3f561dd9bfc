"""Frozen domain objects shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What happened when a probe ran, typed so panes and CLIs can explain it."""

    OK = "ok"
    FAILED_CONDITIONS = "failed_conditions"
    TIMEOUT = "timeout"
    DNS_FAILURE = "dns_failure"
    CONNECTION_REFUSED = "connection_refused"
    TLS_ERROR = "tls_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BODY_TOO_LARGE = "body_too_large"
    ERROR = "error"


class ProbeState(StrEnum):
    """Debounced state of a probe (Gatus-style thresholds)."""

    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One evaluated condition, e.g. ``[STATUS] (503) == 200`` with ``ok=False``."""

    condition: str
    ok: bool
    resolved: str
    latency_only: bool = False


@dataclass(frozen=True, slots=True)
class ProbeObservation:
    """Raw facts gathered by a probe adapter, before conditions are evaluated.

    ``body`` is at most 1 MiB. ``certificate_expiration_ms`` is the time left on the
    leaf certificate in milliseconds (None when not TLS).
    """

    connected: bool
    status: int | None = None
    response_time_ms: float | None = None
    ip: str | None = None
    body: bytes = b""
    certificate_expiration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe run; ``state`` is filled in by the engine."""

    probe: str
    timestamp: datetime
    outcome: Outcome
    status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    conditions: tuple[ConditionResult, ...] = field(default_factory=tuple)
    state: ProbeState = ProbeState.UNKNOWN

    @property
    def ok(self) -> bool:
        """True when the probe ran and every condition held."""
        return self.outcome is Outcome.OK

    @property
    def degraded(self) -> bool:
        """True when the only failing conditions are latency conditions."""
        failing = [c for c in self.conditions if not c.ok]
        return (
            self.outcome is Outcome.FAILED_CONDITIONS
            and bool(failing)
            and all(c.latency_only for c in failing)
        )

    @property
    def reason(self) -> str:
        """A one-line human explanation of a failure ('' when ok)."""
        if self.ok:
            return ""
        failing = [c.resolved for c in self.conditions if not c.ok]
        if self.outcome is Outcome.FAILED_CONDITIONS and failing:
            return "; ".join(failing)
        return self.error or self.outcome.value


@dataclass(frozen=True, slots=True)
class Uptime:
    """Uptime percentages over the standard windows (None when no data)."""

    day: float | None
    week: float | None
    month: float | None
