"""One ticket: fields, live SLA clocks, the matched runbook as a checklist, thread, audit."""

from __future__ import annotations

from datetime import timedelta

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from opsconsole.core.runbooks import Runbook
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Direction, Ticket
from opsconsole.screens.failures import noted
from opsconsole.screens.ticket_actions import TRIAGE_BINDINGS, TRIAGE_COMMANDS, TicketActions
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.key_footer import KeyFooter
from opsconsole.widgets.ticket_cells import SLA_STYLE, STATUS_LABEL

DIRECTION_STYLE = {
    Direction.INBOUND: ("◀ from", "bold $accent"),
    Direction.OUTBOUND: ("▶ to customer", "bold $success"),
    Direction.NOTE: ("✎ note", "bold $warning"),
}


def _one(text: str, limit: int = 200) -> str:
    return sanitize_terminal(text, single_line=True, limit=limit)


class TicketScreen(TicketActions):
    """Everything about one ticket; the triage keys act on it."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *TRIAGE_BINDINGS,
        Binding("space", "tick", "Tick step", show=False),
    ]

    def __init__(self, number: int) -> None:
        super().__init__(id="ticket-screen")
        self.number = number
        self.ticket: Ticket | None = None
        self.runbook: Runbook | None = None
        self._steps: list[tuple[int, str, str | None]] = []

    def compose(self) -> ComposeResult:
        """Header, SLA, runbook, thread, audit."""
        yield IncidentBanner()
        with VerticalScroll(id="ticket-body"):
            yield Static("", id="ticket-header")
            yield Static("", id="ticket-sla")
            yield Static("", id="ticket-runbook-title")
            yield SelectionList[int](id="ticket-runbook")
            yield Static("", id="ticket-thread")
            yield Static("", id="ticket-audit")
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Load, then tick the SLA clocks every second."""
        await self.refresh_tickets()
        self.set_interval(1.0, self._render_sla)
        self.set_interval(5.0, self.poll)

    def palette_commands(self) -> tuple[tuple[str, str, str], ...]:
        """The triage keys and space, for the command palette."""
        return (*TRIAGE_COMMANDS, ("Tick the next runbook step", "Key space", "tick"))

    def current_number(self) -> int | None:
        """This ticket."""
        return self.number

    def seen_ticket(self) -> Ticket | None:
        """The ticket as shown on this screen."""
        return self.ticket

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()

    async def refresh_tickets(self) -> None:
        """Reload the ticket and redraw."""
        service = self.service
        if service is None:
            return
        with noted(self.app, f"Reading #{self.number}", once=True) as outcome:
            ticket = await service.store.get_ticket(self.number)
            ticked = await service.store.runbook_steps(self.number) if ticket else frozenset()
        if outcome.failed:  # keep what is shown (the operator has been told once)
            return
        self.ticket = ticket
        if self.ticket is None:
            self.query_one("#ticket-header", Static).update(Content(f"No ticket #{self.number}"))
            return
        self.runbook = service.runbook_for(self.ticket)
        self._render_header(self.ticket)
        self._render_sla()
        self._render_runbook(ticked)
        self._render_thread(self.ticket)
        self._render_audit(self.ticket)
        self.sub_title = f"#{self.number}"

    async def poll(self) -> None:
        """Every few seconds while shown, re-read the ticket: a customer's reply (which
        also ends a pause) or another operator's change appeared only after a key. Only a
        changed ticket is redrawn; the runbook's ticks are left as they are."""
        service, shown = self.service, self.ticket
        if service is None or shown is None or not self.is_current:
            return
        with noted(self.app, f"Reading #{self.number}", once=True) as outcome:
            ticket = await service.store.get_ticket(self.number)
        if outcome.failed or ticket is None or self.ticket is not shown:
            return
        if (ticket, ticket.thread, ticket.audit) == (shown, shown.thread, shown.audit):
            return
        self.ticket = ticket
        self._render_header(ticket)
        self._render_sla()
        self._render_thread(ticket)
        self._render_audit(ticket)

    def _render_header(self, t: Ticket) -> None:
        r = t.requester
        who = f"{_one(r.address)}" + (f" ({_one(r.name, 60)})" if r.name else "")
        lines = [
            Content.assemble((f"#{t.number}  ", "bold"), (_one(t.subject, 300), "bold")),
            Content.assemble(("From      ", "dim"), who, ("  " + _one(r.company, 60), "dim")),
            Content.assemble(
                ("Severity  ", "dim"),
                (t.severity.value, "bold"),
                ("   Category ", "dim"),
                t.category.value,
                ("   Status ", "dim"),
                STATUS_LABEL[t.status],
                ("   Level ", "dim"),
                t.level.value,
                ("   Assignee ", "dim"),
                _one(t.assignee or "unassigned", 40),
            ),
            Content.assemble(("Triage    ", "dim"), _one(t.triage_rule or "manual", 200)),
        ]
        if t.defects:
            defects = "; ".join(t.defects)
            lines.append(Content.assemble(("Defects   ", "$warning"), _one(defects, 300)))
        self.query_one("#ticket-header", Static).update(Content("\n").join(lines))

    def _render_sla(self) -> None:
        service, t = self.service, self.ticket
        if service is None or t is None:
            return
        now = service.clock()
        sla = service.sla(t, now)
        parts = []
        for name, reading in (("Response", sla.response), ("Resolution", sla.resolution)):
            due = ""
            if reading.due is not None:
                local = reading.due.astimezone(service.config.tz)
                # A weekday alone names one day only within a week of now: a low ticket's
                # 7-day resolution read "due Sat 03:00" on the Saturday it arrived.
                near = abs(reading.due - now) < timedelta(days=6)
                due = f" (due {local:%a %H:%M})" if near else f" (due {local:%a %d %b %H:%M})"
            parts.append(
                Content.assemble(
                    (f"{name:<11}", "dim"), (reading.label(), SLA_STYLE[reading.state]), due
                )
            )
        self.query_one("#ticket-sla", Static).update(Content("\n").join(parts))

    def _render_runbook(self, ticked: frozenset[int]) -> None:
        title = self.query_one("#ticket-runbook-title", Static)
        steps = self.query_one("#ticket-runbook", SelectionList)
        steps.clear_options()
        if self.runbook is None:
            title.update(Content.styled("Runbook   none matched", "dim"))
            steps.display = False
            return
        steps.display = True
        title.update(Content.assemble(("Runbook   ", "dim"), (self.runbook.title, "bold")))
        evidence_of = getattr(self.app, "runbook_evidence", None)
        index = 0
        options = []
        for section, items in (
            ("Diagnose", self.runbook.diagnosis),
            ("Fix", self.runbook.resolution),
        ):
            for step in items:
                label = f"{section}: {step.text}"
                live = evidence_of(step.evidence) if evidence_of and step.evidence else None
                if live:
                    label += f"   [{live}]"
                options.append(Selection(Content(_one(label, 200)), index, index in ticked))
                index += 1
        steps.add_options(options)
        # The first step not yet ticked is highlighted: space in the list ticks it (with
        # nothing highlighted, the first space did nothing).
        steps.highlighted = next((i for i in range(index) if i not in ticked), 0)

    def action_tick(self) -> None:
        """space: tick the next runbook step not yet ticked.

        The screen opens with the body focused, not the list, so space ticked nothing
        (README: "space on the ticket screen, tick a runbook step"). In the list itself
        (tab), space toggles the highlighted step as in any list.
        """
        steps = self.query_one("#ticket-runbook", SelectionList)
        if self.runbook is None or not steps.option_count:
            self.notify("No runbook for this ticket", severity="warning")
            return
        ticked = set(steps.selected)
        for index in range(steps.option_count):
            if steps.get_option_at_index(index).value not in ticked:
                steps.highlighted = index
                steps.toggle(steps.get_option_at_index(index))  # saved by _toggled
                return
        self.notify("Every runbook step is ticked")

    @on(SelectionList.SelectionToggled, "#ticket-runbook")
    async def _toggled(self, event: SelectionList.SelectionToggled[int]) -> None:
        service = self.service
        if service is None:
            return
        step = int(event.selection.value)
        done = step in event.selection_list.selected
        with noted(self.app, "Runbook step not saved") as outcome:
            await service.set_runbook_step(self.number, step, done)
        if outcome.failed:
            await self.refresh_tickets()  # show the ticks as stored

    def _render_thread(self, t: Ticket) -> None:
        blocks: list[Content] = [Content.styled("Thread", "bold underline")]
        tz = self.service.config.tz if self.service else None
        for message in t.thread:
            label, style = DIRECTION_STYLE[message.direction]
            when = message.at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else ""
            head = Content.assemble(
                (label, style), " ", _one(message.author, 80), ("  " + when, "dim")
            )
            blocks.append(head)
            if message.subject:
                blocks.append(Content.assemble(("  subject: ", "dim"), _one(message.subject, 300)))
            for attachment in message.attachments:
                size = f"{attachment.size:,} bytes"
                blocks.append(
                    Content.assemble(
                        ("  📎 ", ""), _one(attachment.name, 120), (f"  {size}", "dim")
                    )
                )
            body = sanitize_terminal(message.body, limit=4000).replace("\t", "    ")
            blocks.append(Content("\n".join("  " + line for line in body.splitlines())))
            if message.defects:
                blocks.append(
                    Content.assemble(("  defects: ", "$warning"), _one("; ".join(message.defects)))
                )
            blocks.append(Content(""))
        self.query_one("#ticket-thread", Static).update(Content("\n").join(blocks))

    def _render_audit(self, t: Ticket) -> None:
        lines: list[Content] = [Content.styled("Audit trail", "bold underline")]
        tz = self.service.config.tz if self.service else None
        for entry in t.audit:
            when = entry.at.astimezone(tz).strftime("%m-%d %H:%M:%S") if tz else ""
            lines.append(
                Content.assemble(
                    (when, "dim"),
                    "  ",
                    _one(entry.actor, 40),
                    "  ",
                    (entry.field, "bold"),
                    f"  {_one(entry.old or '—', 60)} → {_one(entry.new or '—', 60)}",
                )
            )
        self.query_one("#ticket-audit", Static).update(Content("\n").join(lines))
