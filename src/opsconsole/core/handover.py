"""The shift handover: a Markdown summary ready to paste into Slack (issue 6, item 3).

:class:`HandoverFacts` is gathered by the caller (app or CLI) from what the console already
knows; :func:`render_handover` only writes it out, so the text is a pure function of the
facts and can be checked against a golden file.

The format suits both Slack's mrkdwn and Markdown: section titles are ``*bold*`` lines (Slack
shows no ``#`` headings), items are ``- `` bullets, the notes are ``> `` quotes. Every
section is always present, with a ``none`` line when it is empty, so the reader knows it
was checked. All text that comes from outside (ticket subjects, probe reasons, alert
summaries, checklist evidence, notes, names) is put on one line with control and bidi
characters made visible (:func:`opsconsole.core.text.sanitize_terminal`): it can neither
forge a section of its own nor carry escape sequences. Notes keep their line breaks, but
each line is quoted, so a note cannot start a section either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final

from opsconsole.core.incidents import Incident, duration_label
from opsconsole.core.text import sanitize_terminal

__all__ = ["NONE", "NOT_RUN", "SECTIONS", "HandoverFacts", "render_handover"]

NONE: Final = "none"
"""The line written under an empty section."""

SECTIONS: Final = (
    "Open incident",
    "Tickets at risk or breached",
    "Probes down or degraded",
    "Alerts firing",
    "Checklist items that failed",
    "Notes",
)
"""The section titles, in order."""

NOT_RUN: Final = "not run this shift"
"""The line under "Checklist items that failed" when no checklist ran this shift."""

_LIMIT: Final = 200
"""Longest untrusted text kept on one line (an ellipsis marks the cut)."""


@dataclass(frozen=True)
class HandoverFacts:
    """What the outgoing operator hands over.

    Attributes:
        now: when the handover is written (aware).
        operator: who hands over.
        incident: the active incident, or None.
        tickets_at_risk: ``(number, severity, subject, sla label)`` of tickets whose SLA is
            at risk or breached, most urgent first.
        probes_bad: ``(name, state, reason)`` of probes that are down or degraded.
        alerts_firing: ``(name, severity, summary)`` of firing alerts.
        checklist_failed: ``(item text, evidence)`` of checklist items that failed.
        notes: free text from the operator; may span lines.
        checklist_ran: False when no checklist was run this shift: the section says so
            instead of a reassuring ``none``.
        alerts_unread: why the alerts could not be read (not configured, the poll
            failed), or ``""``: the section says "not checked" instead of ``none``.
    """

    now: datetime
    operator: str
    incident: Incident | None
    tickets_at_risk: tuple[tuple[int, str, str, str], ...]
    probes_bad: tuple[tuple[str, str, str], ...]
    alerts_firing: tuple[tuple[str, str, str], ...]
    checklist_failed: tuple[tuple[str, str], ...]
    notes: str
    checklist_ran: bool = True
    alerts_unread: str = ""


def render_handover(facts: HandoverFacts, tz: tzinfo) -> str:
    """The handover as Slack-ready Markdown; times are written in ``tz``.

    Raises:
        ValueError: when ``facts.now`` is naive.
    """
    if facts.now.tzinfo is None or facts.now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    operator = _flat(facts.operator) or "unknown"
    out = [f"*Shift handover* · {_full(facts.now, tz)} · from {operator}"]
    incident, tickets, probes, alerts, checklist, notes = SECTIONS

    out += _section(incident, _incident_lines(facts.incident, facts.now, tz))
    out += _section(
        tickets,
        [
            f"#{number} · {_flat(severity)} · {_flat(subject) or '(no subject)'} — {_flat(label)}"
            for number, severity, subject, label in facts.tickets_at_risk
        ],
        count=len(facts.tickets_at_risk),
    )
    out += _section(
        probes,
        [
            _joined(f"{_flat(name)}: {_flat(state)}", reason)
            for name, state, reason in facts.probes_bad
        ],
        count=len(facts.probes_bad),
    )
    if facts.alerts_unread:
        out += ["", f"*{alerts}*", f"not checked: {_flat(facts.alerts_unread)}"]
    else:
        out += _section(
            alerts,
            [
                _joined(f"{_flat(name)} ({_flat(severity) or 'no severity'})", summary)
                for name, severity, summary in facts.alerts_firing
            ],
            count=len(facts.alerts_firing),
        )
    if facts.checklist_ran:
        out += _section(
            checklist,
            [_joined(_flat(item), evidence) for item, evidence in facts.checklist_failed],
            count=len(facts.checklist_failed),
        )
    else:
        out += ["", f"*{checklist}*", NOT_RUN]
    lines = [_flat(line) for line in facts.notes.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    out += ["", f"*{notes}*"]
    out += [f"> {line}".rstrip() for line in lines] if lines else [NONE]
    return "\n".join(out) + "\n"


def _incident_lines(incident: Incident | None, now: datetime, tz: tzinfo) -> list[str]:
    if incident is None or not incident.active:
        return []
    title = _flat(incident.title) or "Untitled incident"
    lines = [
        f"#{incident.id} {title} ({_flat(incident.component)}) · "
        f"{incident.severity.value.title()} · {incident.status.value.title()}",
        f"Started {_stamp(incident.started_at, now, tz)}, "
        f"{duration_label(incident.elapsed(now))} ago",
        f"Impact: {incident.impact.label()}",
    ]
    if incident.last_update_at is None:
        lines.append("Last stakeholder update: none sent yet")
    else:
        lines.append(
            f"Last stakeholder update: {_stamp(incident.last_update_at, now, tz)} "
            f"({duration_label(now - incident.last_update_at)} ago)"
        )
    if incident.monitoring_since is not None:
        lines.append(f"Monitoring since {_stamp(incident.monitoring_since, now, tz)}")
    return lines


def _section(title: str, items: list[str], *, count: int | None = None) -> list[str]:
    heading = f"*{title}*" if count is None else f"*{title}* ({count})"
    return ["", heading, *(f"- {item}" for item in items)] if items else ["", heading, NONE]


def _joined(head: str, detail: str) -> str:
    tail = _flat(detail)
    return f"{head} — {tail}" if tail else head


def _flat(text: str) -> str:
    return sanitize_terminal(text, single_line=True, limit=_LIMIT).strip()


def _full(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def _stamp(moment: datetime, now: datetime, tz: tzinfo) -> str:
    """``14:30 CET``; with the date when it is not ``now``'s local date."""
    local = moment.astimezone(tz)
    if local.date() != now.astimezone(tz).date():
        return _full(moment, tz)
    return f"{local:%H:%M} {local.tzname() or ''}".rstrip()
