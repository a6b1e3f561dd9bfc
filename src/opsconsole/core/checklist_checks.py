"""The automatic checks of guide §9's checklists: one verdict per source.

Each check reads one source of a :class:`~opsconsole.core.checklist_model.Facts`
snapshot (status page, Sentry, metrics, alerts, tickets, the SLA report, probes) and
returns PASS, FAIL or UNKNOWN with its evidence; :func:`_check` dispatches an item's
``auto`` key (one of :data:`AUTO_KEYS` or ``probe:<name>``) to its check.
:func:`opsconsole.core.checklists.evaluate` is the public entry point. Pure functions of
their arguments: no clock, no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from opsconsole.core.checklist_model import Facts, ItemStatus
from opsconsole.core.models import ProbeState
from opsconsole.core.sources import MetricReading, metric_number

__all__ = [
    "AUTO_KEYS",
    "AUTO_SOURCES",
    "PROBE_PREFIX",
    "QUIET_SEVERITIES",
    "STALE_TICKET_DAYS",
    "TREND_RISE",
]


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
    text = metric_number(value)
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
