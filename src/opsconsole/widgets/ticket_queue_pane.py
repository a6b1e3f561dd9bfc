"""The dashboard's ticket pane: the most urgent open tickets with live SLA countdowns."""

from __future__ import annotations

import logging
from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable

from opsconsole.core.redact import redact_text
from opsconsole.core.sla import SlaState, at_risk_horizon
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.store import TicketQuery
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Ticket
from opsconsole.widgets.border import set_border_subtitle
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.ticket_cells import plain, severity_cell, sla_cell

log = logging.getLogger(__name__)

ROWS = 8


class TicketQueuePane(Vertical):
    """Top open tickets by time-to-breach; ``t`` opens the full Tickets screen."""

    def __init__(self) -> None:
        super().__init__(id="tickets-pane", classes="source-pane")
        self.rows: list[Ticket] = []
        self._urgent: tuple[str, str] = ("", "")  # breached, at risk: the whole queue

    def compose(self) -> ComposeResult:
        """One small table."""
        table: FastTable[Text] = FastTable(id="queue-table", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        """Columns and timers: data every 5 s, countdowns every second."""
        self.border_title = "Tickets"
        table = self.query_one("#queue-table", DataTable)
        for label, key, width in (
            ("#", "number", 6),
            ("Sev", "severity", 4),
            ("SLA", "sla", 28),
            ("Subject", "subject", None),
        ):
            table.add_column(Text(label), key=key, width=width)
        self.set_interval(1.0, self.tick)
        self.set_interval(5.0, self.reload)

    @property
    def service(self):  # type: ignore[no-untyped-def]
        """The app's TicketService, or None."""
        return getattr(self.app, "ticket_service", None)

    async def reload(self) -> None:
        """Fetch the most urgent open tickets and the counts (two small SQL queries)."""
        service = self.service
        if service is None:
            set_border_subtitle(self, "tickets unavailable")
            return
        try:
            rows = await service.store.list_tickets(TicketQuery(open_only=True, limit=ROWS))
            counts = await service.store.ticket_counts()
            self._urgent = await _urgent_counts(service)
        except Exception as exc:  # a failing database must not take the dashboard down
            reason = sanitize_terminal(
                redact_text(str(exc) or type(exc).__name__), single_line=True, limit=80
            )
            log.warning("ticket queue reload failed: %s", reason)
            set_border_subtitle(self, f"not refreshed: {escape(reason)}")  # the last rows stay
            return
        # No await from here on: tick() must never see rows the table does not hold yet
        # (update_cell on a missing row raises CellDoesNotExist and takes the app down).
        self.rows = rows
        table = self.query_one("#queue-table", DataTable)
        table.clear()
        now = service.clock()
        for ticket in self.rows:
            table.add_row(
                Text(f"#{ticket.number}"),
                severity_cell(ticket.severity),
                sla_cell(service.sla(ticket, now), ticket),
                plain(ticket.subject, 100),
                key=str(ticket.number),
            )
        if not self.rows:
            table.add_row(Text(""), Text(""), Text("no open tickets", style="dim"), Text(""))
        self._subtitle(counts.get("all_open", 0))

    def tick(self) -> None:
        """Countdowns move every second (only these few rows)."""
        service = self.service
        if service is None or not self.rows:
            return
        table = self.query_one("#queue-table", DataTable)
        now = service.clock()
        for ticket in self.rows:
            key = str(ticket.number)
            cell = sla_cell(service.sla(ticket, now), ticket)
            # Only cells whose text changed: every update_cell drops the table's row cache.
            if table.get_cell(key, "sla") != cell:
                table.update_cell(key, "sla", cell)
        self._subtitle(None)

    def _subtitle(self, open_count: int | None) -> None:
        service = self.service
        if open_count is not None:
            self._open = open_count
        if service is None:
            return
        breached, risk = self._urgent
        text = f"{getattr(self, '_open', 0)} open"
        if risk:
            text += f" · {risk} at risk"
        if breached:
            text += f" · {breached} breached"
        set_border_subtitle(self, text + " · t: all tickets")


AT_RISK_SCAN = 500
"""At most this many tickets are read to count the ones at risk (a ``+`` after the count
when that many were read: more may be due)."""


async def _urgent_counts(service) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Open tickets whose running SLA clock is breached / at risk, over the whole queue.

    Breached is one indexed count (``next_due`` passed). At risk needs each ticket's own
    target, so the tickets due before :func:`at_risk_horizon` are read and evaluated.
    """
    now = service.clock()
    store = service.store
    breached = await store.count_tickets(TicketQuery(open_only=True, due_before=now))
    # A ticket due exactly at the horizon is at risk too (``due_before`` is exclusive);
    # out of hours the horizon can sit on a closing time for a whole night.
    horizon = at_risk_horizon(service.policy, now) + timedelta(seconds=1)
    near = await store.list_tickets(
        TicketQuery(open_only=True, due_after=now, due_before=horizon, limit=AT_RISK_SCAN)
    )
    risk = sum(sla_clock(service.sla(t, now), t)[1] is SlaState.AT_RISK for t in near)
    more = "+" if len(near) == AT_RISK_SCAN else ""  # more were due than were read
    return (str(breached) if breached else "", f"{risk}{more}" if risk else "")
