"""Hunt: the Tickets screen and a ticket's screen driven the way a support engineer does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, OptionList, Static, TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.sla import SlaState
from opsconsole.core.tickets import Severity, Status
from opsconsole.screens.ticket_detail import TicketScreen
from opsconsole.screens.ticket_dialogs import EditorScreen
from opsconsole.screens.tickets import TicketsScreen

from fakes import FROZEN, MutableClock
from ticket_fixtures import seeded_config, ticket_app, ticket_config


@pytest.fixture
async def seeded(tmp_path: Path):
    return await seeded_config(tmp_path)


build = ticket_app


async def open_tickets(app, pilot) -> TicketsScreen:
    await pilot.press("t")
    await pilot.pause()
    assert isinstance(app.screen, TicketsScreen)
    return app.screen


async def settled(pilot, store, check, number: int = 101, timeout: float = 3.0):
    """Wait until ``check(ticket)`` holds (writes go through aiosqlite's thread)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await pilot.pause()
        ticket = await store.get_ticket(number)
        if check(ticket):
            return ticket
        assert asyncio.get_running_loop().time() < deadline, f"never settled: {ticket}"
        await asyncio.sleep(0.02)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def status_line(screen: TicketsScreen) -> str:
    return str(screen.query_one("#tickets-status", Static).render())


async def until(pilot, check, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await pilot.pause(0.02)


async def test_a_change_made_on_the_ticket_screen_is_what_the_list_shows_after(
    tmp_path: Path, seeded
) -> None:
    """Severity set on the ticket's screen, then escape: the list showed the old severity
    and took it as what the operator saw, so the next key on that ticket was refused as
    "changed meanwhile" — a change the same operator had just made."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_tickets(app, pilot)
        store = app.ticket_service.store
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        await pilot.press("2")
        await settled(pilot, store, lambda t: t.severity is Severity.HIGH)
        await pilot.press("escape")
        await until(pilot, lambda: screen.rows[0].severity is Severity.HIGH)
        table = screen.query_one(DataTable)
        assert table.get_row_at(0)[1].plain == "HIGH"
        assert screen.current_number() == 101
        await pilot.press("3")
        await settled(pilot, store, lambda t: t.severity is Severity.MEDIUM)
        assert not any("changed meanwhile" in m for m in notes(app)), notes(app)


async def _palette(pilot, words: str) -> None:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: CommandPalette.is_open(pilot.app))
    await pilot.press(*words)
    await pilot.pause(0.3)  # the palette searches its providers in a worker
    await pilot.press("down", "enter")
    await until(pilot, lambda: not CommandPalette.is_open(pilot.app))


async def test_triage_keys_are_in_the_command_palette(tmp_path: Path, seeded) -> None:
    """README: the ticket keys are "also in `?` and the command palette"; the palette had
    only the app's commands, so "resolve" or "severity" found nothing."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_tickets(app, pilot)
        store = app.ticket_service.store
        await _palette(pilot, "Severity: high")
        await settled(pilot, store, lambda t: t.severity is Severity.HIGH)
        await _palette(pilot, "Resolve the ticket")
        await settled(pilot, store, lambda t: t.status is Status.RESOLVED)
        await _palette(pilot, "Cycle the status filter")
        assert screen.query_state.open_only is False  # open → all
        # and on a ticket's own screen
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        await _palette(pilot, "Add an internal note")
        assert isinstance(app.screen, EditorScreen)


async def test_resolve_on_a_ticket_changed_meanwhile_is_a_conflict(tmp_path: Path, seeded) -> None:
    """``x`` did not send what the operator saw (``s`` does): a ticket another operator
    had just set pending on the customer was resolved over their change."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_tickets(app, pilot)
        other = await SqliteStore.open(tmp_path / "t.db")  # another console
        await other.update_ticket(
            101, {"status": Status.PENDING_CUSTOMER}, actor="Sam Lee", at=FROZEN
        )
        await other.close()
        await pilot.press("x")
        await until(pilot, lambda: any("changed meanwhile" in m for m in notes(app)))
        ticket = await app.ticket_service.store.get_ticket(101)
        assert ticket.status is Status.PENDING_CUSTOMER and ticket.resolved_at is None
        await pilot.press("x")  # the list now shows pending: resolving it is deliberate
        await settled(pilot, app.ticket_service.store, lambda t: t.status is Status.RESOLVED)


async def test_escalating_a_ticket_pending_on_the_customer_restarts_its_clocks(
    tmp_path: Path, seeded
) -> None:
    """Pending customer pauses the SLA; escalating set the status to escalated but left the
    pause open, so the escalated ticket's countdown stood still for ever."""
    clock = MutableClock()
    app = build(tmp_path, seeded, clock=clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_tickets(app, pilot)
        store = app.ticket_service.store
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one(OptionList).highlighted = 2  # pending customer
        await pilot.press("enter")
        await settled(pilot, store, lambda t: t.status is Status.PENDING_CUSTOMER)
        clock.advance(minutes=5)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("ctrl+s")
        ticket = await settled(pilot, store, lambda t: t.status is Status.ESCALATED)
        ticket = await settled(pilot, store, lambda t: t.pauses[-1][1] is not None)
        assert ticket.pauses == ((FROZEN, FROZEN.replace(minute=5)),)
        sla = app.ticket_service.sla(ticket)
        assert not sla.response.paused and sla.response.due is not None
        before = sla.response.remaining
        clock.advance(minutes=1)
        assert app.ticket_service.sla(ticket).response.remaining == before - (
            clock.now - clock.now.replace(minute=5)
        )
        assert ticket.next_due == sla.response.due  # the queue sorts it again


async def test_an_empty_queue_says_so(tmp_path: Path) -> None:
    """An empty page was a bare table: say whether the queue is clear or the filters
    match nothing (and how to change them)."""
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    await store.close()
    app = build(tmp_path, config)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_tickets(app, pilot)
        await until(pilot, lambda: screen.total == 0)
        assert "No open tickets" in status_line(screen)
        await pilot.press("v")  # critical only: a filter that matches nothing
        await until(pilot, lambda: "No tickets match" in status_line(screen))
        await pilot.press("n")  # no ticket: say so, as every other triage key does
        assert "No ticket selected" in notes(app)
        await pilot.press("enter")
        assert isinstance(app.screen, TicketsScreen)


async def test_a_filter_matching_nothing_says_so_and_clearing_it_brings_the_queue_back(
    tmp_path: Path, seeded
) -> None:
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_tickets(app, pilot)
        await pilot.press("slash", *"[b]nothing(")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.total == 0)
        line = status_line(screen)
        assert "filter [b]nothing(" in line and "No tickets match" in line
        screen.query_one(Input).value = ""
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.total == 6)
        assert "No " not in status_line(screen)


async def test_a_due_date_a_week_away_names_its_date(tmp_path: Path, seeded) -> None:
    """A low ticket's 7-day resolution read "due Fri 17:00" (a weekday alone); more than
    six days away it names the date. Near deadlines keep the short form."""
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        app.push_screen(TicketScreen(104))  # low, received 10 h before FROZEN (Sat 03:00)
        await pilot.pause()
        text = str(app.screen.query_one("#ticket-sla", Static).render())
        assert "(due Sun 17:00)" in text  # response: 48 h
        assert "(due Fri 04 Dec 17:00)" in text  # resolution: 7 d


async def test_breach_second_reads_overdue_by_one_second(tmp_path: Path, seeded) -> None:
    """Half a second past the deadline the queue read "overdue by 0s"."""
    from datetime import timedelta

    clock = MutableClock()
    app = build(tmp_path, seeded, clock=clock)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_tickets(app, pilot)
        clock.now = FROZEN + timedelta(minutes=10, milliseconds=500)  # #101 due at 03:10
        screen.tick()
        await pilot.pause()
        cell = screen.query_one(DataTable).get_cell("101", "sla")
        assert cell.plain == "resp overdue by 1s"
        ticket = screen.rows[0]
        assert app.ticket_service.sla(ticket).response.state is SlaState.BREACHED


async def test_note_editor_text_reaches_the_thread_literally(tmp_path: Path, seeded) -> None:
    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_tickets(app, pilot)
        await pilot.press("n")
        app.screen.query_one(TextArea).text = "[b]not bold[/b] \x1b[2J"
        await pilot.press("ctrl+s")
        ticket = await settled(
            pilot, app.ticket_service.store, lambda t: t.thread[-1].body.startswith("[b]")
        )
        assert ticket.thread[-1].body.startswith("[b]not bold[/b]")


async def test_a_pasted_control_character_in_the_filter_never_reaches_the_terminal(
    tmp_path: Path, seeded
) -> None:
    """A subject copied from a terminal and pasted into ``/`` can carry ESC or a bidi
    override: it was echoed raw in the filter box and the status line. It is shown (and
    matched) as the visible escape intake stores subjects with."""
    from textual import events

    from ticket_fixtures import raw_mail

    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        service = app.ticket_service
        subject = "=?utf-8?q?Login_=1B[2J_broken_=E2=80=AE?="
        result = await service.ingest(raw_mail(subject, "help", message_id="<e@x.io>"), source="t")
        stored = (await service.store.get_ticket(result.number)).subject
        assert "\x1b" not in stored and "^[[2J" in stored
        screen = await open_tickets(app, pilot)
        await pilot.press("slash")
        box = screen.query_one(Input)
        box.post_message(events.Paste("\x1b[2J broken \u202e"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.total == 1)
        assert [t.number for t in screen.rows] == [result.number]
        assert box.value == "^[[2J broken \\u202e"
        for strip in app.screen._compositor.render_strips():
            text = "".join(segment.text for segment in strip)
            assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text), repr(text)
            assert "\u202e" not in text


async def test_the_cursor_follows_a_ticket_a_triage_key_moved_to_another_page(
    tmp_path: Path,
) -> None:
    """Severity 1 on a ticket of page 2 sorts it to the top of page 1; the cursor stayed on
    row N of page 2, on another ticket, and the next key changed that one."""
    from dataclasses import replace

    from opsconsole.core.store import TicketQuery

    from ticket_fixtures import seed_tickets

    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    low = seed_tickets(config)[3]  # low, 10 h old: 48 h response
    await store.bulk_insert_tickets([replace(low, subject=f"ticket {n:02}") for n in range(50)])
    await store.close()
    app = build(tmp_path, config)
    async with app.run_test(size=(120, 20)) as pilot:
        screen = await open_tickets(app, pilot)
        await pilot.pause()
        size = screen.query_state.limit
        await pilot.press("right_square_bracket", "j", "j")
        assert screen.query_state.offset == size
        moved = screen.current_number()
        await pilot.press("1")
        await settled(pilot, app.ticket_service.store, lambda t: True)
        await until(pilot, lambda: screen.current_number() == moved)
        assert screen.query_state.offset == 0 and screen.rows[0].number == moved
        await pilot.press("c")  # the next key acts on the ticket just changed
        await pilot.pause()
        app.screen.query_one(OptionList).highlighted = 0  # bug (the seeds are billing)
        await pilot.press("enter")
        await until(pilot, lambda: screen.rows[0].category.value == "bug")
        everything = await app.ticket_service.store.list_tickets(TicketQuery(limit=99))
        assert [t.number for t in everything if t.category.value == "bug"] == [moved]
        # Resolving under "open" takes the ticket out of the queue: the row stays put.
        await pilot.press("x")
        await settled(pilot, app.ticket_service.store, lambda t: True)
        await until(pilot, lambda: screen.current_number() != moved)
        assert screen.query_state.offset == 0


async def test_a_ticket_arriving_while_the_tickets_screen_is_open_appears(
    tmp_path: Path, seeded
) -> None:
    """The Tickets screen read its page only on a key: a critical ticket that arrived by
    mail (or a change another operator made) did not show until the operator pressed one.
    It now re-reads the page every few seconds, as the dashboard's pane does, keeping the
    cursor on its ticket."""
    from ticket_fixtures import raw_mail

    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_tickets(app, pilot)
        await pilot.press("j", "j")
        highlighted = screen.current_number()
        assert screen.total == 6
        result = await app.ticket_service.ingest(
            raw_mail("CRITICAL: data loss on the EU cluster", "All gone.", message_id="<d@x.io>"),
            source="test",
        )
        await until(pilot, lambda: screen.total == 7, timeout=8)
        assert result.number in [t.number for t in screen.rows]
        table = screen.query_one(DataTable)
        assert table.row_count == 7
        assert screen.current_number() == highlighted
        assert "Tickets 1–7 of 7" in status_line(screen)


async def test_the_ticket_screen_shows_a_customer_reply_that_arrives_while_open(
    tmp_path: Path, seeded
) -> None:
    """A ticket pending on the customer, open on screen: the customer's reply reopens it
    and restarts its clocks, but the screen kept showing "pending" and a paused SLA (and
    its thread without the reply) until a key was pressed."""
    from ticket_fixtures import raw_mail

    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        service = app.ticket_service
        await service.set_status(101, Status.PENDING_CUSTOMER)
        app.push_screen(TicketScreen(101))
        await pilot.pause()
        screen = app.screen
        sla = screen.query_one("#ticket-sla", Static)
        assert "paused" in str(sla.render())
        await service.ingest(
            raw_mail(
                "Re: CRITICAL: API returning 500 errors",
                "Here are the logs you asked for.",
                sender="Ops <ops@acme.io>",
                message_id="<r1@acme.io>",
                In_Reply_To="<seed-0@example.com>",
            ),
            source="test",
        )
        assert (await service.store.get_ticket(101)).status is Status.OPEN
        thread = screen.query_one("#ticket-thread", Static)
        await until(pilot, lambda: "logs you asked for" in str(thread.render()), timeout=8)
        assert "Status open" in str(screen.query_one("#ticket-header", Static).render())
        assert "paused" not in str(sla.render())


async def test_space_on_the_ticket_screen_ticks_the_next_runbook_step(
    tmp_path: Path, seeded
) -> None:
    """README: "space: on the ticket screen, tick a runbook step". The screen opens with its
    body focused and nothing highlighted in the runbook, so space ticked nothing."""
    from ticket_fixtures import raw_mail

    app = build(tmp_path, seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        service = app.ticket_service
        result = await service.ingest(
            raw_mail("Dashboard not loading", "Blank page since this morning.", message_id="<b@x>"),
            source="test",
        )
        number = result.number
        assert (await service.store.get_ticket(number)).runbook == "dashboard_not_loading"
        app.push_screen(TicketScreen(number))
        await pilot.pause()

        async def ticked(expected: set[int]) -> None:
            async def steps() -> frozenset[int]:
                return await service.store.runbook_steps(number)

            deadline = asyncio.get_running_loop().time() + 3
            while await steps() != expected:
                assert asyncio.get_running_loop().time() < deadline, await steps()
                await pilot.pause(0.02)

        await pilot.press("space")
        await ticked({0})
        await pilot.press("space")
        await ticked({0, 1})
        # In the list itself space toggles the highlighted step, as in any list.
        app.screen.query_one("#ticket-runbook").focus()
        await pilot.press("space")
        await ticked({0})
        # Ticks persist per ticket: a new screen shows them.
        await pilot.press("escape")
        app.push_screen(TicketScreen(number))
        await pilot.pause()
        assert list(app.screen.query_one("#ticket-runbook").selected) == [0]
        await _palette(pilot, "Tick the next runbook step")  # also in the command palette
        await ticked({0, 1})


async def test_a_paused_overdue_countdown_fits_its_column(tmp_path: Path) -> None:
    """ "resp paused · overdue by 12d23h" is 31 characters: the 28-wide SLA column showed
    "resp paused · overdue by 12d", the hours cut off, on the pane and the Tickets screen."""
    from dataclasses import replace
    from datetime import timedelta

    from ticket_fixtures import first_message, seed_tickets

    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    high = seed_tickets(config)[1]
    late = replace(
        high,
        received_at=FROZEN - timedelta(days=13),
        status=Status.PENDING_CUSTOMER,
        pauses=((FROZEN - timedelta(hours=1), None),),
        next_due=None,
    )
    await store.create_ticket(late, first_message(late, 1), actor="seed")
    await store.close()
    app = build(tmp_path, config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one("#queue-table", DataTable)
        assert pane.get_cell("101", "sla").plain == "resp paused · overdue 12d19h"
        screen = await open_tickets(app, pilot)
        cell = screen.query_one(DataTable).get_cell("101", "sla")
        assert cell.plain == "resp paused · overdue 12d19h"
        shown = [line for line in _screen_lines(app) if "#101" in line]
        assert shown and "overdue 12d19h" in shown[0]


def _screen_lines(app) -> list[str]:
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]
