"""Table cells for tickets: severity, SLA countdown, age — untrusted text as plain Text."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from opsconsole.core.durations import short_age
from opsconsole.core.sla import SlaState, SlaStatus
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Severity, Status, Ticket

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "dim",
}
SLA_STYLE = {
    SlaState.BREACHED: "bold white on red",
    SlaState.AT_RISK: "bold yellow",
    SlaState.OK: "green",
    SlaState.MET: "dim green",
    SlaState.NONE: "dim",
}
STATUS_LABEL = {
    Status.NEW: "new",
    Status.OPEN: "open",
    Status.PENDING_CUSTOMER: "pending",
    Status.ESCALATED: "escalated",
    Status.RESOLVED: "resolved",
    Status.CLOSED: "closed",
}


def plain(text: str, limit: int = 80) -> Text:
    """Untrusted text for a cell: one line, escapes made visible, never markup."""
    return Text(sanitize_terminal(text, single_line=True, limit=limit))


def severity_cell(severity: Severity) -> Text:
    """``CRIT`` / ``HIGH`` / ``MED`` / ``LOW``."""
    short = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW"}[severity.value]
    return Text(short, style=SEVERITY_STYLE[severity])


SLA_WIDTH = 28
"""The SLA column's width on the Tickets screen and the dashboard's pane."""


def sla_cell(sla: SlaStatus, ticket: Ticket) -> Text:
    """Live countdown cell, coloured by state.

    The longest label, a paused clock that is overdue ("resp paused · overdue by 12d22h"),
    was cut to "… overdue by 12d" by the column: it drops "by" to fit.
    """
    label, state = sla_clock(sla, ticket)
    if not ticket.is_open:
        return Text(STATUS_LABEL[ticket.status], style="dim")
    if len(label) > SLA_WIDTH:
        label = label.replace("overdue by ", "overdue ")
    return Text(label, style=SLA_STYLE[state])


def age(received: datetime, now: datetime) -> str:
    """``45s`` / ``12m`` / ``3h`` / ``2d``."""
    return short_age(received, now)


def requester_cell(ticket: Ticket) -> Text:
    """Company, else address (the address, not a spoofable display name)."""
    who = ticket.requester.company or ticket.requester.address or ticket.requester.name
    return plain(who, 28)
