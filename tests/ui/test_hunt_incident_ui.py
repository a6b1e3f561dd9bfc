"""Regression tests in the real app for bugs found in incident mode and the checklist."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import yaml
from textual.widgets import Input, SelectionList, Static, TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.config.loader import loads_config
from opsconsole.core.checklists import WEEKLY_ITEMS, ItemResult, ItemStatus
from opsconsole.core.incidents import EntryKind, IncidentSeverity
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.screens.checklist import ChecklistScreen
from opsconsole.screens.incident import IncidentScreen
from opsconsole.screens.incident_dialogs import DeclareScreen, UpdatePromptScreen
from pilot_wait import until

from fakes import (
    FakeSource,
    MutableClock,
    ScriptedRunner,
    all_fakes,
    sentry_snapshot,
    sources_config,
)

BACKUP = WEEKLY_ITEMS[1]  # "Check backup status (Neon snapshots created)", manual
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # the day after the weekly review


def build(tmp_path: Path, clock: MutableClock, config=None):
    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "shift.db", clock=clock)

    fakes = all_fakes()
    return make_app(
        config or sources_config(),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )


async def open_checklist(app, pilot) -> ChecklistScreen:
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, ChecklistScreen) and app.screen.results)
    screen = app.screen
    assert isinstance(screen, ChecklistScreen)
    return screen


async def test_declare_with_a_bad_impact_does_not_crash(tmp_path: Path) -> None:
    """A "-" (the integer input lets it through) or "3 customers" in the declare form
    used to raise ValueError inside the action and take the console down."""
    incident = {"reviews_dir": str(tmp_path / "reviews")}
    config = loads_config(yaml.safe_dump({"service": "API", "incident": incident}))

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "inc.db", clock=MutableClock())

    app = make_app(
        config,
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        clock=MutableClock(),
        poll=False,
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("I")
        await until(
            pilot, lambda: isinstance(app.screen, DeclareScreen) and app.screen.query(Input)
        )
        app.screen.query_one("#declare-title", Input).value = "API down"
        app.screen.query_one("#declare-customers", Input).value = "-"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen)  # still open, nothing lost
        assert app.incident is None
        assert any("Customers" in str(n.message) for n in app._notifications)
        app.screen.query_one("#declare-customers", Input).value = "3"
        app.screen.query_one("#declare-failing", Input).value = "250"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen) and app.incident is None
        app.screen.query_one("#declare-failing", Input).value = "2.5"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.incident is not None)
        assert app.incident.impact.customers == 3 and app.incident.impact.failing_percent == 2.5
    assert app.return_code in (None, 0)


async def test_a_ticked_weekly_item_stays_and_survives_reopening(tmp_path: Path) -> None:
    """Ticking an (overdue) weekly item used to remove it from the list at the next
    re-check, and closing and reopening the checklist lost every manual tick and note
    (a new run each time). Notes on automatic items also vanished at the next re-check."""
    clock = MutableClock(SATURDAY)
    app = build(tmp_path, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_checklist(app, pilot)
        assert screen.results[BACKUP.key].overdue
        items = screen.query_one(SelectionList)
        items.highlighted = list(screen.results).index(BACKUP.key)
        await pilot.press("space")
        await until(pilot, lambda: screen.results[BACKUP.key].status is ItemStatus.DONE)
        auto_key = next(k for k, r in screen.results.items() if r.status is ItemStatus.PASS)
        screen.results[auto_key] = replace(screen.results[auto_key], note="checked by hand too")
        await screen.recheck()
        assert BACKUP.key in screen.results  # still on today's list
        done = screen.results[BACKUP.key]
        assert done.status is ItemStatus.DONE and not done.overdue
        assert screen.results[auto_key].note == "checked by hand too"
        first_run = screen.run_id

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ChecklistScreen))
        again = await open_checklist(app, pilot)
        assert again is not screen
        assert again.results[BACKUP.key].status is ItemStatus.DONE
        assert again.run_id == first_run  # the shift's run continues
        runs = await app.store.checklist_runs(limit=5)
        assert len(runs) == 1
        assert runs[0].finished_at == SATURDAY  # escape finished the run (it had no end)
        # unticking works (the item is there to untick) and is stored
        items = again.query_one(SelectionList)
        items.highlighted = list(again.results).index(BACKUP.key)
        await pilot.press("space")
        await until(pilot, lambda: again.results[BACKUP.key].status is ItemStatus.MANUAL)
        await again.recheck()
        assert again.results[BACKUP.key].status is ItemStatus.MANUAL
        assert BACKUP.key not in await app.store.last_done_dates()


async def test_weekly_item_done_late_friday_local_time_counts(tmp_path: Path) -> None:
    """Done dates were taken in UTC, while "today" is the operator's date: in Berlin, a
    Friday review done at 00:30 local (Thursday 23:30 UTC) counted as Thursday, and the
    item showed OVERDUE all weekend."""
    config = sources_config().model_copy(update={"timezone": "Europe/Berlin"})
    assert str(config.tz) == "Europe/Berlin"
    seed = await SqliteStore.open(tmp_path / "shift.db", clock=MutableClock())
    friday_local = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # Fri 27 Nov 00:30 in Berlin
    run_id = await seed.start_checklist_run("someone", friday_local)
    await seed.record_checklist_item(
        run_id,
        ItemResult(BACKUP.key, BACKUP.text, BACKUP.cadence, ItemStatus.DONE, ""),
        friday_local,
    )
    await seed.close()
    clock = MutableClock(SATURDAY)
    app = build(tmp_path, clock, config)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_checklist(app, pilot)
        assert BACKUP.key not in screen.results
        assert not any(r.overdue and r.key == BACKUP.key for r in screen.results.values())


async def test_an_empty_update_is_not_sent_and_history_shows_mttr(tmp_path: Path) -> None:
    """Clearing the update prompt and pressing ctrl+o used to record an empty update on
    the append-only timeline; the incident screen's history lacked the MTTR (issue #5)."""
    incident = {"reviews_dir": str(tmp_path / "reviews")}
    config = loads_config(yaml.safe_dump({"service": "API", "incident": incident}))
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "inc.db", clock=clock)

    app = make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await app.incident_service.declare("API down", "API", IncidentSeverity.HIGH)
        await until(pilot, lambda: app.incident is not None)
        app.action_incident_update()
        await until(
            pilot, lambda: isinstance(app.screen, UpdatePromptScreen) and app.screen.query(TextArea)
        )
        app.screen.query_one(TextArea).text = "  \n "
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, UpdatePromptScreen)  # kept open
        assert any("empty" in str(n.message) for n in app._notifications)
        active = await app.incident_service.active()
        assert [e.kind for e in active.timeline] == [EntryKind.DECLARED]
        await pilot.press("escape")
        clock.advance(minutes=40)
        await app.incident_service.resolve(override="verified")
        app.action_incident()
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, IncidentScreen) and app.screen.query("#incident-history")
            ),
        )

        def history() -> str:
            return str(app.screen.query_one("#incident-history", Static).render())

        await until(pilot, lambda: "History" in history())
        assert "MTTR 40 min over 1 resolved" in history()


async def test_checklist_does_not_verify_items_on_old_data(tmp_path: Path) -> None:
    """The panes keep a source's last good data when a poll fails; the checklist used
    to pass or fail items on it as if it were live (and said "Sentry is not configured"
    before the first poll). Now those items are UNKNOWN, with the reason."""
    fakes = all_fakes()
    fakes["sentry"] = FakeSource(sentry_snapshot(), RuntimeError("Sentry answered 502"))
    clock = MutableClock(SATURDAY)

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "shift.db", clock=clock)

    app = make_app(
        sources_config(),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )
    sentry_key = "review-sentry"
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_checklist(app, pilot)  # nothing polled yet
        waiting = screen.results[sentry_key]
        assert waiting.status is ItemStatus.UNKNOWN
        assert "waiting for the first poll" in waiting.evidence
        assert "not configured" not in waiting.evidence
        await pilot.press("escape")
        for _ in range(2):  # a good poll, then a failed one (the pane keeps the old data)
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.hub.pollers["sentry"].status.data is not None
        screen = await open_checklist(app, pilot)
        failed = screen.results[sentry_key]
        assert failed.status is ItemStatus.UNKNOWN, failed
        assert "Sentry answered 502" in failed.evidence
        statuspage = screen.results["check-status-page"]
        assert statuspage.status is ItemStatus.FAIL  # live data still verifies
        clock.advance(hours=6)  # nothing polled since: stale
        await screen.recheck()
        stale = screen.results["check-status-page"]
        assert stale.status is ItemStatus.UNKNOWN and "no fresh data" in stale.evidence


async def test_an_update_sent_from_the_cli_reaches_the_open_incident_screen(
    tmp_path: Path,
) -> None:
    """An update sent by another process (``opsconsole incident update``) grew the
    timeline, but the console only swapped its incident in memory: the open incident
    screen kept showing the update OVERDUE and the old timeline."""
    from opsconsole.incidents.service import IncidentService

    incident = {"reviews_dir": str(tmp_path / "reviews")}
    config = loads_config(yaml.safe_dump({"service": "API", "incident": incident}))
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "inc.db", clock=clock)

    app = make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await app.incident_service.declare("API down", "API", IncidentSeverity.HIGH)
        await until(pilot, lambda: app.incident is not None)
        await app.incident_service.snooze(60)  # keep the prompt away
        clock.advance(minutes=70)
        app.action_incident()
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, IncidentScreen) and app.screen.query("#incident-summary")
            ),
        )
        screen = app.screen

        def shown(widget: str) -> str:
            return str(screen.query_one(widget, Static).render())

        await until(pilot, lambda: "OVERDUE" in shown("#incident-summary"))
        other = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
        try:  # the CLI's path: its own connection and service
            cli = IncidentService(other, config, clock=clock)
            await cli.send_update("INCIDENT: sent from a script", slack=False)
        finally:
            await other.close()
        await app._sync_incident()
        await until(pilot, lambda: "INCIDENT: sent from a script" in shown("#incident-timeline"))
        screen._tick()
        assert "OVERDUE" not in shown("#incident-summary")
        assert app.incident is not None and app.incident.last_update_at == clock()


async def test_a_checklist_left_open_starts_a_new_run_next_shift(tmp_path: Path) -> None:
    """Left open overnight, the checklist kept recording the next shift's results into
    the previous shift's run, with the previous shift's ticks."""
    clock = MutableClock(SATURDAY)
    app = build(tmp_path, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_checklist(app, pilot)
        items = screen.query_one(SelectionList)
        items.highlighted = list(screen.results).index(BACKUP.key)
        await pilot.press("space")
        await until(pilot, lambda: screen.results[BACKUP.key].status is ItemStatus.DONE)
        saturday_run = screen.run_id
        clock.advance(hours=24)  # Sunday 10:00: the 09:00 shift has started
        await screen.recheck()
        assert screen.run_id is not None and screen.run_id != saturday_run
        assert BACKUP.key not in screen.results  # done on Saturday, due again next Friday
        runs = await app.store.checklist_runs(limit=5)
        assert [r.id for r in runs] == [screen.run_id, saturday_run]
        saturday = runs[1]
        assert {r.key: r.status for r in saturday.results}[BACKUP.key] is ItemStatus.DONE


async def test_a_queued_update_refused_later_is_reported(tmp_path: Path, slack: SlackFake) -> None:
    """An update queued while Slack failed (5xx), then refused for good on a retry (the
    webhook was removed: 404), was marked failed on the timeline in silence: the
    operator believed it would still go out."""
    incident = {"reviews_dir": str(tmp_path / "reviews"), "slack": {"webhook": slack.webhook_url}}
    config = loads_config(yaml.safe_dump({"service": "API", "incident": incident}))
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "inc.db", clock=clock)

    async def no_wait(_seconds: float) -> None:
        return None

    app = make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )
    async with app.run_test(size=(160, 48)) as pilot:
        service = app.incident_service
        service.slack._sleep = no_wait
        await service.declare("API down", "API", IncidentSeverity.HIGH)
        await until(pilot, lambda: app.incident is not None)
        slack.inject("500", times=10)
        entry = await service.send_update("INCIDENT: queued one", slack=True)
        assert entry.delivery.startswith("slack: queued")
        await until(pilot, lambda: app.incident.timeline[-1].delivery.startswith("slack: queued"))
        slack.clear_faults()
        slack.inject("404")
        clock.advance(minutes=1)
        await app._flush_outbox()
        await pilot.pause()
        notes = [str(n.message) for n in app._notifications]
        assert any("NOT delivered" in n and "404" in n for n in notes), notes
        assert not any(slack.secret in n for n in notes)
        stored = await service.active()
        assert stored.timeline[-1].kind is EntryKind.UPDATE  # never lost
        assert stored.timeline[-1].delivery.startswith("slack: failed")
