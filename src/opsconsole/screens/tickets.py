"""The Tickets screen: the whole queue, paged from SQL, with live SLA countdowns."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from opsconsole.core.store import TicketQuery
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Severity, Status, Ticket
from opsconsole.screens.failures import Outcome, noted, one_line
from opsconsole.screens.ticket_actions import TRIAGE_BINDINGS, TRIAGE_COMMANDS, TicketActions
from opsconsole.screens.ticket_dialogs import EditorScreen, PickScreen
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.key_footer import KeyFooter
from opsconsole.widgets.ticket_cells import (
    STATUS_LABEL,
    age,
    plain,
    requester_cell,
    severity_cell,
    sla_cell,
)

SortKey = Literal["due", "received", "severity", "number"]
MIN_PAGE = 10  # rows per page when the terminal is tiny
CHROME = 3  # rows around the table's rows before it is laid out: status, header, footer
REPAINT_WAIT = 0.25  # seconds the count waits for the new page to be drawn
POLL_INTERVAL = 5.0  # seconds between re-reads of the page shown, as the dashboard's pane
FOLLOW_WINDOW = 500  # rows either side of the page searched for a ticket a change moved
# The SLA countdown comes third, as on the dashboard's queue pane: in an 80-column terminal
# it is on screen, where after Subject and Requester it was scrolled off to the right.
COLUMNS = (
    ("#", "number", 6),
    ("Sev", "severity", 4),
    ("SLA", "sla", 28),
    ("Category", "category", 8),
    ("Subject", "subject", None),
    ("Requester", "requester", 22),
    ("Age", "age", 4),
    ("Assignee", "assignee", 12),
    ("Status", "status", 9),
)
SEVERITY_CYCLE: tuple[frozenset[Severity], ...] = (
    frozenset(),
    *(frozenset({s}) for s in Severity),
)
STATUS_CYCLE: tuple[tuple[str, frozenset[Status], bool], ...] = (
    ("open", frozenset(), True),
    ("all", frozenset(), False),
    *((s.value, frozenset({s}), False) for s in Status),
)
OWNER_CYCLE = ("all", "mine", "unassigned")
SORTS: tuple[SortKey, ...] = ("due", "received", "severity", "number")
LIST_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Open the highlighted ticket", "Key enter", "open_ticket"),
    ("Filter tickets on text", "Key /", "filter"),
    ("Cycle the severity filter", "Key v", "cycle_severity"),
    ("Cycle the status filter", "Key f", "cycle_status"),
    ("Show mine / unassigned / all tickets", "Key m", "cycle_owner"),
    ("Cycle the sort order", "Key o", "cycle_sort"),
    ("Next page of tickets", "Key ]", "page(1)"),
    ("Previous page of tickets", "Key [", "page(-1)"),
)
"""The Tickets screen's own keys as command palette entries (besides the triage keys)."""


class QueueTable(FastTable[Text]):
    """The Tickets table: moving past its last (first) row asks for the next (previous)
    page, so the cursor keys walk the whole queue although only a screenful is loaded."""

    class Edge(Message):
        """The cursor tried to leave the loaded page: ``step`` is +1 (down) or -1 (up);
        ``page`` for PgDn/PgUp (which land on the last/first row when there is no page)."""

        def __init__(self, step: int, *, page: bool = False) -> None:
            super().__init__()
            self.step = step
            self.page = page

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.Edge(1))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.Edge(-1))
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        self.post_message(self.Edge(1, page=True))

    def action_page_up(self) -> None:
        self.post_message(self.Edge(-1, page=True))

    class Resized(Message):
        """The table's size changed: a screenful may now be more or fewer rows."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class TicketsScreen(TicketActions):
    """All tickets: ``/`` text filter, ``v`` severity, ``f`` status, ``m`` mine/unassigned,
    ``o`` sort, ``[``/``]`` pages; triage keys act on the highlighted row.

    A page is one screenful of rows (what the table shows), so a page key loads and draws
    only what is visible; the cursor keys cross into the next or previous page."""

    BINDINGS = [
        # The footer shows the triage keys first; the view keys (v f m o [ ]) are named
        # in the status line above the table, next to the setting each one changes.
        Binding("escape", "back", "Back"),
        *TRIAGE_BINDINGS,
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "cycle_severity", "Severity filter", show=False),
        Binding("f", "cycle_status", "Status filter", show=False),
        Binding("m", "cycle_owner", "Mine", show=False),
        Binding("o", "cycle_sort", "Sort", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", key_display="[", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="tickets-screen")
        self.query_state = TicketQuery(open_only=True, limit=MIN_PAGE)
        self._severity_index = 0
        self._status_index = 0
        self._owner_index = 0
        self._sort_index = 0
        self.total = 0
        self.rows: list[Ticket] = []
        self._reload_on_resume = False
        self._shown_query: TicketQuery | None = None  # the query of the rows shown

    def palette_commands(self) -> tuple[tuple[str, str, str], ...]:
        """The list's keys and the triage keys, for the command palette."""
        return (*LIST_COMMANDS, *TRIAGE_COMMANDS)

    def on_screen_suspend(self) -> None:
        """Another view opened on top: reload when it closes, since a ticket opened from
        here may have been changed there. The triage dialogs reload through their action."""
        self._reload_on_resume = not isinstance(self.app.screen, (PickScreen, EditorScreen))

    async def on_screen_resume(self) -> None:
        """Back from a ticket (or any view): show the tickets as stored now.

        The rows are also what the operator "saw" for conflict detection: a severity
        changed on the ticket's screen left the old one here, so the next key on the same
        ticket was refused as "changed meanwhile" (a change the operator had made).
        """
        if self._reload_on_resume:
            self._reload_on_resume = False
            await self.refresh_tickets()

    def compose(self) -> ComposeResult:
        """Filter input, status line, table, footer."""
        yield IncidentBanner()
        yield Input(placeholder="filter: subject, requester, #number", id="ticket-filter")
        yield Static("", id="tickets-status")
        table = QueueTable(id="tickets-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Columns, first page, and the one-second countdown tick."""
        table = self.query_one("#tickets-table", DataTable)
        for label, key, width in COLUMNS:
            table.add_column(Text(label), key=key, width=width)
        self.query_one("#ticket-filter", Input).display = False
        # Not drawn yet (that happens after on_mount): nothing to wait for before counting.
        await self.refresh_tickets(after_paint=False)
        table.focus()
        self.set_interval(1.0, self.tick)
        self.set_interval(POLL_INTERVAL, self.poll)

    # -- data -------------------------------------------------------------------------

    def action_cursor(self, direction: str) -> None:
        """k9s-style j/k."""
        table = self.query_one("#tickets-table", DataTable)
        if direction == "down":
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    async def refresh_tickets(
        self, *, recount: bool = True, after_paint: bool = True, row: int | None = None
    ) -> None:
        """Reload the current page from the store (never more than one page).

        The page is shown first and counted after: the count (a scan of the filter's
        matches, 10–50 ms at 100k tickets) only changes the status line, which says
        "of …" until it arrives. ``recount=False`` (paging, sorting) keeps the total.
        With ``after_paint`` the count waits until the new page has been drawn. ``row`` puts
        the cursor on that row of the new page (default: stay on the same ticket).
        """
        service = self.service
        if service is None:
            return
        store = service.store
        current = self.current_number()  # before the rows change under the cursor
        self.query_state = replace(self.query_state, limit=self.page_size())
        same_page = self._shown_query == replace(self.query_state, limit=0)
        with noted(self.app, "Reading tickets", once=True) as outcome:
            rows = await store.list_tickets(self.query_state)
            if not rows and self.query_state.offset > 0:  # the page emptied under us
                self.query_state = replace(self.query_state, offset=0)
                rows = await store.list_tickets(self.query_state)
            if same_page and row is None and current not in {t.number for t in rows}:
                # A triage change re-sorted the highlighted ticket onto another page: follow
                # it there, so the next key does not act on whichever ticket took its row.
                found = await self._locate(current)
                if found is not None:
                    offset, row = found
                    self.query_state = replace(self.query_state, offset=offset)
                    rows = await store.list_tickets(self.query_state)
        if outcome.failed:  # keep showing the last page read; say why it is not fresh
            self._show_failure(outcome)
            return
        self.rows = rows
        self._shown_query = replace(self.query_state, limit=0)
        self._show_rows(current, row)
        if recount:
            self.total = -1  # counting
            self._update_status()
            # The count's scan runs in the store's thread; started before the new page is
            # drawn, it competes with the drawing and delays it (30 ms instead of 13 ms).
            if after_paint:
                await self._repainted()
            with noted(self.app, "Counting tickets", once=True):
                self.total = await store.count_tickets(self.query_state)
        self._update_status()

    async def poll(self) -> None:
        """Every few seconds while shown, re-read the page: a ticket that arrived by mail
        or was changed by another operator appeared only after the next key. Only a page
        that changed is redrawn, and the count is replaced without the "of …" step."""
        service = self.service
        if service is None or not self.is_current:
            return
        query = self.query_state
        with noted(self.app, "Reading tickets", once=True) as outcome:
            rows = await service.store.list_tickets(query)
            total = await service.store.count_tickets(query)
        if outcome.failed:
            self._show_failure(outcome)
            return
        if query != self.query_state:  # a key changed the page meanwhile; it shows its own
            return
        if not rows and query.offset > 0:  # the page emptied: back to the first
            await self.refresh_tickets()
            return
        if rows != self.rows:
            current = self.current_number()
            self.rows = rows
            self._show_rows(current)
        self.total = total
        self._update_status()

    async def _locate(self, number: int | None) -> tuple[int, int] | None:
        """The page offset and row of ticket ``number`` in the current query, searched
        within :data:`FOLLOW_WINDOW` rows of the current page; None when not there (it
        left the filter, e.g. resolved under "open")."""
        if number is None:
            return None
        q = self.query_state
        size = q.limit
        start = max(0, q.offset - FOLLOW_WINDOW)
        assert self.service is not None
        window = await self.service.store.list_tickets(
            replace(q, offset=start, limit=q.offset - start + size + FOLLOW_WINDOW)
        )
        numbers = [t.number for t in window]
        if number not in numbers:
            return None
        position = start + numbers.index(number)
        offset = max(0, q.offset + (position - q.offset) // size * size)  # whole pages away
        return offset, position - offset

    async def _repainted(self) -> bool:
        """Wait until the screen has drawn what is pending; False if that took 250 ms."""
        drawn = asyncio.get_running_loop().create_future()

        def done() -> None:
            if not drawn.done():
                drawn.set_result(None)

        if not self.call_after_refresh(done):
            return False
        try:
            await asyncio.wait_for(drawn, REPAINT_WAIT)
        except TimeoutError:
            return False
        return True

    def page_size(self) -> int:
        """Rows the table shows: measured once it is laid out, estimated before."""
        table = self.query_one("#tickets-table", DataTable)
        if table.size.height > 0:
            rows = table.scrollable_content_region.height - table.header_height
        else:
            rows = self.app.size.height - CHROME
        return max(MIN_PAGE, rows)

    @on(QueueTable.Resized)
    async def _table_resized(self) -> None:
        # A taller or shorter terminal (or a banner shown): a page is one screenful again.
        if self.service is not None and self.page_size() != self.query_state.limit:
            await self.refresh_tickets(recount=False)

    def _show_rows(self, current: int | None, row: int | None = None) -> None:
        service = self.service
        assert service is not None
        table = self.query_one("#tickets-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        now = service.clock()
        for ticket in self.rows:
            sla = service.sla(ticket, now)
            table.add_row(
                Text(f"#{ticket.number}"),
                severity_cell(ticket.severity),
                sla_cell(sla, ticket),
                Text(ticket.category.value),
                plain(ticket.subject, 120),
                requester_cell(ticket),
                Text(age(ticket.received_at, now)),
                plain(ticket.assignee or "—", 14),
                Text(STATUS_LABEL[ticket.status]),
                key=str(ticket.number),
            )
        if self.rows:
            # Stay on the same ticket when a triage change re-sorts the queue.
            numbers = [t.number for t in self.rows]
            if row is None:
                row = numbers.index(current) if current in numbers else cursor
            table.move_cursor(row=max(0, min(row, len(numbers) - 1)))

    def tick(self) -> None:
        """Refresh the countdown and age cells of the visible rows only."""
        service = self.service
        if service is None or not self.rows:
            return
        table = self.query_one("#tickets-table", DataTable)
        first = int(table.scroll_offset.y)
        last = min(first + table.size.height, len(self.rows))
        now = service.clock()
        for index in range(first, last):
            ticket = self.rows[index]
            key = str(ticket.number)
            # Only cells whose text changed: every update_cell drops the table's row cache.
            for column, cell in (
                ("sla", sla_cell(service.sla(ticket, now), ticket)),
                ("age", Text(age(ticket.received_at, now))),
            ):
                if table.get_cell(key, column) != cell:
                    table.update_cell(key, column, cell)

    def _update_status(self) -> None:
        q = self.query_state
        if self.total < 0:  # the page is shown, its count is on the way
            start, end = (q.offset + 1, q.offset + len(self.rows)) if self.rows else (0, 0)
            total = "…"
        else:
            start = q.offset + 1 if self.total else 0
            end = min(q.offset + len(self.rows), self.total)
            total = f"{self.total:,}"
        severity = ",".join(sorted(s.value for s in q.severities)) or "any"
        status = STATUS_CYCLE[self._status_index][0]
        key = "bold $accent"
        parts: list[str | tuple[str, str]] = [
            (f"Tickets {start}–{end} of {total}", "bold"),
            "   ",
            ("f", key),
            f" status {status} · ",
            ("v", key),
            f" severity {severity} · ",
            ("m", key),
            f" {OWNER_CYCLE[self._owner_index]} · ",
            ("o", key),
            f" sort {q.sort} · ",
            ("[ ]", key),
            " page",
        ]
        if q.text:
            parts.append(" · filter ")
            parts.append((q.text, "bold $accent"))
        if self.total == 0:
            parts.append(("   " + self._empty_hint(), "bold $warning"))
        self.query_one("#tickets-status", Static).update(Content.assemble(*parts))

    def _empty_hint(self) -> str:
        """What an empty page means: a clear queue, or filters that match nothing."""
        q = self.query_state
        filtered = q.text or q.severities or q.assignee or q.unassigned or self._status_index
        if not filtered:
            return "No open tickets: the queue is clear"
        return "No tickets match: / edits the text filter, v f m change the others"

    def _show_failure(self, outcome: Outcome) -> None:
        """The status line says the page could not be read (the last page stays shown)."""
        assert outcome.error is not None
        reason = Content(f"Tickets could not be read: {one_line(outcome.error)}")
        self.query_one("#tickets-status", Static).update(reason.stylize("bold red"))

    def current_number(self) -> int | None:
        """The highlighted row's ticket number."""
        return self._number_at(self.query_one("#tickets-table", DataTable).cursor_row)

    def seen_ticket(self) -> Ticket | None:
        """The highlighted row's ticket as loaded (what the operator saw)."""
        row = self.query_one("#tickets-table", DataTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _number_at(self, row: int) -> int | None:
        if not self.rows or row < 0 or row >= len(self.rows):
            return None
        return self.rows[row].number

    # -- keys -------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#tickets-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.action_open_ticket()

    def action_open_ticket(self) -> None:
        """Open the highlighted ticket (enter)."""
        from opsconsole.screens.ticket_detail import TicketScreen

        number = self.current_number()
        if number is None:
            self.notify("No ticket selected", severity="warning")
            return
        self.app.push_screen(TicketScreen(number))

    def action_back(self) -> None:
        """Close the filter, or go back to the dashboard."""
        box = self.query_one("#ticket-filter", Input)
        if box.display and box.has_focus:
            box.display = False
            self.query_one("#tickets-table", DataTable).focus()
            return
        self.app.pop_screen()

    def action_filter(self) -> None:
        """Show and focus the text filter."""
        box = self.query_one("#ticket-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#ticket-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # A pasted control character (ESC, a bidi override) would reach the terminal in the
        # box and the status line; stored subjects hold it made visible (``^[``), so the
        # visible form is also what matches.
        text = sanitize_terminal(event.value, single_line=True)
        if text != event.value:
            event.input.value = text
        # Debounced: one query 150 ms after the last keystroke, stale ones cancelled.
        self.query_state = replace(self.query_state, text=text.strip(), offset=0)
        self.run_worker(self._filter_soon(), group="filter", exclusive=True)

    async def _filter_soon(self) -> None:
        await asyncio.sleep(0.15)
        await self.refresh_tickets()

    @on(Input.Submitted, "#ticket-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one("#tickets-table", DataTable).focus()

    async def action_cycle_severity(self) -> None:
        """any → critical → high → medium → low."""
        self._severity_index = (self._severity_index + 1) % len(SEVERITY_CYCLE)
        severities = SEVERITY_CYCLE[self._severity_index]
        self.query_state = replace(self.query_state, severities=severities, offset=0)
        await self.refresh_tickets()

    async def action_cycle_status(self) -> None:
        """open → all → each status."""
        self._status_index = (self._status_index + 1) % len(STATUS_CYCLE)
        _, statuses, open_only = STATUS_CYCLE[self._status_index]
        self.query_state = replace(
            self.query_state, statuses=statuses, open_only=open_only, offset=0
        )
        await self.refresh_tickets()

    async def action_cycle_owner(self) -> None:
        """all → mine → unassigned."""
        self._owner_index = (self._owner_index + 1) % len(OWNER_CYCLE)
        owner = OWNER_CYCLE[self._owner_index]
        me = self.service.operator.name if self.service else None
        self.query_state = replace(
            self.query_state,
            assignee=me if owner == "mine" else None,
            unassigned=owner == "unassigned",
            offset=0,
        )
        await self.refresh_tickets()

    async def action_cycle_sort(self) -> None:
        """time-to-breach → received → severity → number."""
        self._sort_index = (self._sort_index + 1) % len(SORTS)
        self.query_state = replace(self.query_state, sort=SORTS[self._sort_index], offset=0)
        await self.refresh_tickets(recount=False)  # same filter, same count

    async def action_page(self, step: int, row: int | None = None) -> bool:
        """Next or previous page of rows (a screenful); the cursor keeps its row.
        Returns False when there is no such page."""
        offset = self.query_state.offset
        size = self.page_size()
        if step > 0:
            offset += size
            # While a new filter is being counted (total < 0), a full page may have more.
            if offset >= self.total if self.total >= 0 else len(self.rows) < size:
                return False
        else:
            if offset <= 0:
                return False
            offset = max(0, offset - size)
        self.query_state = replace(self.query_state, offset=offset)
        await self.refresh_tickets(recount=False, row=row)
        return True

    @on(QueueTable.Edge)
    async def _cross_page(self, event: QueueTable.Edge) -> None:
        # Down past the last row: the next page, on its first row; up past the first: the
        # previous page, on its last row. PgDn/PgUp keep the row, or with no page that way,
        # go to the last/first row as in any list.
        if event.page:
            if not await self.action_page(event.step):
                table = self.query_one("#tickets-table", DataTable)
                table.move_cursor(row=table.row_count - 1 if event.step > 0 else 0)
            return
        await self.action_page(event.step, row=0 if event.step > 0 else self.page_size() - 1)
