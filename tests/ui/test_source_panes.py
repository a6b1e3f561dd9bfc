"""Source panes: data, error, stale, recovery, isolation, hidden panes and the detail view."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.sources import SourceError
from opsconsole.screens.link_detail import LinkDetailScreen
from opsconsole.widgets.alerts_pane import AlertsPane
from opsconsole.widgets.metrics_pane import MetricsPane
from opsconsole.widgets.sentry_pane import SentryPane
from opsconsole.widgets.statuspage_pane import StatusPagePane

from fakes import (
    FakeSource,
    MutableClock,
    ScriptedRunner,
    all_fakes,
    sentry_snapshot,
    sources_config,
    statuspage_snapshot,
)


def build(tmp_path: Path, sources: dict[str, FakeSource], clock=None, **only: bool):
    clock = clock or MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "s.db", clock=clock)

    return make_app(
        sources_config(**only),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: sources,
        clock=clock,
        poll=False,
    )


async def refresh(app, pilot) -> None:
    await pilot.press("r")
    await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_every_pane_shows_its_data(tmp_path: Path) -> None:
    app = build(tmp_path, all_fakes())
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        sentry = app.query_one(SentryPane)
        counts = text_of(sentry.query_one("#sentry-counts", Static))
        assert "Unresolved 42" in counts and "New 24h 5" in counts and "New since" in counts
        issues = sentry.query_one(DataTable)
        assert issues.row_count == 2
        assert issues.get_row_at(0)[5].plain == "KeyError: 'policy_id' [bold]not markup[/bold]"
        assert issues.get_row_at(0)[2].plain == "1,234"
        assert str(sentry.border_subtitle).startswith("updated 03:00:00")
        metrics = app.query_one(MetricsPane).query_one(DataTable)
        assert [metrics.get_row_at(i)[1].plain for i in range(4)] == [
            "1,180 ms",
            "0.42 %",
            "2.50 %",
            "error",
        ]
        assert metrics.get_row_at(0)[1].style == "bold red"  # crit
        alerts = app.query_one(AlertsPane)
        table = alerts.query_one(DataTable)
        assert [table.get_row_at(i)[3].plain for i in range(2)] == ["firing", "silenced"]
        assert "Fired since shift start: 2 HighErrorRate, RedisDown" in text_of(
            alerts.query_one("#alerts-history", Static)
        )
        body = text_of(app.query_one(StatusPagePane).query_one("#statuspage-body", Static))
        assert "MINOR" in body and "Elevated API errors" in body and "Policy evaluation" in body


async def test_error_keeps_last_data_then_recovers_without_touching_others(
    tmp_path: Path,
) -> None:
    sentry = FakeSource(
        sentry_snapshot(),
        SourceError("401 Unauthorized: the Sentry token is invalid or expired"),
        sentry_snapshot(),
    )
    fakes = all_fakes()
    fakes["sentry"] = sentry
    app = build(tmp_path, fakes)
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        await refresh(app, pilot)
        pane = app.query_one(SentryPane)
        assert pane.has_class("-error")
        assert "401 Unauthorized" in text_of(pane.query_one(".pane-error", Static))
        assert str(pane.border_subtitle).startswith("ERROR · last good 03:00:00")
        assert pane.query_one(DataTable).row_count == 2  # last good data still shown
        for other in (MetricsPane, AlertsPane, StatusPagePane):
            assert app.query_one(other).has_class("-ok"), other
        await refresh(app, pilot)
        assert pane.has_class("-ok") and not pane.has_class("-error")
        assert text_of(pane.query_one(".pane-error", Static)) == ""


async def test_turns_stale_after_three_missed_intervals(tmp_path: Path) -> None:
    clock = MutableClock()
    app = build(tmp_path, all_fakes(), clock=clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        pane = app.query_one(StatusPagePane)  # interval 60s
        clock.advance(seconds=179)
        pane._refresh_freshness()
        assert pane.has_class("-ok")
        clock.advance(seconds=2)
        pane._refresh_freshness()
        assert pane.has_class("-stale")
        assert str(pane.border_subtitle) == "STALE · last update 03:00:00 (3m01s ago)"


async def test_unconfigured_panes_are_hidden(tmp_path: Path) -> None:
    app = build(tmp_path, {"statuspage": FakeSource(statuspage_snapshot())}, statuspage=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        assert len(app.query(StatusPagePane)) == 1
        assert not app.query(SentryPane) and not app.query(MetricsPane)
        assert not app.query(AlertsPane)
        await pilot.press("2")  # sentry is not configured: a notice, no crash
        assert app.is_running


async def test_enter_on_an_issue_shows_detail_and_copies_permalink(tmp_path: Path) -> None:
    app = build(tmp_path, all_fakes())
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        await pilot.press("2")  # focus the Sentry table
        assert isinstance(app.focused, DataTable) and app.focused.id == "sentry-issues"
        await pilot.press("enter")
        assert isinstance(app.screen, LinkDetailScreen)
        assert app.screen.url == "https://acme.sentry.io/issues/4508123456/"
        await pilot.press("c")
        assert app.clipboard == "https://acme.sentry.io/issues/4508123456/"
        await pilot.press("escape")
        assert not isinstance(app.screen, LinkDetailScreen)


async def test_number_keys_focus_panes(tmp_path: Path) -> None:
    app = build(tmp_path, all_fakes())
    async with app.run_test(size=(160, 50)) as pilot:
        await refresh(app, pilot)
        expected = {
            "1": "health",
            "2": "sentry-issues",
            "3": "metrics-table",
            "4": "alerts-table",
            "5": "statuspage-pane",
        }
        for key, widget_id in expected.items():
            await pilot.press(key)
            assert app.focused is not None and app.focused.id == widget_id, key


async def test_sources_close_on_quit(tmp_path: Path) -> None:
    fakes = all_fakes()
    app = build(tmp_path, fakes)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert all(f.closed for f in fakes.values())
