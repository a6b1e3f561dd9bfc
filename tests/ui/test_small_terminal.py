"""The dashboard in small terminals: the Health pane keeps rows, and nothing is cut off.

With fixed heights for the Tickets (12) and Alerts (14) panes, a terminal of 24 or 30 rows
left the Health pane two rows tall (its border, no probe visible) and pushed the bottom of
the Alerts pane off the screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.screens.ticket_dialogs import EditorScreen
from opsconsole.widgets.health_pane import HealthPane

from fakes import MutableClock, ScriptedRunner, all_fakes, ok, sources_config
from ticket_fixtures import seed_store, ticket_config

PROBES = ("API health", "Dashboard", "Auth", "Billing")


def build(tmp_path: Path):
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "s.db", clock=clock)

    return make_app(
        sources_config(PROBES),
        store_factory=store_factory,
        runner_factory=lambda: ScriptedRunner({name: [ok(name)] for name in PROBES}),
        sources_factory=all_fakes,
        clock=clock,
        poll=False,
    )


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_health_rows_visible_and_left_column_fits(tmp_path: Path, size) -> None:
    app = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        health = app.query_one("#health").region
        tickets = app.query_one("#tickets-pane").region
        alerts = app.query_one("#alerts-pane").region
        footer_top = size[1] - 1
        # border + column header + at least four probe rows
        assert health.height >= 7, (health, tickets, alerts)
        assert tickets.height >= 5 and alerts.height >= 5, (health, tickets, alerts)
        assert health.bottom <= tickets.y and tickets.bottom <= alerts.y
        assert alerts.bottom <= footer_top, (alerts, size)
        pane = app.query_one("#health", HealthPane)
        shown = "\n".join(
            "".join(segment.text for segment in pane.render_line(y))
            for y in range(pane.size.height)
        )
        for name in PROBES:
            assert name in shown, (name, shown)


@pytest.mark.parametrize("size", [(120, 40), (160, 48)])
async def test_roomy_terminal_keeps_the_full_pane_heights(tmp_path: Path, size) -> None:
    app = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert app.query_one("#tickets-pane").region.height == 12
        assert app.query_one("#alerts-pane").region.height == 14
        assert app.query_one("#health").region.height >= 12


async def test_reply_and_escalation_editors_fit_80_columns(tmp_path: Path) -> None:
    """The editor box was 110 columns wide: at 80 its right side, and the text, were cut off."""
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    await seed_store(store, config)
    await store.close()
    clock = MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "t.db", clock=clock)

    app = make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        for key in ("r", "e"):
            await pilot.press(key)
            await pilot.pause()
            editor = app.screen
            assert isinstance(editor, EditorScreen)
            box = editor.query_one(".editor-box").region
            area = editor.query_one(TextArea).region
            assert box.x >= 0 and box.right <= 80, box
            assert area.right <= box.right and area.height >= 3, area
            assert editor.query_one(".dialog-hint").region.bottom <= 24
            await pilot.press("escape")
            await pilot.pause()


async def test_declare_dialog_scrolls_to_its_hint_in_a_short_terminal(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("I")
        await pilot.pause()
        box = app.screen.query_one(".dialog-box")
        assert box.region.right <= 80 and box.region.bottom <= 24
        assert box.allow_vertical_scroll  # taller than the screen: it scrolls rather than clips
        box.scroll_end(animate=False)
        await pilot.pause()
        hint = app.screen.query_one(".dialog-hint")
        assert box.region.contains_region(hint.region), (box.region, hint.region)
