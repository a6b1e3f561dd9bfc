"""The SLA and uptime report (guide §2, §9 "SLA review", §10): pure functions of stored data.

:func:`build_report` turns what the store holds for a period ``[since, until]`` (hourly probe
rollups, the tickets received and the incidents started in it) into a :class:`Report`;
:mod:`opsconsole.core.report_render` writes it out (Markdown, JSON). Nothing here does I/O or reads
a clock, so the same inputs always give the same report, byte for byte.

**Uptime** is read from the hourly rollups (``(hour, total, ok)`` per probe) with
:func:`opsconsole.core.uptime.tally`: every bucket from the one containing ``since`` to the
one containing ``until``, the first one (cut by ``since``) pro rata, so the dashboard's 24 h
and a report over the last 24 h agree. The percentage is ``100 × Σok / Σtotal``. Downtime
minutes are an approximation from the same tallies: each bucket's failed fraction
``(total − ok) / total`` times its minutes inside the period (for the bucket containing
``until``, the minutes elapsed since its start), and at most one probe interval per failed
result; the minutes probed are counted the same way, so a report says how much of the
period was covered (an hour nobody probed is neither up nor down). A probe meets its target
when its uptime is at least the target; without samples both are unknown (None).

**SLA attainment** covers the tickets received in the period, per severity, each clock read
with :func:`opsconsole.core.sla.evaluate` at ``until``: a clock that stopped in time (MET)
counts as met, a BREACHED one (stopped late, or still running past its deadline) as missed
and is listed with how late it is; a clock still running within its target is left out of
the total (it can still be met), and so is a clock without a target (critical resolution is
"best effort").

**Volume** counts every ticket received in the period, whatever its status.

**Incidents** summarises the incidents started in the period with
:func:`opsconsole.core.incidents.incident_metrics` at ``until``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from opsconsole.core.incidents import Incident, incident_metrics
from opsconsole.core.sla import ClockReading, SlaPolicy, SlaState, evaluate
from opsconsole.core.tickets import Category, Severity, Ticket
from opsconsole.core.uptime import RollupRow, tally

__all__ = [
    "BAR_WIDTH",
    "IncidentSummary",
    "ProbeUptime",
    "Report",
    "SlaAttainment",
    "SlaBreach",
    "build_report",
]

BAR_WIDTH: Final = 20
"""Blocks in a full bar of the text charts."""

_ZERO = timedelta(0)

Clock = Literal["response", "resolution"]


@dataclass(frozen=True)
class ProbeUptime:
    """One probe's uptime over the period.

    Attributes:
        probe: the probe's name.
        uptime: percentage (0..100) of samples that were up; None without samples.
        target: the target percentage, e.g. 99.5 (pilot) or 99.9 (production).
        downtime_minutes: approximate minutes down (see the module docstring).
        samples: probe results stored in the hours the period touches.
        met: uptime >= target; None without samples.
        covered_minutes: minutes of the period that were probed (see the module docstring).
    """

    probe: str
    uptime: float | None
    target: float
    downtime_minutes: float
    samples: int
    met: bool | None
    covered_minutes: float = 0.0


@dataclass(frozen=True)
class SlaBreach:
    """One missed SLA clock.

    Attributes:
        ticket: the ticket number.
        severity: the ticket's severity.
        clock: which clock was missed.
        by: how late: working time past the target (at ``until`` for a clock still running).
    """

    ticket: int
    severity: Severity
    clock: Clock
    by: timedelta


@dataclass(frozen=True)
class SlaAttainment:
    """How many response and resolution targets one severity met.

    Totals count only decided clocks: met, or breached (see the module docstring).
    """

    severity: Severity
    response_met: int
    response_total: int
    resolution_met: int
    resolution_total: int
    breaches: tuple[SlaBreach, ...]

    @property
    def response_pct(self) -> float | None:
        """Percentage of response targets met; None when no response clock was decided."""
        return _pct(self.response_met, self.response_total)

    @property
    def resolution_pct(self) -> float | None:
        """Percentage of resolution targets met; None when no resolution clock was decided."""
        return _pct(self.resolution_met, self.resolution_total)


@dataclass(frozen=True)
class IncidentSummary:
    """The incidents started in the period.

    Attributes:
        count: how many.
        total_duration: summed durations (an active incident counts up to ``until``).
        mean_duration: ``total_duration / count``; None without incidents.
        mean_time_to_first_update: mean over the incidents with a stakeholder update.
        cadence_kept: mean percentage of updates on time, over incidents with updates due.
        mttr: mean time to resolve, over the resolved incidents.
    """

    count: int
    total_duration: timedelta
    mean_duration: timedelta | None
    mean_time_to_first_update: timedelta | None
    cadence_kept: float | None
    mttr: timedelta | None


@dataclass(frozen=True)
class Report:
    """Uptime, SLA attainment, ticket volume and incidents over ``[since, until]``.

    ``volume_by_category`` and ``volume_by_severity`` hold every category and severity
    (zeros included) in the enums' order. ``history_from`` is where the retention has cut
    the stored history when the period starts before it (None when it does not).
    """

    since: datetime
    until: datetime
    uptime: tuple[ProbeUptime, ...]
    sla: tuple[SlaAttainment, ...]
    volume_by_category: dict[str, int]
    volume_by_severity: dict[str, int]
    incidents: IncidentSummary
    history_from: datetime | None = None


def build_report(
    *,
    since: datetime,
    until: datetime,
    rollups: Mapping[str, Sequence[RollupRow]],
    target: float,
    tickets: Sequence[Ticket],
    policy: SlaPolicy,
    incidents: Sequence[Incident],
    update_every: timedelta,
    intervals: Mapping[str, timedelta] | None = None,
    history_from: datetime | None = None,
) -> Report:
    """Compute the report for ``[since, until]`` (see the module docstring for the rules).

    Args:
        since: start of the period (aware).
        until: end of the period (aware), usually now.
        rollups: probe name -> hourly rollups; rows outside the period are ignored.
        target: the uptime target percentage every probe is held to.
        tickets: tickets; those not received in the period are ignored.
        policy: the SLA policy the clocks are read with.
        incidents: incidents; those not started in the period are ignored.
        update_every: the stakeholder update cadence (guide §8: 15 minutes).
        intervals: probe name -> its probe interval, where known (caps downtime and
            coverage at one interval a result).
        history_from: where the retention cut the history, if the period starts before.

    Raises:
        ValueError: for naive datetimes or ``until`` before ``since``.
    """
    _require_aware(since, "since")
    _require_aware(until, "until")
    if until < since:
        raise ValueError("the report period must not end before it starts")
    in_period = [t for t in tickets if since <= t.received_at <= until]
    return Report(
        since=since,
        until=until,
        uptime=tuple(
            _probe_uptime(name, rollups[name], since, until, target, (intervals or {}).get(name))
            for name in sorted(rollups)
        ),
        sla=_sla(in_period, policy, until),
        volume_by_category=_count((t.category.value for t in in_period), Category),
        volume_by_severity=_count((t.severity.value for t in in_period), Severity),
        incidents=_incidents(
            [i for i in incidents if since <= i.started_at <= until], update_every, until
        ),
        history_from=history_from if history_from is not None and history_from > since else None,
    )


# -- computing -----------------------------------------------------------------------------------


def _probe_uptime(
    probe: str,
    rows: Iterable[RollupRow],
    since: datetime,
    until: datetime,
    target: float,
    interval: timedelta | None,
) -> ProbeUptime:
    counted = tally(rows, since, until, interval)
    uptime = counted.uptime
    return ProbeUptime(
        probe=probe,
        uptime=uptime,
        target=target,
        downtime_minutes=counted.down_minutes,
        samples=counted.samples,
        met=None if uptime is None else uptime >= target,
        covered_minutes=counted.covered_minutes,
    )


def _sla(
    tickets: Sequence[Ticket], policy: SlaPolicy, until: datetime
) -> tuple[SlaAttainment, ...]:
    met: dict[tuple[Severity, Clock], int] = {}
    decided: dict[tuple[Severity, Clock], int] = {}
    breaches: dict[Severity, list[SlaBreach]] = {s: [] for s in Severity}
    for ticket in sorted(tickets, key=lambda t: t.number):
        status = evaluate(ticket, policy, until)
        readings: tuple[tuple[Clock, ClockReading], ...] = (
            ("response", status.response),
            ("resolution", status.resolution),
        )
        for clock, reading in readings:
            key = (ticket.severity, clock)
            if reading.state is SlaState.MET:
                met[key] = met.get(key, 0) + 1
            elif reading.state is SlaState.BREACHED:
                late = _ZERO if reading.remaining is None else -reading.remaining
                breaches[ticket.severity].append(
                    SlaBreach(ticket.number, ticket.severity, clock, late)
                )
            else:  # running within its target, or no target: not decided yet
                continue
            decided[key] = decided.get(key, 0) + 1
    return tuple(
        SlaAttainment(
            severity=s,
            response_met=met.get((s, "response"), 0),
            response_total=decided.get((s, "response"), 0),
            resolution_met=met.get((s, "resolution"), 0),
            resolution_total=decided.get((s, "resolution"), 0),
            breaches=tuple(breaches[s]),
        )
        for s in Severity
    )


def _count(values: Iterable[str], kinds: Iterable[Category] | Iterable[Severity]) -> dict[str, int]:
    counts = {kind.value: 0 for kind in kinds}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _incidents(incidents: Sequence[Incident], every: timedelta, until: datetime) -> IncidentSummary:
    metrics = [incident_metrics(i, every, until) for i in sorted(incidents, key=lambda i: i.id)]
    total = sum((m.duration for m in metrics), _ZERO)
    cadences = [m.cadence_kept for m in metrics if m.cadence_kept is not None]
    return IncidentSummary(
        count=len(metrics),
        total_duration=total,
        mean_duration=total / len(metrics) if metrics else None,
        mean_time_to_first_update=_mean(
            [m.time_to_first_update for m in metrics if m.time_to_first_update is not None]
        ),
        cadence_kept=sum(cadences) / len(cadences) if cadences else None,
        mttr=_mean([m.mttr for m in metrics if m.mttr is not None]),
    )


def _mean(spans: Sequence[timedelta]) -> timedelta | None:
    return sum(spans, _ZERO) / len(spans) if spans else None


def _pct(met: int, total: int) -> float | None:
    return None if total == 0 else 100.0 * met / total


# -- Markdown ------------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def __getattr__(name: str) -> Any:
    """``render_report_md`` and ``report_json`` live in :mod:`opsconsole.core.report_render`
    (which imports this module's types); they are still importable from here."""
    if name in ("render_report_md", "report_json"):
        from opsconsole.core import report_render

        return getattr(report_render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
