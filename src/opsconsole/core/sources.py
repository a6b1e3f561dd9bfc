"""Frozen results of the non-probe sources (Sentry, metrics, alerts, status page).

Adapters return these; panes render them. Each source is polled on its own and
degrades only its own pane: :class:`SourceStatus` tracks ok / stale / error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

Level = Literal["ok", "warn", "crit", "unknown"]


class SourceError(Exception):
    """An expected failure of a source, with a one-line human reason.

    Adapters raise this (never raw httpx/requests errors) so panes can show
    ``str(error)``: "401 Unauthorized: the Sentry token is invalid or expired".
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


# -- Sentry -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentryIssue:
    """One Sentry issue row (``count`` arrives as a string and is parsed to ``events``)."""

    id: str
    short_id: str
    title: str
    culprit: str
    level: str
    project: str
    events: int
    users: int
    first_seen: datetime | None
    last_seen: datetime | None
    permalink: str | None


@dataclass(frozen=True, slots=True)
class SentryProjectCounts:
    """Issue counts of one project."""

    project: str
    unresolved: int
    new_24h: int
    new_since_shift: int
    new_overnight: int | None = None
    """First seen since the snapshot's ``overnight_since`` (None: not counted)."""


@dataclass(frozen=True, slots=True)
class SentrySnapshot:
    """What the Sentry pane shows."""

    projects: tuple[SentryProjectCounts, ...]
    top: tuple[SentryIssue, ...]
    shift_start: datetime
    rate_limit_remaining: int | None = None
    overnight_since: datetime | None = None
    """The previous shift's start, when each project's ``new_overnight`` counts from it."""

    @property
    def unresolved(self) -> int:
        """Unresolved issues across projects."""
        return sum(p.unresolved for p in self.projects)

    @property
    def new_24h(self) -> int:
        """Issues first seen in the last 24 h across projects."""
        return sum(p.new_24h for p in self.projects)

    @property
    def new_since_shift(self) -> int:
        """Issues first seen since the operator's shift started."""
        return sum(p.new_since_shift for p in self.projects)


# -- Metrics ----------------------------------------------------------------------------


CHART_ERROR_PREFIX = "chart: "
"""Starts a reading's ``error`` when only its range query (the chart) failed."""


def metric_number(value: float) -> str:
    """A metric value with the precision its size needs: ``1,180``, ``12.3``, ``0.42``."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if magnitude < 10 else f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class MetricReading:
    """One configured query: its instant value, level and last hour of samples.

    ``error`` is set when the instant query failed (``value`` is then None), or, starting
    with :data:`CHART_ERROR_PREFIX`, when only the chart failed (``value`` stays good).
    """

    name: str
    unit: str
    value: float | None
    level: Level
    series: tuple[tuple[float, float], ...] = ()
    warn: float | None = None
    crit: float | None = None
    grafana_url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Every configured query's reading."""

    readings: tuple[MetricReading, ...]


def classify(value: float | None, warn: float | None, crit: float | None) -> Level:
    """Level of ``value`` against thresholds (higher is worse; NaN is unknown)."""
    if value is None or value != value:
        return "unknown"
    if crit is not None and value >= crit:
        return "crit"
    if warn is not None and value >= warn:
        return "warn"
    return "ok"


# -- Alerts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """A firing alert from Alertmanager v2."""

    name: str
    severity: str
    summary: str
    starts_at: datetime | None
    state: str  # active | suppressed | unprocessed
    silenced: bool
    inhibited: bool
    fingerprint: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert that fired at some point since the shift started (Prometheus ALERTS)."""

    name: str
    severity: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AlertsSnapshot:
    """Firing alerts now, and what fired since the shift started.

    ``since`` is the start of the window ``fired_since_shift`` covers (None: not said).
    ``fired_overnight`` is what fired since ``overnight_since``, the previous shift's start
    (None: not read), for the start-of-shift question "any alerts overnight?".
    """

    firing: tuple[Alert, ...]
    fired_since_shift: tuple[FiredAlert, ...] | None = None
    history_error: str | None = None
    since: datetime | None = None
    fired_overnight: tuple[FiredAlert, ...] | None = None
    overnight_since: datetime | None = None


# -- Status page ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusComponent:
    """A component that is not operational (groups are skipped)."""

    name: str
    status: str


@dataclass(frozen=True, slots=True)
class StatusIncident:
    """An unresolved incident or an upcoming/in-progress maintenance."""

    name: str
    status: str
    impact: str
    started_at: datetime | None
    shortlink: str | None
    latest_update: str = ""


@dataclass(frozen=True, slots=True)
class StatusPageSnapshot:
    """The summary.json essentials."""

    page: str
    indicator: str  # none | minor | major | critical | maintenance
    description: str
    components: tuple[StatusComponent, ...]
    incidents: tuple[StatusIncident, ...]
    maintenances: tuple[StatusIncident, ...]


# -- Freshness --------------------------------------------------------------------------


class Freshness(StrEnum):
    """How much to trust what a pane shows."""

    WAITING = "waiting"
    OK = "ok"
    STALE = "stale"
    ERROR = "error"


STALE_AFTER_MISSED = 3


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """The last good data of a source and its last error, if newer."""

    source: str
    interval: timedelta
    data: object | None = None
    updated_at: datetime | None = None
    error: str | None = None
    error_at: datetime | None = None

    def succeeded(self, data: object, at: datetime) -> SourceStatus:
        """The status after a successful poll."""
        return replace(self, data=data, updated_at=at, error=None, error_at=None)

    def failed(self, reason: str, at: datetime) -> SourceStatus:
        """The status after a failed poll (the last good data is kept)."""
        return replace(self, error=reason, error_at=at)

    def freshness(self, now: datetime) -> Freshness:
        """ERROR when the last poll failed, STALE after 3 missed intervals, else OK."""
        if self.error is not None:
            return Freshness.ERROR
        if self.updated_at is None:
            return Freshness.WAITING
        if now - self.updated_at > self.interval * STALE_AFTER_MISSED:
            return Freshness.STALE
        return Freshness.OK
