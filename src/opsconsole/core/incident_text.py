"""The texts of incident mode: the stakeholder update (guide §8 Step 2/5), the all-clear
(Step 6) and the post-incident review (Step 7).

Times are written in UTC, labelled ``UTC``, as the guide does. Untrusted text (alert labels,
Sentry titles, notes) is included plainly, never as markup, but always on one line with
control characters made visible, so it cannot forge a ``Current Status:`` line or a
Markdown heading of its own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from opsconsole.core.incidents import (
    PLAYBOOK,
    PLAYBOOK_STEPS,
    EntryKind,
    Incident,
    TimelineEntry,
    duration_label,
    incident_metrics,
    updates_on_time,
)
from opsconsole.core.text import sanitize_terminal

__all__ = [
    "ALL_CLEAR_PLACEHOLDERS",
    "MAX_UPDATE_TIMELINE",
    "SHARE_WITH",
    "STEP_5",
    "STEP_5_LINES",
    "UPDATE_KINDS",
    "compose_all_clear",
    "compose_update",
    "downtime",
    "render_review",
]

UPDATE_KINDS = frozenset(
    {
        EntryKind.DECLARED,
        EntryKind.STATUS,
        EntryKind.PROBE,
        EntryKind.ALERT,
        EntryKind.SENTRY,
        EntryKind.TICKET,
        EntryKind.NOTE,
        EntryKind.IMPACT,
    }
)
"""Timeline kinds worth telling stakeholders; sent updates, snoozes and ticks are not."""

MAX_UPDATE_TIMELINE = 14
"""Timeline lines in an update (plus the Impact line): the first entry and the latest."""

STEP_5 = (
    ("Next Steps", "[Next steps]"),
    ("Expected Resolution", "[Expected resolution time]"),
    ("Customer Action", "[Any customer action needed]"),
)
"""Step 5's items besides the progress so far, in every update after the first: (label,
placeholder)."""
STEP_5_LINES = tuple(f"{label}: {placeholder}" for label, placeholder in STEP_5)
"""The Step 5 lines as drafted, placeholders to fill in."""

SHARE_WITH = (
    "Engineering team (prevent recurrence)",
    "Product team (prioritize fixes)",
    "Customers (transparency)",
)
"""Step 7's "Share with" list."""

_TBD = "_To be written._"

_ISSUE, _CAUSE, _FIX, _LINK = (
    "[What happened]",
    "[Why it happened]",
    "[What we did]",
    "[Link to incident review]",
)
ALL_CLEAR_PLACEHOLDERS = frozenset({_ISSUE, _CAUSE, _FIX, _LINK})
"""What the all-clear says where it has nothing to fill in."""


def compose_update(
    incident: Incident,
    now: datetime,
    next_update_at: datetime,
    tz: tzinfo,
    *,
    step_5: tuple[str, str, str] = ("", "", ""),
    placeholders: bool = True,
) -> str:
    """The stakeholder update in the guide's Step 2 format, ready to edit and send.

    ``INCIDENT: [Component] down - Severity [Critical/High]``, then the timeline so far
    (entries up to ``now``, the first and the latest :data:`MAX_UPDATE_TIMELINE`), the
    impact, the current status and the next update time. Once an update has been sent,
    the following ones also carry Step 5's next steps, expected resolution time and
    customer action needed (:data:`STEP_5_LINES`, placeholders to fill in).

    Args:
        incident: the active incident.
        now: when the update is composed.
        next_update_at: when the following update is due.
        tz: the operator's zone; its local time is added to the next update time when
            it is not UTC.
        step_5: next steps, expected resolution and customer action, where known.
        placeholders: False leaves out the Step 5 lines ``step_5`` does not fill (an
            update sent without an editor must not show stakeholders ``[Next steps]``).
    """
    now_utc = _utc(now)
    entries = [e for e in incident.timeline if e.kind in UPDATE_KINDS and e.at <= now]
    lines = [
        f"INCIDENT: {_flat(incident.component)} down - Severity {incident.severity.value.title()}",
        "",
        "Timeline:",
    ]
    if len(entries) > MAX_UPDATE_TIMELINE:
        keep = MAX_UPDATE_TIMELINE - 2
        omitted = len(entries) - keep - 1
        lines.append(_update_line(entries[0], now_utc))
        lines.append(f"- … {omitted} more {'entry' if omitted == 1 else 'entries'}")
        entries = entries[-keep:]
    lines.extend(_update_line(e, now_utc) for e in entries)
    lines.append(f"- Impact: {incident.impact.label()}")
    lines.append("")
    if any(e.kind is EntryKind.UPDATE and e.at <= now for e in incident.timeline):
        # Step 5: every later update also says what comes next (the timeline above is
        # the "progress so far"); the operator fills these in before sending.
        filled = [
            f"{label}: {_flat(value)}" if value.strip() else f"{label}: {placeholder}"
            for (label, placeholder), value in zip(STEP_5, step_5, strict=True)
            if value.strip() or placeholders
        ]
        if filled:
            lines.extend(filled)
            lines.append("")
    lines.append(f"Current Status: {incident.status.value.title()}")
    due = _utc(next_update_at)
    notes: list[str] = []
    local = next_update_at.astimezone(tz)
    if local.utcoffset() != timedelta(0):
        notes.append(f"{local:%H:%M} {local.tzname() or ''}".rstrip())
    cadence = round((next_update_at - now).total_seconds() / 60)
    if cadence > 0:
        notes.append(f"every {cadence} min during incident")
    suffix = f" ({', '.join(notes)})" if notes else ""
    lines.append(f"Next Update: {_stamp(due, now_utc)}{suffix}")
    return "\n".join(lines)


def downtime(incident: Incident, now: datetime) -> timedelta:
    """Time the service was down: start to the fix (monitoring started), else to the end."""
    if incident.monitoring_since is not None:
        end = incident.monitoring_since
    else:
        end = incident.resolved_at if incident.resolved_at is not None else now
    return max(end - incident.started_at, timedelta(0))


def compose_all_clear(incident: Incident, now: datetime) -> str:
    """The guide's Step 6 all-clear message, one ✅ line per item.

    Missing root cause, fix or link keep the guide's ``[placeholder]`` so they stand out.
    The impact's duration is :func:`downtime` (the monitoring window is not downtime).
    """
    impact = [f"{duration_label(downtime(incident, now))} downtime"]
    customers = incident.impact.customers
    if customers is not None:
        impact.append(f"{customers} {'customer' if customers == 1 else 'customers'} affected")
    elif incident.impact.failing_percent is not None:
        impact.append(incident.impact.label())
    link = incident.postmortem_url or incident.review_path or _LINK
    return "\n".join(
        (
            f"✅ Issue: {_flat(incident.title) or _ISSUE}",
            f"✅ Root Cause: {_flat(incident.root_cause) or _CAUSE}",
            f"✅ Fix: {_flat(incident.fix) or _FIX}",
            "✅ Status: Fully recovered, monitoring",
            f"✅ Post-mortem: {_flat(link)}",
            f"✅ Impact: {', '.join(impact)}",
        )
    )


def render_review(incident: Incident, now: datetime, every: timedelta) -> str:
    """The post-incident review (guide §8 Step 7) as Markdown.

    A summary table, the full timeline (every entry, with delivery results), impact, root
    cause, prevention, action items, lessons learned, the customer explanation, the
    playbook as ticked and who to share it with. The output depends only on the
    arguments, so it can be checked against a golden file.
    """
    now_utc = _utc(now)
    start = _utc(incident.started_at)
    metrics = incident_metrics(incident, every, now)
    on_time, total = updates_on_time(incident, every, now)
    title = _flat(incident.title) or "Untitled incident"
    end = "ongoing" if incident.resolved_at is None else _full(incident.resolved_at)
    if metrics.time_to_first_update is None:
        first = "no update sent"
    else:
        first = duration_label(metrics.time_to_first_update)
    if metrics.cadence_kept is None:
        cadence = "no update sent"
    else:
        cadence = (
            f"{metrics.cadence_kept:.0f}% ({on_time} of {total} on time, "
            f"every {duration_label(every)})"
        )
    out = [
        f"# Post-incident review: {title}",
        "",
        f"Incident #{incident.id} · generated {_full(now_utc)}",
        "",
        "| | |",
        "|---|---|",
        f"| Severity | {incident.severity.value.title()} |",
        f"| Component | {_cell(incident.component)} |",
        f"| Status | {incident.status.value.title()} |",
        f"| Started | {_full(start)} |",
        f"| Ended | {end} |",
        f"| Duration | {duration_label(metrics.duration)} |",
        f"| Downtime | {duration_label(downtime(incident, now))} |",
        f"| Time to first update | {first} |",
        f"| Update cadence kept | {cadence} |",
    ]
    if incident.review_due is not None:
        out.append(f"| Review due | {_full(incident.review_due)} |")
    if incident.postmortem_url:
        out.append(f"| Post-mortem | {_cell(incident.postmortem_url)} |")
    out += ["", "## What happened and when", ""]
    if incident.timeline:
        out.extend(_review_line(e, start) for e in sorted(incident.timeline, key=_order))
    else:
        out.append("_No timeline entries._")
    impact = incident.impact
    out += [
        "",
        "## Impact",
        "",
        f"- Customers affected: {'unknown' if impact.customers is None else impact.customers}",
        "- Requests failing: "
        + ("unknown" if impact.failing_percent is None else f"~{impact.failing_percent:g}%"),
        f"- Downtime: {duration_label(downtime(incident, now))}",
        "- Revenue: _to be assessed_",
        "- Data: _to be assessed_",
    ]
    if impact.note.strip():
        out.append(f"- Note: {_flat(impact.note)}")
    out += ["", "## Root cause analysis", "", _paragraph(incident.root_cause) or _TBD]
    out += ["", "## Fix", "", _paragraph(incident.fix) or _TBD]
    if incident.monitoring_override.strip():
        out += [
            "",
            "Monitoring window overridden: " + _flat(incident.monitoring_override),
        ]
    out += ["", "## How to prevent in future", "", _TBD]
    out += [
        "",
        "## Action items",
        "",
        "- [ ] Code changes: _to be decided_",
        "- [ ] Alerting: _to be decided_",
        "- [ ] Runbooks: _to be decided_",
    ]
    out += ["", "## Lessons learned", "", _TBD]
    out += ["", "## Apology/explanation to customers", "", _TBD]
    out += ["", "## Playbook", ""]
    for number, (heading, timing) in PLAYBOOK_STEPS.items():
        out.append(f"- Step {number}: {heading} ({timing})")
        for step in (s for s in PLAYBOOK if s.step == number):
            ticked = incident.ticked_at(step.key)
            mark, when = ("x", f" ({_stamp(_utc(ticked), start)})") if ticked else (" ", "")
            out.append(f"  - [{mark}] {step.text}{when}")
    out += ["", "## Share with", ""]
    out.extend(f"- [ ] {who}" for who in SHARE_WITH)
    return "\n".join(out) + "\n"


# -- helpers -------------------------------------------------------------------------------------


def _update_line(entry: TimelineEntry, now_utc: datetime) -> str:
    return f"- {_stamp(_utc(entry.at), now_utc)}: {_flat(entry.text)}"


def _review_line(entry: TimelineEntry, start: datetime) -> str:
    line = f"- **{_stamp(_utc(entry.at), start)}** · {entry.kind.value} · {_flat(entry.text)}"
    if entry.actor.strip():
        line += f" — {_flat(entry.actor)}"
    if entry.delivery:
        line += f" (delivery: {_flat(entry.delivery)})"
    return line


def _order(entry: TimelineEntry) -> tuple[datetime, int]:
    return entry.at, entry.id if entry.id is not None else 0


def _stamp(moment: datetime, reference: datetime) -> str:
    """``14:30 UTC``; with the date when it differs from ``reference``'s (UTC) date."""
    if moment.date() != reference.date():
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"{moment:%H:%M} UTC"


def _full(moment: datetime) -> str:
    return f"{_utc(moment):%Y-%m-%d %H:%M} UTC"


def _flat(text: str) -> str:
    return sanitize_terminal(text, single_line=True).strip()


_BLOCK_START = re.compile(r"^(?:[#>\-+*=_`~|<\[]|\d{1,9}(?=[.)]))")


def _paragraph(text: str) -> str:
    """Untrusted text as a Markdown paragraph of its own: one line, and a leading block
    marker (``#``, ``>``, ``-``, `` ``` ``, ``1.``, ``|``, ``<``…) escaped, so it cannot
    become a heading, a list, a quote, a table, HTML or a code fence that swallows the
    rest of the review. Nothing else changes."""
    flat = _flat(text)
    match = _BLOCK_START.match(flat)
    if match is None:
        return flat
    if flat[0].isdigit():  # "1. x" / "1) x": escape the delimiter
        end = match.end()
        return f"{flat[:end]}\\{flat[end:]}"
    return "\\" + flat


def _cell(text: str) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return _flat(text).replace("|", "\\|")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("incident times must be timezone-aware")
    return moment.astimezone(UTC)
