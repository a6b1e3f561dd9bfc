"""The SLA and uptime report (guide §2, §9 "SLA review", §10): pure functions of stored data.

:func:`build_report` turns what the store holds for a period ``[since, until]`` (hourly probe
rollups, the tickets received and the incidents started in it) into a :class:`Report`;
:func:`render_report_md` and :func:`report_json` write it out. Nothing here does I/O or reads
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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, Literal

from opsconsole.core.durations import format_duration
from opsconsole.core.incidents import Incident, duration_label, incident_metrics
from opsconsole.core.sla import ClockReading, SlaPolicy, SlaState, evaluate
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Category, Severity, Ticket
from opsconsole.core.uptime import RollupRow, tally, uptime_label

__all__ = [
    "BAR_WIDTH",
    "IncidentSummary",
    "ProbeUptime",
    "Report",
    "SlaAttainment",
    "SlaBreach",
    "build_report",
    "render_report_md",
    "report_json",
]

BAR_WIDTH: Final = 20
"""Blocks in a full bar of the text charts."""

_ZERO = timedelta(0)
_BLOCK = "█"
_EMPTY = "░"
_UPTIME_FLOORS: Final = (99.0, 95.0, 90.0, 0.0)
"""Where an uptime bar starts: the highest of these below every value shown, so the bars
show the differences that matter (99.5 against 99.9) instead of twenty full blocks each."""

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


def render_report_md(report: Report, tz: tzinfo) -> str:
    """The report as Markdown: headings, tables and text bar charts (``█`` blocks).

    Times are written in ``tz``. The output depends only on the arguments, so it can be
    checked against a golden file. Probe names are untrusted: one line, control characters
    made visible, pipes escaped in table cells.
    """
    out = [
        "# Operations report",
        "",
        f"Period: {_when(report.since, tz)} → {_when(report.until, tz)} "
        f"({_span(report.until - report.since)})",
        "",
    ]
    if report.history_from is not None:
        kept = _span(report.until - report.history_from)
        out += [
            f"History is kept for {kept} (retention): nothing before "
            f"{_when(report.history_from, tz)} is stored, so the uptime covers at most that.",
            "",
        ]
    out += ["## Uptime", ""]
    out += _uptime_md(report.uptime, report.until - report.since)
    out += ["", "## SLA attainment", ""]
    out += _sla_md(report.sla)
    out += ["", "## Ticket volume", ""]
    out += _volume_md(report.volume_by_category, report.volume_by_severity)
    out += ["", "## Incidents", ""]
    out += _incidents_md(report.incidents)
    return "\n".join(out) + "\n"


def _uptime_md(rows: Sequence[ProbeUptime], period: timedelta) -> list[str]:
    if not rows:
        return ["_No probe data in this period._"]
    out = [
        "| Probe | Uptime | Target | Downtime | Samples | Probed | Met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        out.append(
            f"| {_cell(row.probe)} | {_uptime_pct(row)} | {_num(row.target)}% "
            f"| {row.downtime_minutes:.1f} min | {row.samples} "
            f"| {_coverage(row.covered_minutes, period)} | {met} |"
        )
    out += [
        "",
        "Probed: the share of the period with probe results; time nobody probed (the"
        " console stopped or paused) counts neither as up nor as down.",
    ]
    shown = [r.uptime for r in rows if r.uptime is not None] + [r.target for r in rows]
    floor = next(f for f in _UPTIME_FLOORS if all(v >= f for v in shown))
    width = max(len(_name(r.probe)) for r in rows)
    out += ["", f"Uptime chart (bars from {_num(floor)}% to 100%):", "", "```text"]
    for row in rows:
        if row.uptime is None:
            bar = " " * BAR_WIDTH
        else:
            bar = _bar((row.uptime - floor) / (100.0 - floor))
        mark = "" if row.met is None else ("  ok" if row.met else "  below target")
        out.append(
            f"{_name(row.probe):<{width}}  {bar} {_uptime_pct(row):>8}"
            f"  (target {_num(row.target)}%){mark}"
        )
    out.append("```")
    return out


def _sla_md(rows: Sequence[SlaAttainment]) -> list[str]:
    out = [
        "| Severity | Response met | Resolution met | Breaches |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        out.append(
            f"| {row.severity.value.title()} "
            f"| {_ratio(row.response_met, row.response_total, row.response_pct)} "
            f"| {_ratio(row.resolution_met, row.resolution_total, row.resolution_pct)} "
            f"| {len(row.breaches)} |"
        )
    breaches = [b for row in rows for b in row.breaches]
    out += [
        "",
        "Only decided clocks count: met, or late (stopped late or still running past the"
        " target); — means none was decided (no target, or all still running in time).",
        "",
        "Breaches:",
        "",
    ]
    if not breaches:
        out.append("- none")
    for breach in breaches:
        # Late in working time; none yet for a deadline that passed at closing time.
        late = f"late by {_late(breach.by)}" if breach.by > _ZERO else "late (after closing)"
        out.append(f"- #{breach.ticket} · {breach.severity.value.title()} · {breach.clock} {late}")
    return out


def _volume_md(by_category: Mapping[str, int], by_severity: Mapping[str, int]) -> list[str]:
    total = sum(by_category.values())
    out = [f"{total} {'ticket' if total == 1 else 'tickets'} received.", ""]
    out += ["| Category | Tickets |", "|---|---:|"]
    out += [f"| {_cell(name.title())} | {count} |" for name, count in by_category.items()]
    out += ["", "| Severity | Tickets |", "|---|---:|"]
    out += [f"| {_cell(name.title())} | {count} |" for name, count in by_severity.items()]
    if by_category:
        top = max(by_category.values())
        width = max(len(_name(name)) for name in by_category)
        out += ["", "Tickets by category:", "", "```text"]
        for name, count in by_category.items():
            filled = 0 if top == 0 else max(1 if count else 0, round(BAR_WIDTH * count / top))
            bar = _BLOCK * filled
            out.append(f"{_name(name.title()):<{width}}  {bar:<{BAR_WIDTH}} {count}")
        out.append("```")
    return out


def _incidents_md(summary: IncidentSummary) -> list[str]:
    if summary.count == 0:
        return ["_No incidents started in this period._"]
    cadence = "—" if summary.cadence_kept is None else f"{summary.cadence_kept:.1f}%"
    return [
        "| | |",
        "|---|---|",
        f"| Incidents | {summary.count} |",
        f"| Total duration | {duration_label(summary.total_duration)} |",
        f"| Mean duration | {_opt_label(summary.mean_duration)} |",
        f"| Mean time to first update | {_opt_label(summary.mean_time_to_first_update)} |",
        f"| Update cadence kept | {cadence} |",
        f"| MTTR | {_opt_label(summary.mttr)} |",
    ]


def _bar(fraction: float) -> str:
    filled = min(max(round(fraction * BAR_WIDTH), 0), BAR_WIDTH)
    return _BLOCK * filled + _EMPTY * (BAR_WIDTH - filled)


def _uptime_pct(row: ProbeUptime) -> str:
    """``99.882%``; never rounded up to the target (or 100%) the probe missed."""
    return "—" if row.uptime is None else uptime_label(row.uptime, row.target)


def _coverage(minutes: float, period: timedelta) -> str:
    """``45.2%`` of the period, cut: a period with a gap never reads ``100.0%``."""
    total = period.total_seconds() / 60
    # (the epsilon: minutes summed over pro-rata hours may miss the whole by a rounding)
    return "—" if total <= 0 else f"{math.floor(1000 * minutes / total + 1e-9) / 10:.1f}%"


def _ratio(met: int, total: int, pct: float | None) -> str:
    return "—" if pct is None else f"{met}/{total} ({pct:.1f}%)"


def _late(delta: timedelta) -> str:
    """``45m00s``, ``24h30m``, ``23d00h00m``: whole seconds, nothing dropped above minutes."""
    seconds = math.floor(max(delta, _ZERO).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _opt_label(delta: timedelta | None) -> str:
    return "—" if delta is None else duration_label(delta)


def _num(value: float) -> str:
    """``99.5``, ``100``: a percentage without trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _span(delta: timedelta) -> str:
    if delta and delta % timedelta(days=1) == _ZERO:
        days = delta // timedelta(days=1)
        return f"{days} {'day' if days == 1 else 'days'}"
    return format_duration(delta)


def _when(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def _name(text: str) -> str:
    return sanitize_terminal(text, single_line=True, limit=40).strip()


def _cell(text: str) -> str:
    return _name(text).replace("|", "\\|")


# -- JSON ----------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data with stable keys.

    Times are ISO 8601 in UTC, durations are seconds, percentages and minutes are
    rounded to 3 decimals; unknown values are ``null``.
    """
    incidents = report.incidents
    period = (report.until - report.since).total_seconds() / 60
    return {
        "since": _iso(report.since),
        "until": _iso(report.until),
        "uptime": [
            {
                "probe": row.probe,
                "uptime_percent": _round(row.uptime),
                "target_percent": _round(row.target),
                "downtime_minutes": _round(row.downtime_minutes),
                "samples": row.samples,
                "met": row.met,
                "covered_minutes": _round(row.covered_minutes),
                "coverage_percent": _round(100 * row.covered_minutes / period if period else None),
            }
            for row in report.uptime
        ],
        "sla": [
            {
                "severity": row.severity.value,
                "response": {
                    "met": row.response_met,
                    "total": row.response_total,
                    "percent": _round(row.response_pct),
                },
                "resolution": {
                    "met": row.resolution_met,
                    "total": row.resolution_total,
                    "percent": _round(row.resolution_pct),
                },
                "breaches": [
                    {"ticket": b.ticket, "clock": b.clock, "late_seconds": _seconds(b.by)}
                    for b in row.breaches
                ],
            }
            for row in report.sla
        ],
        "volume": {
            "total": sum(report.volume_by_category.values()),
            "by_category": dict(report.volume_by_category),
            "by_severity": dict(report.volume_by_severity),
        },
        "incidents": {
            "count": incidents.count,
            "total_duration_seconds": _seconds(incidents.total_duration),
            "mean_duration_seconds": _seconds(incidents.mean_duration),
            "mean_time_to_first_update_seconds": _seconds(incidents.mean_time_to_first_update),
            "cadence_kept_percent": _round(incidents.cadence_kept),
            "mttr_seconds": _seconds(incidents.mttr),
        },
        "history_from": None if report.history_from is None else _iso(report.history_from),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
