"""The history database failing under a running console (disk full, I/O error, a lock held
for longer than the busy timeout) must not take the console down, and what the operator
typed must not be lost (issue 7: never crash, never lose a timeline entry).

A :class:`BreakableStore` wraps the real :class:`SqliteStore`; once broken, every store
call raises :class:`StoreError` as SQLite's errors do. With it broken the test lets the
periodic work run (ticket queue reload, SLA watcher, incident sync, outbox, checklist
re-check), drives the keys that write (triage, ticket notes and runbook steps, incident
note, status, snooze, update, playbook, a probe going down during the incident), and
checks that the app is still running with no exception, that each failed write said so,
and that typed text is offered again. Then the store is mended and the console carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from opsconsole.core.incidents import EntryKind
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.screens.incident import IncidentScreen
from opsconsole.screens.incident_dialogs import DeclareScreen, UpdatePromptScreen
from opsconsole.screens.ticket_detail import TicketScreen
from opsconsole.screens.ticket_dialogs import EditorScreen
from opsconsole.screens.tickets import TicketsScreen
from pilot_wait import until

from ticket_fixtures import breakable_console, console_config


def _errors(app) -> list[str]:
    return [str(n.message).lower() for n in app._notifications if n.severity == "error"]


async def _editor_text(pilot, app, text: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.query(TextArea))
    app.screen.query_one(TextArea).text = text
    await pilot.press("ctrl+s")


async def test_a_failing_store_never_takes_the_console_down(
    tmp_path: Path, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app, stores = await breakable_console(tmp_path, console_config(tmp_path, slack.webhook_url))
    async with app.run_test(size=(150, 45)) as pilot:
        store = stores[0]
        await pilot.press("I")  # declare while the store works
        await until(
            pilot, lambda: isinstance(app.screen, DeclareScreen) and app.screen.query(Input)
        )
        app.screen.query_one("#declare-title", Input).value = "API down"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))

        await pilot.press("t")  # the queue and ticket #101, read while the store works
        await until(pilot, lambda: isinstance(app.screen, TicketsScreen) and app.screen.rows)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))

        store.broken = True
        alive: Callable[[], bool] = lambda: app.is_running and app._exception is None  # noqa: E731

        # -- ticket writes ---------------------------------------------------------------
        await pilot.press("1")  # severity critical
        await until(pilot, lambda: any("not done" in e for e in _errors(app)))
        await pilot.press("n")
        await _editor_text(pilot, app, "Customer confirmed the workaround")
        await until(pilot, lambda: _errors(app).count("#101: not done: disk i/o error") >= 2)
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))  # offered again
        assert app.screen.query_one(TextArea).text == "Customer confirmed the workaround"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))
        await pilot.press("t")  # back to the list: its refresh fails, the page stays
        await until(pilot, lambda: isinstance(app.screen, TicketsScreen))
        assert alive()

        # -- incident writes --------------------------------------------------------------
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("n")
        await _editor_text(pilot, app, "Rolled back deploy 4812")
        await until(pilot, lambda: any("note not saved" in e for e in _errors(app)))
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))  # offered again
        assert app.screen.query_one(TextArea).text == "Rolled back deploy 4812"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("z")  # snooze
        await until(pilot, lambda: any("snooze not saved" in e for e in _errors(app)))
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UpdatePromptScreen))
        app.screen.query_one(TextArea).text = "Investigating elevated 500s"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("not recorded" in e for e in _errors(app)))
        await until(pilot, lambda: isinstance(app.screen, UpdatePromptScreen))  # again
        assert app.screen.query_one(TextArea).text == "Investigating elevated 500s"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        # a probe going down during the incident writes an automatic timeline entry
        app._auto(EntryKind.PROBE, "API is DOWN")
        await pilot.pause()
        assert alive()

        # -- the periodic work (queue reload 5 s, incident sync 5 s, SLA watcher 5 s) ------
        await asyncio.sleep(5.5)
        await pilot.pause()
        assert alive(), app._exception
        assert {"active_incident", "list_tickets", "update_ticket"} <= set(store.refused)

        # -- mended: the console carries on -----------------------------------------------
        store.broken = False
        await app._sync_incident()
        incident = await store.get_incident(app.incident.id)
        texts = [entry.text for entry in incident.timeline]
        assert "API is DOWN" in texts  # the automatic entry was kept and written later
        assert alive()


async def test_checklist_handover_and_reports_survive_a_failing_store(
    tmp_path: Path, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manual tick that cannot be saved is kept and saved by the next re-check once the
    store works again; the handover and reports say why they cannot be built."""
    from opsconsole.screens.checklist import ChecklistScreen
    from opsconsole.screens.shift_actions import ReportsScreen

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = console_config(tmp_path, slack.webhook_url)
    app, stores = await breakable_console(tmp_path, config, seeded=False)
    async with app.run_test(size=(150, 45)) as pilot:
        store = stores[0]
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen) and app.screen.results)
        screen = app.screen
        manual = [k for k, r in screen.results.items() if r.status.value == "manual"]
        assert manual, "the guide's checklist has manual items"
        store.broken = True
        items = screen.query_one("#checklist-items")
        keys = list(screen.results)
        items.highlighted = keys.index(manual[0])
        await pilot.press("space")  # tick it: the save fails, the tick is kept
        await until(pilot, lambda: any("saving the checklist" in e for e in _errors(app)))
        assert screen.results[manual[0]].status.value == "done"
        await screen.recheck()  # the 5 s re-check, while still broken
        assert "could not re-check: disk I/O error" in screen.problem
        store.broken = False  # mended: the next re-check clears the line and saves the tick
        await screen.recheck()
        assert screen.problem == ""
        store.broken = True
        await pilot.press("h")  # the handover reads the store
        await until(pilot, lambda: any("handover could not be drafted" in e for e in _errors(app)))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen))
        await pilot.pause()
        text = str(app.screen.query_one("#reports-text").render())
        assert "could not be built: disk I/O error" in text
        assert app.is_running and app._exception is None

        store.broken = False
        await pilot.press("c")  # back to the checklist; its re-check saves the kept tick
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        await screen.recheck()
        runs = await store.checklist_runs(limit=1)
        saved = {r.key: r.status.value for r in runs[0].results}
        assert saved.get(manual[0]) == "done"
        assert screen.problem == ""


async def test_periodic_failures_are_told_once_and_again_when_they_recover() -> None:
    """``noted(once=True)``: a reload failing every 5 s notifies when it starts failing and
    when it works again, not every time; a key's failure (not ``once``) notifies each time.
    The reason is one redacted, printable line and is never read as markup."""
    from textual.app import App

    from opsconsole.core.store import StoreError
    from opsconsole.screens.failures import noted

    app: App[None] = App()
    async with app.run_test() as pilot:
        for _ in range(3):
            with noted(app, "Reading tickets", once=True) as outcome:
                raise StoreError("disk [bold]I/O[/bold] error\x1b[2J")
            assert outcome.failed
        with noted(app, "Reading tickets", once=True) as outcome:
            pass
        assert not outcome.failed
        for _ in range(2):
            with noted(app, "Note NOT saved"):
                raise OSError("No space left on device")
        # a key's failure then success clears it, so a later periodic failure is told
        with noted(app, "Saving the checklist"):
            raise StoreError("database is locked")
        with noted(app, "Saving the checklist"):
            pass
        with noted(app, "Saving the checklist", once=True):
            raise StoreError("database is locked")
        await pilot.pause()
        messages = [(n.severity, str(n.message)) for n in app._notifications]
    assert messages == [
        ("error", "Reading tickets: disk [bold]I/O[/bold] error^[[2J"),  # ESC made visible
        ("information", "Reading tickets: working again"),
        ("error", "Note NOT saved: No space left on device"),
        ("error", "Note NOT saved: No space left on device"),
        ("error", "Saving the checklist: database is locked"),
        ("error", "Saving the checklist: database is locked"),
    ]
    assert all(not n.markup for n in app._notifications)


async def test_a_reply_sent_but_not_recorded_is_not_offered_again(
    tmp_path: Path, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply went out, then recording it failed: the editor must not come back (a second
    ctrl+s mailed the customer twice); a warning says it went out and will be recorded."""
    import mailbox

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app, stores = await breakable_console(tmp_path, console_config(tmp_path, slack.webhook_url))
    async with app.run_test(size=(150, 45)) as pilot:
        store = stores[0]
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TicketsScreen) and app.screen.rows)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))
        await pilot.press("r")
        await until(
            pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.query(TextArea)
        )
        store.only, store.broken = frozenset({"add_message"}), True
        await pilot.press("ctrl+s")
        warnings = lambda: [  # noqa: E731
            str(n.message) for n in app._notifications if n.severity == "warning"
        ]
        await until(pilot, lambda: any("not recorded yet" in w for w in warnings()))
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)  # the editor did not come back
        outbox = tmp_path / "outbox"
        assert len(list(mailbox.Maildir(str(outbox), create=False))) == 1
        store.broken = False
        assert await app.ticket_service.flush_unrecorded() == 1
        assert app.is_running and app._exception is None
