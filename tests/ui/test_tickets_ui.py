"""Pilot tests: the ticket queue, the Tickets screen and every triage key."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, OptionList, TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.sla import SlaState
from opsconsole.core.store import TicketQuery
from opsconsole.core.tickets import Category, Direction, Level, Severity, Status
from opsconsole.screens.ticket_detail import TicketScreen
from opsconsole.screens.ticket_dialogs import EditorScreen, PickScreen
from opsconsole.screens.tickets import TicketsScreen
from opsconsole.widgets.ticket_queue_pane import TicketQueuePane

from fakes import FROZEN, MutableClock
from ticket_fixtures import seed_tickets, seeded_config, ticket_app, ticket_config


@pytest.fixture
async def seeded(tmp_path: Path):
    return await seeded_config(tmp_path)


build = ticket_app


async def open_tickets(app, pilot) -> TicketsScreen:
    await pilot.press("t")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TicketsScreen)
    return screen


async def settled(pilot, store, check, timeout: float = 3.0):
    """Wait until ``check(ticket #101)`` holds (writes go through aiosqlite's thread)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await pilot.pause()
        ticket = await store.get_ticket(101)
        if check(ticket):
            return ticket
        assert asyncio.get_running_loop().time() < deadline, f"never settled: {ticket}"
        await asyncio.sleep(0.02)


def subjects(screen: TicketsScreen) -> list[str]:
    return [t.subject for t in screen.rows]


async def test_queue_pane_shows_most_urgent_first(tmp_path: Path, seeded) -> None:
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)):
        pane = app.query_one(TicketQueuePane)
        table = pane.query_one(DataTable)
        assert table.row_count == 6
        # critical (1h response, 50m old) is closest to breach
        assert table.get_row_at(0)[0].plain == "#101"
        assert "at risk" in table.get_row_at(0)[2].plain
        assert "6 open" in str(pane.border_subtitle)


async def test_tickets_screen_sorts_by_time_to_breach_and_filters(tmp_path: Path, seeded) -> None:
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_tickets(app, pilot)
        assert subjects(screen)[0] == "CRITICAL: API returning 500 errors"
        assert screen.total == 6
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"whitelist")
        await app.workers.wait_for_complete()  # the filter is debounced by 150 ms
        await pilot.pause()
        assert subjects(screen) == ["Can we add IP whitelisting?"]
        await pilot.press("escape")  # closes the filter box, keeps the filter
        await pilot.press("escape")
        assert not isinstance(app.screen, TicketsScreen)
        screen = await open_tickets(app, pilot)
        await pilot.press("v")  # severity: critical only
        assert subjects(screen) == ["CRITICAL: API returning 500 errors"]
        await pilot.press("v", "v", "v", "v")  # back to any
        assert screen.total == 6
        await pilot.press("o")  # sort by received (oldest first)
        assert subjects(screen)[0] == "Why am I charged twice?"


async def test_the_count_waits_for_the_new_page_to_be_drawn_but_not_on_open(
    tmp_path: Path, seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload draws its page before the count scans; opening has no frame to wait for."""
    waits: list[tuple[int, bool]] = []
    original = TicketsScreen._repainted

    async def recording(self: TicketsScreen) -> bool:
        drawn = await original(self)
        waits.append((self.total, drawn))
        return drawn

    monkeypatch.setattr(TicketsScreen, "_repainted", recording)
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_tickets(app, pilot)
        assert waits == []
        assert screen.total == 6
        await pilot.press("v")  # critical only
        await pilot.pause()
        # counting (-1) while it waited, and the frame came (not the 250 ms time-out)
        assert waits == [(-1, True)]
        assert screen.total == 1


async def test_every_triage_key(tmp_path: Path, seeded) -> None:
    """1-4, c, a, s, n, r, e, x on the highlighted ticket; each change is audited."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_tickets(app, pilot)
        number = screen.current_number()
        assert number == 101
        store = app.ticket_service.store

        await pilot.press("2")
        await settled(pilot, store, lambda t: t.severity is Severity.HIGH)

        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one(OptionList)
        options.highlighted = [c.value for c in Category].index("billing")
        await pilot.press("enter")
        await settled(pilot, store, lambda t: t.category is Category.BILLING)

        await pilot.press("a")
        await pilot.press("enter")  # first option: me
        await settled(pilot, store, lambda t: t.assignee == "Alex Doe")

        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one(OptionList).highlighted = 2  # pending customer
        await pilot.press("enter")
        ticket = await settled(pilot, store, lambda t: t.status is Status.PENDING_CUSTOMER)
        assert ticket.pauses[-1][1] is None

        await pilot.press("n")
        assert isinstance(app.screen, EditorScreen)
        app.screen.query_one(TextArea).text = "Called the customer; waiting for logs."
        await pilot.press("ctrl+s")
        await settled(pilot, store, lambda t: t.thread[-1].direction is Direction.NOTE)

        await pilot.press("r")
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        body = editor.query_one(TextArea).text
        assert "Hi Ops" in body and "#101" in editor.query_one("#editor-subject", Input).value
        await pilot.press("ctrl+s")
        ticket = await settled(pilot, store, lambda t: t.first_response_at is not None)
        assert ticket.first_response_at == FROZEN
        assert app.ticket_service.sla(ticket).response.state is SlaState.MET  # clock stopped
        assert ticket.thread[-1].direction is Direction.OUTBOUND
        outbox = mailbox.Maildir(str(tmp_path / "outbox"), create=False)
        sent = [m for m in outbox]
        assert sent and sent[0]["To"].endswith("ops@acme.io>")
        assert sent[0]["In-Reply-To"] == "<seed-0@example.com>"

        await pilot.press("e")
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        block = editor.query_one(TextArea).text
        assert "Ticket: #101" in block and "Severity: High" in block
        # An escalation is internal: it goes at once, even with the block's placeholders
        # (logs URL, curl command) unfilled; only customer replies are held.
        await pilot.press("ctrl+s")
        ticket = await settled(pilot, store, lambda t: t.level is Level.L2)
        assert ticket.status is Status.ESCALATED
        assert app.clipboard == block

        await pilot.press("x")
        ticket = await settled(pilot, store, lambda t: t.status is Status.RESOLVED)
        assert ticket.status is Status.RESOLVED and ticket.resolved_at == FROZEN
        fields = [entry.field for entry in ticket.audit]
        for field in ("severity", "category", "assignee", "status", "first_response_at", "level"):
            assert field in fields


async def test_enter_opens_the_ticket_with_its_runbook(tmp_path: Path, seeded) -> None:
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_tickets(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen) and app.screen.number == 101
        await pilot.press("1")
        await pilot.pause()
        assert (await app.ticket_service.store.get_ticket(101)).severity is Severity.CRITICAL
        await pilot.press("escape")
        assert isinstance(app.screen, TicketsScreen)


async def test_sla_watcher_rings_when_a_ticket_turns_at_risk(tmp_path: Path, seeded) -> None:
    clock = MutableClock()
    app = build(tmp_path, seeded, clock=clock)
    async with app.run_test(size=(160, 48)):
        from opsconsole.tickets.runtime import SlaWatcher

        watcher = SlaWatcher(app.ticket_service)
        assert await watcher.check() == []  # first look only records states
        clock.advance(minutes=11)  # #101 (critical, 1h): 61 minutes old → breached
        alerts = await watcher.check()
        assert [(a.number, a.state) for a in alerts] == [(101, SlaState.BREACHED)]
        assert await watcher.check() == []  # no repeat


async def test_j_k_and_paging_keys(tmp_path: Path, seeded) -> None:
    """k9s-style j/k move the cursor; ] and [ stay put on a single page."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_tickets(app, pilot)
        first = screen.current_number()
        await pilot.press("j")
        assert screen.current_number() != first
        await pilot.press("k")
        assert screen.current_number() == first
        await pilot.press("right_square_bracket", "left_square_bracket")
        assert screen.query_state.offset == 0 and screen.total == 6


async def test_a_change_made_meanwhile_is_a_conflict_not_an_overwrite(
    tmp_path: Path, seeded
) -> None:
    """Two operators: the second sees a conflict (and the stored state), never overwrites."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_tickets(app, pilot)
        assert screen.current_number() == 101
        other = await SqliteStore.open(tmp_path / "t.db")  # another console on the same DB
        await other.update_ticket(101, {"severity": "medium"}, actor="Sam Lee", at=FROZEN)
        await other.close()
        await pilot.press("2")  # this operator still sees critical
        ticket = await settled(pilot, app.ticket_service.store, lambda t: True)
        assert ticket.severity is Severity.MEDIUM  # Sam's change stands
        messages = [n.message for n in app._notifications]
        assert any("changed meanwhile" in m for m in messages), messages


async def test_a_page_is_a_screenful_and_the_cursor_walks_across_pages(tmp_path: Path) -> None:
    """Pages are as tall as the table; ]/[, PgDn/PgUp and ↓/↑ at a page's edge cross pages,
    every ticket is reached exactly once, and a resize re-fits the page."""
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    base = seed_tickets(config)
    await store.bulk_insert_tickets(
        [replace(base[n % len(base)], subject=f"ticket {n:02}") for n in range(50)]
    )
    everything = [t.number for t in await store.list_tickets(TicketQuery(open_only=True, limit=99))]
    await store.close()
    app = build(tmp_path, config)
    async with app.run_test(size=(120, 20)) as pilot:
        screen = await open_tickets(app, pilot)
        table = screen.query_one(DataTable)
        await pilot.pause()
        visible = table.scrollable_content_region.height - table.header_height
        assert len(screen.rows) == visible == screen.query_state.limit  # 20 - status, footer
        assert table.max_scroll_y == 0  # the whole page is on screen
        assert screen.total == 50
        seen: list[int] = [t.number for t in screen.rows]
        while len(seen) < 50:
            before = screen.query_state.offset
            await pilot.press("right_square_bracket")
            assert screen.query_state.offset == before + visible
            seen += [t.number for t in screen.rows]
        assert seen == everything  # every ticket once, in the queue's order
        await pilot.press("right_square_bracket")  # past the end: nothing happens
        assert seen[-len(screen.rows) :] == [t.number for t in screen.rows]
        await pilot.press("pagedown")  # no next page: PgDn goes to the last row
        assert screen.current_number() == everything[-1]
        await pilot.press("pageup")  # from the last page (34) to the one before
        assert screen.query_state.offset == visible
        # ↑ on the first row: the previous page, on its last row
        table.move_cursor(row=0)
        await pilot.press("up")
        assert screen.query_state.offset == 0
        assert screen.current_number() == everything[visible - 1]
        # ↓ on the last row: the next page, on its first row
        await pilot.press("down")
        assert screen.query_state.offset == visible
        assert screen.current_number() == everything[visible]
        await pilot.press("k", "j")  # j/k cross the same way
        assert screen.current_number() == everything[visible]
        await pilot.press("pagedown")
        assert screen.query_state.offset == 2 * visible
        current = screen.current_number()
        await pilot.resize_terminal(120, 30)  # ten rows taller: a page follows
        await pilot.pause()
        await pilot.pause()
        assert screen.query_state.limit == visible + 10
        assert len(screen.rows) == 50 - screen.query_state.offset  # the rest fits
        assert screen.current_number() == current  # still on the same ticket


async def test_a_reply_with_template_placeholders_left_is_held_once(tmp_path: Path, seeded) -> None:
    """The root-cause template asks the operator to explain; sent as drafted, the customer
    would read "[Explain what went wrong clearly]". The first ctrl+s names what is left and
    sends nothing; the second sends the text as is."""
    from textual.widgets import Select

    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_tickets(app, pilot)
        store = app.ticket_service.store
        await pilot.press("r")
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        editor.query_one(Select).value = "root_cause"
        await pilot.pause()
        assert "[Explain what went wrong clearly]" in editor.query_one(TextArea).text
        app._notifications.clear()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is editor
        warning = str(next(iter(app._notifications)).message)
        assert warning.startswith("Still to fill in: [Explain what went wrong clearly]")
        assert (await store.get_ticket(101)).first_response_at is None  # nothing sent
        await pilot.press("ctrl+s")
        ticket = await settled(pilot, store, lambda t: t.first_response_at is not None)
        assert "[Explain what went wrong clearly]" in ticket.thread[-1].body
