"""Checklist (c), handover (h) and reports (g) in the real app, with fake sources."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import SelectionList, Static, TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.checklists import ItemStatus
from opsconsole.screens.checklist import ChecklistScreen
from opsconsole.screens.shift_actions import ReportsScreen
from opsconsole.screens.ticket_dialogs import EditorScreen
from pilot_wait import until

from fakes import MutableClock, ScriptedRunner, all_fakes, sources_config


def build(tmp_path: Path, clock: MutableClock):
    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "shift.db", clock=clock)

    fakes = all_fakes()
    return make_app(
        sources_config(),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )


async def polled(app, pilot) -> None:
    await pilot.press("r")  # probes and every source, once
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_checklist_verifies_automatic_items_with_evidence(tmp_path: Path) -> None:
    """The §9 daily items the console can verify are ticked from live data, with evidence;
    manual items are ticked with space and the run is stored."""
    clock = MutableClock()
    app = build(tmp_path, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen) and app.screen.results)
        screen = app.screen
        results = {r.text: r for r in screen.results.values()}
        statuspage = results["Check status page (any open incidents)"]
        assert statuspage.status is ItemStatus.FAIL and "Elevated API errors" in statuspage.evidence
        sentry = results["Review Sentry (new error counts)"]
        assert sentry.status is ItemStatus.FAIL and "new since" in sentry.evidence
        metrics = results["Check Grafana dashboard (metrics normal?)"]
        assert metrics.status is ItemStatus.FAIL and "p95 latency" in metrics.evidence
        alerts = results["Review Slack #alerts channel (any alerts overnight?)"]
        assert alerts.status is ItemStatus.FAIL and "HighErrorRate" in alerts.evidence
        api = results["Verify API health: curl https://api.domain.com/health"]
        assert api.status is ItemStatus.PASS and "API health: up" in api.evidence
        manual = next(r for r in screen.results.values() if r.status is ItemStatus.MANUAL)
        items = screen.query_one(SelectionList)
        items.highlighted = list(screen.results).index(manual.key)
        await pilot.press("space")
        await until(pilot, lambda: screen.results[manual.key].status is ItemStatus.DONE)
        runs = await app.store.checklist_runs(limit=1)
        stored = {r.key: r.status for r in runs[0].results}
        assert stored[manual.key] is ItemStatus.DONE and stored[api.key] is ItemStatus.PASS
        assert "Last runs" in str(screen.query_one("#checklist-runs", Static).render())


async def test_handover_is_written_and_copied(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    clock = MutableClock()
    app = build(tmp_path, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)
        await pilot.press("h")
        await until(
            pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.query(TextArea)
        )
        text = app.screen.query_one(TextArea).text
        assert text.startswith("*Shift handover*") and "HighErrorRate" in text
        await pilot.press("ctrl+s")
        files = tmp_path / "data" / "opsconsole" / "handovers"
        await until(pilot, lambda: files.exists() and any(files.iterdir()))
        saved = next(files.iterdir()).read_text()
        assert saved == app.clipboard and "*Alerts firing*" in saved


async def test_reports_screen(tmp_path: Path) -> None:
    clock = MutableClock()
    app = build(tmp_path, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen))
        await until(
            pilot,
            lambda: (
                "Operations report" in str(app.screen.query_one("#reports-text", Static).render())
            ),
        )
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert "90 days" in str(app.screen.query_one("#reports-text", Static).render())
