"""Incidents: the frozen domain objects and clocks of incident mode (guide §8, §1.4).

Everything here is a pure function of ``(incident, settings, now)``: the update countdown,
the 30-minute monitoring window before the all-clear and the history metrics are right
after a restart by construction, since they are computed from stored instants only.
All instants are timezone-aware; the guide writes incident times in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from opsconsole.core.text import sanitize_terminal

__all__ = [
    "MONITORING_WINDOW",
    "PLAYBOOK",
    "PLAYBOOK_STEPS",
    "EntryKind",
    "Impact",
    "Incident",
    "IncidentMetrics",
    "IncidentSeverity",
    "IncidentStatus",
    "PlaybookStep",
    "TimelineEntry",
    "UpdateState",
    "all_clear_allowed",
    "duration_label",
    "incident_metrics",
    "mean_time_to_resolve",
    "next_update_due",
    "parse_customers",
    "parse_failing",
    "playbook_step",
    "suggest_declaring",
    "update_state",
    "updates_on_time",
]

_ZERO = timedelta(0)


class IncidentStatus(StrEnum):
    """Where the response stands; everything but RESOLVED is active."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class IncidentSeverity(StrEnum):
    """The guide's Step 2 subject: ``Severity [Critical/High]``."""

    CRITICAL = "critical"
    HIGH = "high"


class EntryKind(StrEnum):
    """What a timeline entry records."""

    DECLARED = "declared"
    STATUS = "status"
    PROBE = "probe"
    ALERT = "alert"
    SENTRY = "sentry"
    TICKET = "ticket"
    UPDATE = "update"
    NOTE = "note"
    SNOOZE = "snooze"
    PLAYBOOK = "playbook"
    ALL_CLEAR = "all_clear"
    REVIEW = "review"
    IMPACT = "impact"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One append-only timeline entry.

    Attributes:
        at: when it happened (aware).
        kind: what it records.
        text: what to show; may be untrusted (alert labels, Sentry titles, notes).
        actor: who did it (operator name), empty for automatic entries.
        delivery: for sent messages, e.g. ``slack: ok``, ``slack: queued (unreachable)``,
            ``clipboard``.
        id: the store's row id, None before it is stored.
    """

    at: datetime
    kind: EntryKind
    text: str
    actor: str = ""
    delivery: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Impact:
    """Who is affected (guide §8 Step 1: "Calculate impact").

    Attributes:
        customers: customers affected, None when unknown.
        failing_percent: share of requests failing (0..100), None when unknown.
        note: free text, e.g. ``EU region only``.
    """

    customers: int | None = None
    failing_percent: float | None = None
    note: str = ""

    def label(self) -> str:
        """``3 customers, ~2% of requests failing`` (the guide's wording), or ``unknown``."""
        parts: list[str] = []
        if self.customers is not None:
            noun = "customer" if self.customers == 1 else "customers"
            parts.append(f"{self.customers} {noun}")
        if self.failing_percent is not None:
            parts.append(f"~{_percent(self.failing_percent)} of requests failing")
        note = _flat(self.note)
        if note:
            parts.append(note)
        return ", ".join(parts) if parts else "unknown"


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as stored; replace fields with :func:`dataclasses.replace`.

    Attributes:
        id: the store's incident number.
        title: a short description (the all-clear's "Issue").
        component: the subject's ``[Component]``, e.g. ``API``.
        severity: critical or high.
        status: investigating, identified, monitoring or resolved.
        started_at: when the incident was declared (or backdated to the first symptom).
        impact: customers and requests affected.
        resolved_at: when the all-clear was sent.
        monitoring_since: when the fix went in and the monitoring window started.
        last_update_at: when the last stakeholder update was sent.
        snoozed_until: the update prompt is snoozed until then.
        review_path: where the post-incident review was written.
        review_due: when the review is due (resolved + 24 h by default).
        review_done_at: when the review was marked done.
        playbook: ticked :data:`PLAYBOOK` step keys.
        playbook_times: ``(key, when)`` for each tick.
        root_cause: the all-clear's "Root Cause".
        fix: the all-clear's "Fix".
        postmortem_url: the all-clear's "Post-mortem" link.
        monitoring_override: the reason given to skip the rest of the monitoring window.
        timeline: entries in time order (not part of equality).
    """

    id: int
    title: str
    component: str
    severity: IncidentSeverity
    status: IncidentStatus
    started_at: datetime
    impact: Impact = Impact()
    resolved_at: datetime | None = None
    monitoring_since: datetime | None = None
    last_update_at: datetime | None = None
    snoozed_until: datetime | None = None
    review_path: str | None = None
    review_due: datetime | None = None
    review_done_at: datetime | None = None
    playbook: frozenset[str] = frozenset()
    playbook_times: tuple[tuple[str, datetime], ...] = ()
    root_cause: str = ""
    fix: str = ""
    postmortem_url: str = ""
    monitoring_override: str = ""
    timeline: tuple[TimelineEntry, ...] = field(default=(), compare=False)

    @property
    def active(self) -> bool:
        """True until the incident is resolved."""
        return self.status is not IncidentStatus.RESOLVED

    def elapsed(self, now: datetime) -> timedelta:
        """Time since the start, up to the resolution when resolved (the banner's timer)."""
        end = self.resolved_at if self.resolved_at is not None else now
        return max(end - self.started_at, _ZERO)

    def ticked_at(self, key: str) -> datetime | None:
        """When playbook step ``key`` was ticked, or None."""
        if key not in self.playbook:
            return None
        return next((at for k, at in reversed(self.playbook_times) if k == key), None)


# -- update cadence (Step 2 / Step 5) ------------------------------------------------------------


class UpdateState(StrEnum):
    """The countdown to the next stakeholder update."""

    OK = "ok"
    WARNING = "warning"
    OVERDUE = "overdue"


def next_update_due(incident: Incident, every: timedelta) -> datetime:
    """When the next stakeholder update is due.

    ``every`` after the last update (or after the start, so the first one lands within the
    guide's 15 minutes); a snooze moves it to ``snoozed_until`` when that is later.
    """
    base = incident.last_update_at if incident.last_update_at is not None else incident.started_at
    due = base + every
    snoozed = incident.snoozed_until
    return snoozed if snoozed is not None and snoozed > due else due


def update_state(
    incident: Incident,
    every: timedelta,
    now: datetime,
    *,
    warn_before: timedelta = timedelta(minutes=2),
) -> tuple[UpdateState, timedelta]:
    """The update countdown at ``now``.

    Returns:
        ``(state, remaining)``; remaining is negative when overdue. WARNING once remaining
        is at most ``warn_before``, OVERDUE once the due time has passed. A resolved
        incident owes no updates: its state is always OK.
    """
    _require_aware(now, "now")
    remaining = next_update_due(incident, every) - now
    if not incident.active:
        return UpdateState.OK, remaining
    if remaining < _ZERO:
        return UpdateState.OVERDUE, remaining
    if remaining <= warn_before:
        return UpdateState.WARNING, remaining
    return UpdateState.OK, remaining


# -- playbook (§8 Steps 1–7) ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookStep:
    """One checklist item of the guide's playbook.

    Attributes:
        key: stable id stored with the incident, e.g. ``1.health``.
        step: the guide's step number, 1–7.
        text: the item, in the guide's words.
        evidence: live evidence shown next to it: ``probe:<name>``, ``sentry``, ``metrics``
            or ``deployments``; None for none.
    """

    key: str
    step: int
    text: str
    evidence: str | None = None


PLAYBOOK_STEPS: Mapping[int, tuple[str, str]] = MappingProxyType(
    {
        1: ("Confirm Incident", "Immediately"),
        2: ("Notify Stakeholders", "Within 15 minutes"),
        3: ("Investigate Root Cause", "Parallel"),
        4: ("Implement Fix", "Depends on cause"),
        5: ("Communication", "Every 15 minutes"),
        6: ("Recovery", "Once fixed"),
        7: ("Post-Incident Review", "Within 24 hours"),
    }
)
"""Each step's title and timing, as the guide heads them."""

PLAYBOOK: tuple[PlaybookStep, ...] = (
    PlaybookStep("1.health", 1, "API /health endpoint responding", "probe:API health"),
    PlaybookStep("1.dashboard", 1, "Dashboard loading", "probe:Dashboard"),
    PlaybookStep("1.sentry", 1, "Sentry showing errors", "sentry"),
    PlaybookStep("1.metrics", 1, "Grafana showing metrics", "metrics"),
    PlaybookStep("1.impact", 1, "Calculate impact (how many customers affected)"),
    PlaybookStep("2.notify", 2, "Notify #incidents within 15 minutes (first update sent)"),
    PlaybookStep("3.logs", 3, "Render backend logs (any error messages?)"),
    PlaybookStep("3.database", 3, "Database connection (can backend reach Postgres?)"),
    PlaybookStep("3.redis", 3, "Redis connection (can backend reach Redis?)"),
    PlaybookStep(
        "3.deployments", 3, "Recent deployments (anything deployed in last hour?)", "deployments"
    ),
    PlaybookStep("3.disk", 3, "Disk space (Render disk full?)"),
    PlaybookStep("3.memory", 3, "Memory (consuming too much RAM?)"),
    PlaybookStep(
        "4.fix",
        4,
        "Implement fix (database: Neon dashboard; Redis: RedisCloud; code bug: revert or "
        "hotfix; rate limiting: temporarily raise the limit)",
    ),
    PlaybookStep(
        "5.communicate",
        5,
        "Update stakeholders every 15 minutes: progress, next steps, expected resolution "
        "time, customer action needed",
    ),
    PlaybookStep("6.verify", 6, "Verify API responding normally", "probe:API health"),
    PlaybookStep("6.smoke", 6, "Run quick smoke tests (curl API, load dashboard)"),
    PlaybookStep("6.monitor", 6, "Monitor metrics for 30 minutes", "metrics"),
    PlaybookStep("6.all_clear", 6, "When stable, send the all-clear message"),
    PlaybookStep("7.review", 7, "Post-incident review written (within 24 hours)"),
)
"""The guide's §8 Steps 1–7 as checklist items, in order."""

_BY_KEY = {s.key: s for s in PLAYBOOK}


def playbook_step(key: str) -> PlaybookStep:
    """The :data:`PLAYBOOK` item with ``key``.

    Raises:
        KeyError: for an unknown key.
    """
    return _BY_KEY[key]


MONITORING_WINDOW = timedelta(minutes=30)
"""Step 6: "Monitor metrics for 30 minutes" before the all-clear."""


def all_clear_allowed(
    incident: Incident, now: datetime, *, window: timedelta = MONITORING_WINDOW
) -> tuple[bool, timedelta]:
    """Whether Step 6's monitoring window allows the all-clear at ``now``.

    Returns:
        ``(allowed, remaining)``: allowed once ``monitoring_since + window`` has passed, or
        at once when ``monitoring_override`` gives a reason; before monitoring started,
        ``(False, window)``.
    """
    _require_aware(now, "now")
    if incident.monitoring_override.strip():
        return True, _ZERO
    if incident.monitoring_since is None:
        return False, window
    remaining = incident.monitoring_since + window - now
    if remaining <= _ZERO:
        return True, _ZERO
    return False, remaining


# -- metrics (history) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentMetrics:
    """What the incidents history shows for one incident.

    Attributes:
        duration: start to resolution (to ``now`` while active).
        time_to_first_update: start to the first stakeholder update; None before one.
        cadence_kept: percentage (0..100) of updates sent on time; None without any.
        mttr: time to resolve; None while active.
    """

    duration: timedelta
    time_to_first_update: timedelta | None
    cadence_kept: float | None
    mttr: timedelta | None


def updates_on_time(incident: Incident, every: timedelta, now: datetime) -> tuple[int, int]:
    """Count the stakeholder updates sent on time: ``(on_time, total)``.

    An update is on time when sent at most ``every`` after the previous one (the first:
    after the start). While the incident is active and the next update is already late,
    that missing update counts as a late one. Snoozes do not excuse a late update.
    """
    sent = sorted(e.at for e in incident.timeline if e.kind is EntryKind.UPDATE)
    on_time = 0
    previous = incident.started_at
    for at in sent:
        if at - previous <= every:
            on_time += 1
        previous = max(previous, at)
    total = len(sent)
    if incident.active and now - previous > every:
        total += 1
    return on_time, total


def incident_metrics(incident: Incident, every: timedelta, now: datetime) -> IncidentMetrics:
    """Duration, time to first update, update cadence kept and MTTR of ``incident``."""
    _require_aware(now, "now")
    first = min((e.at for e in incident.timeline if e.kind is EntryKind.UPDATE), default=None)
    on_time, total = updates_on_time(incident, every, now)
    mttr = None
    if not incident.active and incident.resolved_at is not None:
        mttr = max(incident.resolved_at - incident.started_at, _ZERO)
    return IncidentMetrics(
        duration=incident.elapsed(now),
        time_to_first_update=None if first is None else max(first - incident.started_at, _ZERO),
        cadence_kept=None if total == 0 else 100.0 * on_time / total,
        mttr=mttr,
    )


def mean_time_to_resolve(incidents: Iterable[Incident]) -> timedelta | None:
    """MTTR over the resolved incidents of ``incidents``; None when none is resolved."""
    spans = [
        i.resolved_at - i.started_at
        for i in incidents
        if not i.active and i.resolved_at is not None
    ]
    if not spans:
        return None
    return sum(spans, _ZERO) / len(spans)


def duration_label(delta: timedelta) -> str:
    """A human duration in whole minutes: ``47 min``, ``1 h 05 min``."""
    sign = "-" if delta < _ZERO else ""
    minutes = int(abs(delta).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{minutes} min"


# -- impact from operator input ---------------------------------------------------------------


def parse_customers(text: str) -> int | None:
    """Customers affected from a form field: a whole number >= 0, or None when blank.

    Raises:
        ValueError: with a one-line message for anything else.
    """
    value = text.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"Customers must be a whole number, got {value[:20]!r}") from None
    if number < 0:
        raise ValueError(f"Customers cannot be negative, got {number}")
    return number


def parse_failing(text: str) -> float | None:
    """% of requests failing from a form field: 0 to 100, or None when blank.

    Raises:
        ValueError: with a one-line message for anything else (also NaN and infinity).
    """
    value = text.strip().removesuffix("%").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"% failing must be a number from 0 to 100, got {value[:20]!r}") from None
    if not 0.0 <= number <= 100.0:  # also refuses NaN
        raise ValueError(f"% failing must be from 0 to 100, got {value[:20]}")
    return number


# -- suggesting a declaration (§1.4) -------------------------------------------------------------


def suggest_declaring(
    probe_down_since: Mapping[str, datetime],
    firing_critical: Sequence[str],
    now: datetime,
    *,
    after: timedelta = timedelta(minutes=15),
) -> str | None:
    """Why an incident should be declared now, on one line, or None.

    A probe down for more than ``after`` (the guide's §1.4 "API completely down (> 15
    minutes)"; the longest outage is named) or a firing critical alert.

    Args:
        probe_down_since: probe name -> when it went down, for probes that are down.
        firing_critical: names of critical alerts that are firing.
        now: the current instant.
        after: how long a probe must be down.
    """
    _require_aware(now, "now")
    down = sorted(
        ((since, name) for name, since in probe_down_since.items() if now - since > after),
        key=lambda pair: (pair[0], pair[1]),
    )
    if down:
        since, name = down[0]
        limit = duration_label(after).replace(" min", " minutes")
        return f"{_flat(name, 60)} down for {duration_label(now - since)} (guide §1.4: > {limit})"
    names = [n for n in (_flat(a, 60) for a in firing_critical) if n]
    if not names:
        return None
    if len(names) == 1:
        return f"critical alert {names[0]} firing"
    return f"critical alerts {', '.join(names)} firing"


# -- helpers -------------------------------------------------------------------------------------


def _flat(text: str, limit: int | None = None) -> str:
    """Untrusted text on one line with control characters made visible."""
    return sanitize_terminal(text, single_line=True, limit=limit).strip()


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
