"""The ``?`` help screen: every key binding, one per line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("p", "Pause / resume polling"),
    ("r", "Re-run every probe and poll every source now"),
    ("t", "Tickets: the whole queue"),
    ("c", "Start-of-shift checklist (opens by itself at a shift's first launch)"),
    ("h", "Shift handover: edit, save and copy"),
    ("g", "Reports: uptime, SLA attainment, volume, incidents"),
    ("I", "Declare an incident"),
    ("i", "The incident: playbook, timeline, history"),
    ("u", "Send a stakeholder update now"),
    ("1 – 5", "Focus Health, Sentry, Metrics, Alerts, Status page"),
    ("↑ ↓ / j k", "Move in a table"),
    ("enter", "Details of a Sentry issue or metric (c copy, o open)"),
    ("ctrl+p", "Command palette (every action is there)"),
    ("?", "This help"),
    ("q", "Quit"),
)
INCIDENT_KEYS: tuple[tuple[str, str], ...] = (
    ("u", "Stakeholder update (ctrl+s Slack, ctrl+o copy, ctrl+t snooze)"),
    ("n", "Timeline note"),
    ("s", "Status: investigating, identified, monitoring"),
    ("space", "Tick a playbook step"),
    ("R", "Resolve: all-clear and post-incident review"),
    ("d", "Mark the review done"),
)
TICKET_KEYS: tuple[tuple[str, str], ...] = (
    ("/", "Filter on text (subject, requester, #number)"),
    ("v f m o", "Filter severity · status · mine/unassigned · sort"),
    ("[ ]", "Previous / next page"),
    ("space", "On a ticket: tick the next runbook step"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the key bindings; any of escape, q or ? closes it; the arrows scroll it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        """One line per binding."""
        from opsconsole.screens.ticket_actions import TRIAGE_HELP

        def line(key: str, text: str) -> Content:
            return Content.assemble((f"{key:>10}", "bold $accent"), "  ", text)

        lines = [line(k, t) for k, t in KEYS]
        lines.append(Content.styled("\nOn the Tickets screen and a ticket", "bold"))
        lines += [line(k, t) for k, t in (*TICKET_KEYS, *TRIAGE_HELP)]
        lines.append(Content.styled("\nOn the incident screen", "bold"))
        lines += [line(k, t) for k, t in INCIDENT_KEYS]
        # Scrolls (↑ ↓, PgUp/PgDn, Home/End) when the terminal is shorter than the list.
        with VerticalScroll(id="help-box"):
            yield Static(Content("Keys"), id="help-title")
            yield Static(Content("↑ ↓ PgUp PgDn scroll · escape closes"), id="help-hint")
            yield Static(Content("\n").join(lines), id="help-keys")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help screen."""
        self.dismiss(result)
