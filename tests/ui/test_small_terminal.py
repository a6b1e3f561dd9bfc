"""The dashboard in small terminals: the Health pane keeps rows, and nothing is cut off.

With fixed heights for the Tickets (12) and Alerts (14) panes, a terminal of 24 or 30 rows
left the Health pane two rows tall (its border, no probe visible) and pushed the bottom of
the Alerts pane off the screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.widgets.health_pane import HealthPane

from fakes import MutableClock, ScriptedRunner, all_fakes, ok, sources_config

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
