"""Writing a :class:`~opsconsole.core.reports.Report` out: Markdown (with text charts) and
JSON. Pure: the same report always gives the same bytes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from opsconsole.core.durations import format_duration
from opsconsole.core.incidents import duration_label
from opsconsole.core.reports import (
    BAR_WIDTH,
    IncidentSummary,
    ProbeUptime,
    Report,
    SlaAttainment,
)
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.uptime import uptime_label

__all__ = ["render_report_md", "report_json"]

_ZERO = timedelta(0)
_BLOCK = "█"
_EMPTY = "░"
_UPTIME_FLOORS: Final = (99.0, 95.0, 90.0, 0.0)
"""Where an uptime bar starts: the highest of these below every value shown, so the bars
show the differences that matter (99.5 against 99.9) instead of twenty full blocks each."""


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
