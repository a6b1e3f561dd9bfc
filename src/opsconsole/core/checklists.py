"""Checklists of guide §9: what to check each shift, each week and each month.

Most daily items are things the console already knows (status page, Sentry, metrics,
alerts, tickets, probes), so :func:`evaluate` ticks them itself from a :class:`Facts`
snapshot, each with its evidence; only the human judgement is left to the operator.
:func:`due_items` decides which weekly and monthly items are due today and which are
overdue. Everything here is a pure function of its arguments: no clock, no I/O.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType

from opsconsole.core.models import ProbeState
from opsconsole.core.sources import (
    AlertsSnapshot,
    MetricReading,
    MetricsSnapshot,
    SentrySnapshot,
    StatusPageSnapshot,
)
from opsconsole.core.text import sanitize_terminal

__all__ = [
    "AUTO_KEYS",
    "AUTO_SOURCES",
    "DAILY_ITEMS",
    "MONTHLY_ITEMS",
    "PROBE_PREFIX",
    "QUIET_SEVERITIES",
    "STALE_TICKET_DAYS",
    "TREND_RISE",
    "WEEKLY_ITEMS",
    "Cadence",
    "ChecklistItem",
    "Facts",
    "ItemResult",
    "ItemStatus",
    "check_auto_key",
    "checklist_exit_code",
    "due_items",
    "evaluate",
    "evaluate_due",
    "item_key",
    "todays_items",
]


class Cadence(StrEnum):
    """How often an item comes round."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ItemStatus(StrEnum):
    """Where an item stands.

    PASS/FAIL/UNKNOWN are verdicts of the console on automatic items; MANUAL is an item
    waiting for the operator, who turns it into DONE or SKIPPED.
    """

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    MANUAL = "manual"
    DONE = "done"
    SKIPPED = "skipped"


PROBE_PREFIX = "probe:"
"""``probe:<name>``: the item passes when the probe called ``<name>`` is up."""

AUTO_KEYS = (
    "statuspage",
    "sentry",
    "metrics",
    "alerts",
    "tickets",
    "stale_tickets",
    "metric_trends",
    "sla_review",
)
"""Automatic checks besides ``probe:<name>``."""

AUTO_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "statuspage": "statuspage",
        "sentry": "sentry",
        "metrics": "metrics",
        "alerts": "alerts",
        "tickets": "tickets",
        "stale_tickets": "tickets",
        "metric_trends": "metrics",
        "sla_review": "sla",
    }
)
"""The :attr:`Facts.errors` key each check reads (``probe:<name>`` reads ``probes``)."""

QUIET_SEVERITIES = frozenset({"none", "info"})
"""Alert severities that do not fail the "alerts overnight" item."""

STALE_TICKET_DAYS = 7
"""An open ticket with no activity for longer than this is stale (weekly review)."""

TREND_RISE = 0.5
"""A metric whose recent samples average this much above its earliest ones is rising."""

_SOURCE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "statuspage": "the status page",
        "sentry": "Sentry",
        "metrics": "Prometheus",
        "alerts": "Alertmanager",
        "tickets": "the ticket queue",
        "sla": "the SLA report",
        "probes": "health probes",
    }
)
_EVIDENCE_LIMIT = 240
_SLUG_CUT = re.compile(r"[(:]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def item_key(text: str) -> str:
    """The stable key of an item: its text up to ``(`` or ``:``, slugged.

    ``"Check status page (any open incidents)"`` → ``"check-status-page"``. Stored runs
    and :func:`due_items` refer to items by this key, so editing the parenthesised hint
    of an item in ``checks.yaml`` keeps its history. Empty when the text has no letters
    or digits before the cut.
    """
    head = _SLUG_CUT.split(text, maxsplit=1)[0]
    return _NON_WORD.sub("-", head.casefold()).strip("-")[:60].strip("-")


def check_auto_key(auto: str) -> str:
    """Validate an ``auto`` key and return it normalised (``probe:`` name stripped).

    Raises:
        ValueError: with a human message (and a did-you-mean hint) for an unknown key.
    """
    text = auto.strip()
    if text.casefold().startswith(PROBE_PREFIX):
        name = text[len(PROBE_PREFIX) :].strip()
        if not name:
            raise ValueError("'probe:' needs a probe name, e.g. 'probe:API health'")
        return PROBE_PREFIX + name
    if text in AUTO_KEYS:
        return text
    known = [*AUTO_KEYS, "probe:<name>"]
    close = difflib.get_close_matches(text.casefold(), known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown check {auto!r}{hint}; expected one of: {', '.join(known)}")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One line of a checklist.

    Attributes:
        key: Stable identifier (see :func:`item_key`), unique across all cadences.
        text: What the operator reads, verbatim from the guide or ``checks.yaml``.
        cadence: Daily, weekly or monthly.
        auto: The automatic check (one of :data:`AUTO_KEYS` or ``probe:<name>``), or
            None for an item only the operator can tick.
    """

    key: str
    text: str
    cadence: Cadence
    auto: str | None = None


def _items(cadence: Cadence, *lines: tuple[str, str | None]) -> tuple[ChecklistItem, ...]:
    return tuple(ChecklistItem(item_key(text), text, cadence, auto) for text, auto in lines)


DAILY_ITEMS = _items(
    Cadence.DAILY,
    ("Check status page (any open incidents)", "statuspage"),
    ("Review Sentry (new error counts)", "sentry"),
    ("Check Grafana dashboard (metrics normal?)", "metrics"),
    ("Review Slack #alerts channel (any alerts overnight?)", "alerts"),
    ("Skim support email (new critical issues?)", "tickets"),
    ("Verify API health: curl https://api.domain.com/health", "probe:API health"),
    ("Verify dashboard: open https://dashboard.domain.com", "probe:Dashboard"),
)
"""Guide §9 "Daily Checklist (Start of shift)", every item verified by the console."""

WEEKLY_ITEMS = _items(
    Cadence.WEEKLY,
    ("Review all open support tickets (any stale?)", "stale_tickets"),
    ("Check backup status (Neon snapshots created)", None),
    ("Review metrics trends (any degradation?)", "metric_trends"),
    ("Check security alerts (anything suspicious?)", None),
    ("Prepare incident summary (if any occurred)", None),
    ("Schedule on-call for next week", None),
)
"""Guide §9 "Weekly Checklist (Friday before EOD)"; the backup check is a reminder."""

MONTHLY_ITEMS = _items(
    Cadence.MONTHLY,
    ("Security audit (pip-audit, npm audit)", None),
    ("Dependency updates available (check for patches)", None),
    ("Database size check (growing too fast?)", None),
    ("Backup test (restore to test DB and verify)", None),
    ("SLA review (how many 99.5% uptime incidents?)", "sla_review"),
    ("Customer satisfaction check-in (brief surveys)", None),
    ("Runbook update (any new procedures?)", None),
)
"""Guide §9 "Monthly Checklist"; the SLA review comes with the month's SLA summary."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What the console knows now; None means the source is not configured.

    Attributes:
        now: The moment of evaluation (aware).
        since: The previous shift's start: "overnight" for Sentry and alerts (aware).
        probes: ``(name, state, detail)`` of every probe; ``detail`` is e.g. ``120 ms``
            or the failure reason.
        statuspage: The status page summary.
        sentry: Sentry counts; its ``new_since_shift`` should count from ``since``.
        metrics: Every configured metric query.
        alerts: Firing alerts and what fired since ``since``.
        critical_tickets_waiting: Open critical tickets not yet answered.
        stale_tickets: Open tickets with no activity for more than 7 days.
        sla_summary: One line from the reports code, e.g.
            ``response SLA met 94% (3 breaches)``.
        errors: Source → reason its last poll failed; the items reading that source are
            UNKNOWN with that reason, even when older data is present. Sources:
            ``statuspage``, ``sentry``, ``metrics``, ``alerts``, ``tickets``, ``sla``,
            ``probes`` (see :data:`AUTO_SOURCES`); an auto key (``probe:API health``)
            also works.
        tz: Zone for the times quoted in evidence ("2 new since 09:00").
    """

    now: datetime
    since: datetime
    probes: tuple[tuple[str, ProbeState, str], ...] | None = None
    statuspage: StatusPageSnapshot | None = None
    sentry: SentrySnapshot | None = None
    metrics: MetricsSnapshot | None = None
    alerts: AlertsSnapshot | None = None
    critical_tickets_waiting: int | None = None
    stale_tickets: int | None = None
    sla_summary: str | None = None
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tz: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class ItemResult:
    """An item's state in one checklist run.

    Attributes:
        key: The item's key.
        text: The item's text.
        cadence: The item's cadence.
        status: The verdict (automatic items) or the operator's tick (manual ones).
        evidence: One line saying why, e.g. ``API health: up, 120 ms`` (terminal-safe).
        overdue: The item was due on an earlier day and is still not done.
        note: What the operator added when ticking it.
    """

    key: str
    text: str
    cadence: Cadence
    status: ItemStatus
    evidence: str
    overdue: bool = False
    note: str = ""


# -- evaluation --------------------------------------------------------------------------------


def evaluate(item: ChecklistItem, facts: Facts) -> ItemResult:
    """The state of ``item`` given what the console knows.

    Manual items are MANUAL with no evidence. Automatic items are PASS or FAIL with
    their evidence, or UNKNOWN with the reason the console cannot tell (the source is
    not configured, or its last poll failed). ``sla_review`` stays MANUAL, a review
    for the operator, but carries the month's SLA summary as evidence.
    """
    if item.auto is None:
        status, evidence = ItemStatus.MANUAL, ""
    else:
        status, evidence = _check(item.auto, facts)
    return ItemResult(
        key=item.key,
        text=item.text,
        cadence=item.cadence,
        status=status,
        evidence=sanitize_terminal(evidence, single_line=True, limit=_EVIDENCE_LIMIT),
    )


def evaluate_due(due: Sequence[tuple[ChecklistItem, bool]], facts: Facts) -> list[ItemResult]:
    """:func:`evaluate` every ``(item, overdue)`` pair of :func:`due_items`."""
    return [replace(evaluate(item, facts), overdue=overdue) for item, overdue in due]


def checklist_exit_code(results: Sequence[ItemResult]) -> int:
    """1 when any automatic item failed, else 0 (unknown and manual items do not fail)."""
    return 1 if any(r.status is ItemStatus.FAIL for r in results) else 0


_Verdict = tuple[ItemStatus, str]


def _check(auto: str, facts: Facts) -> _Verdict:
    if auto.casefold().startswith(PROBE_PREFIX):
        return _probe(auto[len(PROBE_PREFIX) :].strip(), facts)
    source = AUTO_SOURCES.get(auto)
    if source is None:
        return ItemStatus.UNKNOWN, f"unknown automatic check {auto!r}"
    error = facts.errors.get(auto) or facts.errors.get(source)
    if error:
        return ItemStatus.UNKNOWN, f"{_SOURCE_LABELS[source]}: {error}"
    checks = {
        "statuspage": _statuspage,
        "sentry": _sentry,
        "metrics": _metrics,
        "alerts": _alerts,
        "tickets": _tickets,
        "stale_tickets": _stale_tickets,
        "metric_trends": _metric_trends,
        "sla_review": _sla_review,
    }
    return checks[auto](facts)


def _not_configured(source: str) -> _Verdict:
    label = _SOURCE_LABELS[source]
    return ItemStatus.UNKNOWN, f"{label[0].upper()}{label[1:]} is not configured"


def _clock(moment: datetime, facts: Facts) -> str:
    """``09:00`` on the day of ``facts.now``, else ``Mon 21:00`` (local to ``facts.tz``)."""
    local = moment.astimezone(facts.tz)
    same_day = local.date() == facts.now.astimezone(facts.tz).date()
    return local.strftime("%H:%M" if same_day else "%a %H:%M")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _statuspage(facts: Facts) -> _Verdict:
    page = facts.statuspage
    if page is None:
        return _not_configured("statuspage")
    indicator = page.indicator or "none"
    if indicator == "none" and not page.incidents:
        return ItemStatus.PASS, "status page: all operational"
    if page.incidents:
        detail = "; ".join(f"{i.name} ({i.status})" for i in page.incidents)
    elif page.maintenances and indicator == "maintenance":
        detail = "; ".join(f"{m.name} ({m.status})" for m in page.maintenances)
    elif page.components:
        detail = ", ".join(f"{c.name} {c.status.replace('_', ' ')}" for c in page.components)
    else:
        detail = page.description or "not all systems operational"
    return ItemStatus.FAIL, f"{indicator}: {detail}"


def _sentry(facts: Facts) -> _Verdict:
    snapshot = facts.sentry
    if snapshot is None:
        return _not_configured("sentry")
    # "New since the last shift": counted from the previous shift's start when the source
    # did (the console's does); else from this shift's start, and the evidence says so.
    since = snapshot.shift_start
    counts = [(p.project, p.new_since_shift) for p in snapshot.projects]
    if snapshot.overnight_since is not None:
        night = [(p.project, p.new_overnight) for p in snapshot.projects]
        if all(n is not None for _, n in night):
            since, counts = snapshot.overnight_since, [(p, n or 0) for p, n in night]
    count = sum(n for _, n in counts)
    head = f"{count} new since {_clock(since, facts)}"
    busy = [(project, n) for project, n in counts if n > 0]
    if busy:
        head += " (" + ", ".join(f"{project} {n}" for project, n in busy) + ")"
    evidence = f"{head}; {snapshot.unresolved} unresolved"
    return (ItemStatus.FAIL if count > 0 else ItemStatus.PASS), evidence


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    magnitude = abs(value)
    text = (
        f"{value:,.0f}"
        if magnitude >= 100
        else f"{value:.2f}"
        if magnitude < 10
        else f"{value:.1f}"
    )
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}".strip()


def _reading(reading: MetricReading) -> str:
    limit = reading.crit if reading.level == "crit" else reading.warn
    bound = (
        f" ({reading.level} ≥ {_format_value(limit, reading.unit)})" if limit is not None else ""
    )
    return f"{reading.name} {_format_value(reading.value, reading.unit)}{bound}"


def _metrics(facts: Facts) -> _Verdict:
    snapshot = facts.metrics
    if snapshot is None:
        return _not_configured("metrics")
    if not snapshot.readings:
        return ItemStatus.UNKNOWN, "no metric queries configured"
    # crit first, so the worst reading survives truncation of the evidence
    bad = sorted(
        (r for r in snapshot.readings if r.level in ("warn", "crit")),
        key=lambda r: r.level != "crit",
    )
    if bad:
        return ItemStatus.FAIL, "; ".join(_reading(r) for r in bad)
    blind = [r for r in snapshot.readings if r.level != "ok"]
    if blind:
        reasons = ", ".join(f"{r.name} ({r.error or 'no data'})" for r in blind)
        return ItemStatus.UNKNOWN, f"no reading: {reasons}"
    count = len(snapshot.readings)
    return ItemStatus.PASS, f"all {_plural(count, 'metric')} within thresholds"


def _loud(severity: str) -> bool:
    return severity.strip().casefold() not in QUIET_SEVERITIES


def _alerts(facts: Facts) -> _Verdict:
    snapshot = facts.alerts
    if snapshot is None:
        return _not_configured("alerts")
    firing = [
        a.name for a in snapshot.firing if _loud(a.severity) and not a.silenced and not a.inhibited
    ]
    # The history proves only the window it was read for: one that starts after the
    # previous shift began (e.g. at this shift's start) says nothing about the night.
    history, since = snapshot.fired_since_shift, snapshot.since or facts.since
    if snapshot.fired_overnight is not None and snapshot.overnight_since is not None:
        history, since = snapshot.fired_overnight, snapshot.overnight_since
    fired = None if history is None else [a.name for a in history if _loud(a.severity)]
    parts: list[str] = []
    if fired:
        parts.append("fired overnight: " + ", ".join(dict.fromkeys(fired)))
    if firing:
        parts.append("firing now: " + ", ".join(dict.fromkeys(firing)))
    if parts:
        return ItemStatus.FAIL, "; ".join(parts)
    if fired is None:
        reason = snapshot.history_error or "Prometheus is not configured"
        return ItemStatus.UNKNOWN, f"nothing firing now; alert history unavailable: {reason}"
    if since > facts.since:
        return ItemStatus.UNKNOWN, (
            f"nothing fired since {_clock(since, facts)}; "
            f"the history since {_clock(facts.since, facts)} was not read"
        )
    return ItemStatus.PASS, f"nothing fired since {_clock(since, facts)}"


def _tickets(facts: Facts) -> _Verdict:
    waiting = facts.critical_tickets_waiting
    if waiting is None:
        return _not_configured("tickets")
    if waiting == 0:
        return ItemStatus.PASS, "no critical tickets waiting"
    verb = "is" if waiting == 1 else "are"
    return ItemStatus.FAIL, f"{_plural(waiting, 'critical ticket')} {verb} waiting for a reply"


def _stale_tickets(facts: Facts) -> _Verdict:
    stale = facts.stale_tickets
    if stale is None:
        return _not_configured("tickets")
    if stale == 0:
        return ItemStatus.PASS, f"no open ticket idle for more than {STALE_TICKET_DAYS} days"
    return (
        ItemStatus.FAIL,
        f"{_plural(stale, 'open ticket')} with no activity for more than {STALE_TICKET_DAYS} days",
    )


def _rise(reading: MetricReading) -> tuple[float, timedelta] | None:
    """Relative rise of the last third of ``reading.series`` over its first third."""
    samples = [(t, v) for t, v in reading.series if v == v]  # drop NaN
    if len(samples) < 6:
        return None
    third = len(samples) // 3
    first = sum(v for _, v in samples[:third]) / third
    last = sum(v for _, v in samples[-third:]) / third
    span = timedelta(seconds=samples[-1][0] - samples[0][0])
    if first <= 0:
        return None
    # A doubling of a tiny error rate is noise: only count rises near the warning level.
    if reading.warn is not None and last < reading.warn / 2:
        return None
    return (last - first) / first, span


def _metric_trends(facts: Facts) -> _Verdict:
    snapshot = facts.metrics
    if snapshot is None:
        return _not_configured("metrics")
    worse: list[str] = []
    span = timedelta(0)
    measured = 0
    for reading in snapshot.readings:
        found = _rise(reading)
        if found is None:
            if reading.level in ("warn", "crit"):
                worse.append(_reading(reading))
            continue
        rise, window = found
        measured += 1
        span = max(span, window)
        if rise >= TREND_RISE:
            worse.append(f"{reading.name} up {rise:.0%}")
        elif reading.level in ("warn", "crit"):
            worse.append(_reading(reading))
    minutes = max(1, round(span.total_seconds() / 60))
    if worse:
        where = f" over the last {minutes} min" if measured else ""
        return ItemStatus.FAIL, "; ".join(worse) + where
    if not measured:
        return ItemStatus.UNKNOWN, "no metric history to compare"
    return ItemStatus.PASS, f"no metric rising over the last {minutes} min"


def _sla_review(facts: Facts) -> _Verdict:
    summary = facts.sla_summary
    if summary is None:
        return ItemStatus.MANUAL, "no SLA report available"
    return ItemStatus.MANUAL, summary


def _probe(name: str, facts: Facts) -> _Verdict:
    error = facts.errors.get(PROBE_PREFIX + name) or facts.errors.get("probes")
    if error:
        return ItemStatus.UNKNOWN, f"{name}: {error}"
    if facts.probes is None:
        return _not_configured("probes")
    by_name = {n: (s, d) for n, s, d in facts.probes}
    found = by_name.get(name)
    if found is None:
        folded = {n.casefold(): n for n in by_name}
        match = folded.get(name.casefold())
        if match is None:
            close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return ItemStatus.UNKNOWN, f"no probe named {name!r}{hint}"
        name, found = match, by_name[match]
    state, detail = found
    evidence = f"{name}: {state.value}" + (f", {detail}" if detail else "")
    if state is ProbeState.UP:
        return ItemStatus.PASS, evidence
    if state is ProbeState.UNKNOWN:
        return ItemStatus.UNKNOWN, f"{name}: no result yet"
    return ItemStatus.FAIL, evidence


# -- due dates ---------------------------------------------------------------------------------


def _week_due(today: date, weekday: int) -> date:
    """The latest ``weekday`` on or before ``today``."""
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_due(today: date, day: int) -> date:
    """The latest monthly due date on or before ``today`` (clamped to month ends)."""
    due = _month_day(today.year, today.month, day)
    if due > today:
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        due = _month_day(year, month, day)
    return due


def due_items(
    items: Sequence[ChecklistItem],
    today: date,
    *,
    weekly_day: int,
    monthly_day: int,
    last_done: Mapping[str, date],
) -> list[tuple[ChecklistItem, bool]]:
    """The items to show today, each with whether it is overdue, in the given order.

    Daily items are always due, never overdue. A weekly item is due on ``weekly_day``
    and stays due, overdue, on the days after it until it is done on or after that
    day: ticked late on Monday, it covers the Friday missed and comes back next
    Friday. Done before the due day does not count (the guide's weekly review is
    "Friday before EOD"). A monthly item works the same on ``monthly_day`` of each
    month, clamped to the month's last day (31 → 28/29 February, 30 April).

    Args:
        items: The items of any cadences.
        today: The operator's local date.
        weekly_day: 0 = Monday … 6 = Sunday (4, Friday, in the guide).
        monthly_day: 1 … 31.
        last_done: Item key → the last date it was done or passed.

    Raises:
        ValueError: when ``weekly_day`` or ``monthly_day`` is out of range.
    """
    if not 0 <= weekly_day <= 6:
        raise ValueError(f"weekly_day must be 0 (Monday) to 6 (Sunday), got {weekly_day}")
    if not 1 <= monthly_day <= 31:
        raise ValueError(f"monthly_day must be 1 to 31, got {monthly_day}")
    due_dates = {
        Cadence.WEEKLY: _week_due(today, weekly_day),
        Cadence.MONTHLY: _month_due(today, monthly_day),
    }
    out: list[tuple[ChecklistItem, bool]] = []
    for item in items:
        if item.cadence is Cadence.DAILY:
            out.append((item, False))
            continue
        due = due_dates[item.cadence]
        done = last_done.get(item.key)
        if done is not None and done >= due:
            continue
        out.append((item, today > due))
    return out


def todays_items(
    items: Sequence[ChecklistItem],
    today: date,
    *,
    weekly_day: int,
    monthly_day: int,
    last_done: Mapping[str, date],
) -> list[tuple[ChecklistItem, bool]]:
    """Today's checklist: :func:`due_items`, plus the weekly and monthly items done today.

    An item ticked (or passed) today stays on today's list, not overdue, instead of
    vanishing the moment it is done: the operator sees it done, and can untick it. From
    tomorrow on :func:`due_items` leaves it out until it is due again.
    """
    earlier = {key: done for key, done in last_done.items() if done < today}
    shown = due_items(
        items, today, weekly_day=weekly_day, monthly_day=monthly_day, last_done=earlier
    )
    return [(item, overdue and last_done.get(item.key) != today) for item, overdue in shown]
