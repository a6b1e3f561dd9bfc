"""The Health pane applies a large flush in chunks, leaving the loop free in between."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from opsconsole.core.models import Outcome, ProbeResult, ProbeState
from opsconsole.engine import ProbeStatus
from opsconsole.messages import ProbeUpdated
from opsconsole.widgets import health_pane
from opsconsole.widgets.health_pane import HealthPane

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def status(n: int, second: int, state: ProbeState = ProbeState.UP) -> ProbeStatus:
    up = state is ProbeState.UP
    result = ProbeResult(
        probe=f"probe-{n:03d}",
        timestamp=T0 + timedelta(seconds=second),
        outcome=Outcome.OK if up else Outcome.ERROR,
        latency_ms=10.0 + n,
        error=None if up else "[red]down[/red]\x1b[2J",
        state=state,
    )
    return ProbeStatus(
        name=f"probe-{n:03d}", target=f"http://127.0.0.1/p/{n}", state=state, result=result
    )


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HealthPane(timezone=UTC, uptime_target=99.9, flush_every=3600, id="health")


def column(pane: HealthPane, key: str) -> list[str]:
    return [cell.plain for cell in pane.get_column(key)]


async def test_a_timer_flush_applies_chunks_and_yields_between_them() -> None:
    rows = 3 * health_pane.FLUSH_CHUNK + 20
    async with PaneApp().run_test(size=(120, 30)) as pilot:
        pane = pilot.app.query_one(HealthPane)
        pane.show([status(n, 0) for n in range(rows)])
        assert pane.row_count == rows
        for n in range(rows):  # every row checked again, the last one now down
            state = ProbeState.DOWN if n == rows - 1 else ProbeState.UP
            pane.post_message(ProbeUpdated(status(n, 1, state)))
        await pilot.pause()
        assert len(pane._pending) == rows

        applied: list[int] = []
        original = pane.flush

        def counting_flush(limit: int | None = None) -> None:
            before = len(pane._pending)
            original(limit)
            applied.append(before - len(pane._pending))

        pane.flush = counting_flush  # type: ignore[method-assign]
        pane._flush_chunk()
        assert applied == [health_pane.FLUSH_CHUNK]  # one chunk now, not the whole flush
        for _ in range(100):
            if not pane._pending:
                break
            await asyncio.sleep(health_pane.CHUNK_PAUSE)
        assert applied == [health_pane.FLUSH_CHUNK] * 3 + [20]
        assert set(column(pane, "checked")) == {"12:00:01"}
        # the down probe sorts first; its reason is shown literally, the escape made visible
        assert column(pane, "probe")[0] == f"probe-{rows - 1:03d}"
        assert column(pane, "detail")[0] == "[red]down[/red]^[[2J"
        assert pane.border_subtitle == f"1 down  {rows - 1} up"


async def test_an_unchanged_status_repaints_nothing() -> None:
    async with PaneApp().run_test(size=(120, 30)) as pilot:
        pane = pilot.app.query_one(HealthPane)
        pane.show([status(n, 0) for n in range(5)])
        await pilot.pause()
        calls: list[object] = []
        original = pane.update_cell

        def spy(*args: object, **kwargs: object) -> None:
            calls.append(args)
            original(*args, **kwargs)  # type: ignore[arg-type]

        pane.update_cell = spy  # type: ignore[method-assign]
        pane.show([status(n, 0) for n in range(5)])
        assert calls == []
        pane.show([status(2, 7)])
        assert [(row, col) for row, col, _value in calls] == [("probe-002", "checked")]  # type: ignore[misc]
