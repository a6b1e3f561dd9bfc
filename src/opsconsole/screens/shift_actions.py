"""Shift actions of the App: the checklist (c), the handover (h) and reports (g)."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from opsconsole.core.checklists import Facts
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import AlertsSnapshot, Freshness, SourceStatus
from opsconsole.screens.failures import noted, one_line
from opsconsole.screens.navigation import open_screen
from opsconsole.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from opsconsole.screens.ticket_dialogs import ComposeResultData

log = logging.getLogger(__name__)


def data_dir() -> Path:
    """``$XDG_DATA_HOME/opsconsole``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "opsconsole"


def live_source(status: SourceStatus, now: datetime) -> tuple[object | None, str | None]:
    """``(data, error)`` of a source for the checklist: only live data verifies an item.

    The panes keep showing a source's last good data when a poll fails or the source
    goes quiet; the checklist must not tick (or fail) an item on it. A failed last poll,
    data older than 3 intervals, or no poll yet make the source's items UNKNOWN, with
    the reason, instead of "not configured" or a verdict on old data.
    """
    freshness = status.freshness(now)
    if freshness is Freshness.ERROR:
        return None, status.error or "the last poll failed"
    if freshness is Freshness.WAITING:
        return None, "waiting for the first poll"
    if freshness is Freshness.STALE:
        assert status.updated_at is not None
        age = format_duration(now - status.updated_at)
        return None, f"no fresh data (last good poll {age} ago)"
    return status.data, None


class ReportsScreen(Screen[None]):
    """The report for the last 30 days (``[`` / ``]`` switch 7 d / 30 d / 90 d)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("left_square_bracket", "period(-1)", "Shorter", key_display="["),
        Binding("right_square_bracket", "period(1)", "Longer", key_display="]"),
    ]
    PERIODS = (7, 30, 90)

    def __init__(self) -> None:
        super().__init__(id="reports-screen")
        self.period = 1

    def compose(self) -> Any:
        """The report text (tables and bar charts)."""
        with VerticalScroll(id="reports-body"):
            yield Static("", id="reports-text")
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Build the report."""
        await self.reload()

    async def reload(self) -> None:
        """Recompute from the store."""
        from opsconsole.core.report_render import render_report_md
        from opsconsole.reporting import make_report

        app: Any = self.app
        days = self.PERIODS[self.period]
        if app.store is None or not hasattr(app.store, "rollups_since"):
            self.query_one("#reports-text", Static).update("Reports need the history database.")
            return
        with noted(app, "Building the report", once=True) as outcome:
            report = await make_report(
                app.store, app.config, since=timedelta(days=days), now=app.clock()
            )
        if outcome.failed:
            assert outcome.error is not None
            reason = f"The report could not be built: {one_line(outcome.error)}"
            self.query_one("#reports-text", Static).update(Content(reason))
            return
        text = render_report_md(report, app.config.tz)
        self.query_one("#reports-text", Static).update(Content(text))

    async def action_period(self, step: int) -> None:
        """7 d ↔ 30 d ↔ 90 d."""
        self.period = max(0, min(len(self.PERIODS) - 1, self.period + step))
        await self.reload()


class ShiftActions(App[None]):
    """Checklist (c), handover (h), reports (g), and opening the checklist at shift start."""

    config: Any
    clock: Any
    store: Any
    engine: Any
    hub: Any

    async def gather_facts(self, *, with_sla: bool = True) -> Facts:
        """What the console knows now, for the checklist."""
        from opsconsole.facts import gather_facts

        sources: dict[str, tuple[object | None, str | None]] = {}
        now = self.clock()
        if self.hub is not None:
            for name, poller in self.hub.pollers.items():
                sources[name] = live_source(poller.status, now)
        intake = getattr(self, "mail_poller", None)
        if intake is not None and intake.error:  # mail is not coming in: no "none waiting"
            sources["tickets"] = (None, f"mail intake failed: {intake.error}")
        return await gather_facts(
            now=self.clock(),
            config=self.config,
            engine=self.engine,
            sources=sources,
            store=self.store,
            with_sla=with_sla,
        )

    def action_checklist(self) -> None:
        """Open the checklist (c)."""
        from opsconsole.screens.checklist import ChecklistScreen

        open_screen(self, ChecklistScreen, ChecklistScreen)

    def action_reports(self) -> None:
        """Open the reports (g)."""
        open_screen(self, ReportsScreen, ReportsScreen)

    async def maybe_open_checklist(self) -> None:
        """At the first launch of a shift, open the checklist by itself."""
        if not self.config.checklists.auto_open or self.store is None:
            return
        if not hasattr(self.store, "first_run_since"):
            return
        from opsconsole.core.shift import shift_start

        start = shift_start(self.clock(), self.config.shift.starts, self.config.tz)
        with noted(self, "Reading checklist runs", once=True) as outcome:
            first = await self.store.first_run_since(start)
        if not outcome.failed and first is None:
            self.action_checklist()

    async def action_handover(self) -> None:
        """Write the shift handover (h): edit it, then it is saved and copied."""
        from opsconsole.reporting import handover_path, make_handover

        alerts, alerts_error = None, None
        if self.hub is not None and "alerts" in self.hub.pollers:
            # Only live data: a failed, stale or pending poll is "not checked", not "none".
            data, alerts_error = live_source(self.hub.pollers["alerts"].status, self.clock())
            alerts = data if isinstance(data, AlertsSnapshot) else None
        probes = (
            [(s.name, s.state, s.result.reason if s.result else "") for s in self.engine.statuses()]
            if self.engine is not None
            else []
        )
        with noted(self, "Handover could not be drafted") as outcome:
            text = await make_handover(
                store=self.store,
                config=self.config,
                now=self.clock(),
                probes=probes,
                alerts=alerts,
                alerts_error=alerts_error,
            )
        if outcome.failed:
            return
        from opsconsole.screens.ticket_dialogs import EditorScreen

        editor = EditorScreen(
            "Shift handover (Slack-ready Markdown)",
            drafts={"handover": ("", text)},
            with_subject=False,
            submit_label="save and copy",
        )

        async def done(result: ComposeResultData | None) -> None:
            if result is None:
                return
            path = handover_path(self.clock(), data_dir() / "handovers")

            def write() -> None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(result.body, encoding="utf-8")

            self.copy_to_clipboard(result.body)
            with noted(self, "Handover NOT saved (copied; your text is kept)") as saved:
                await asyncio.to_thread(write)
            if saved.failed:
                self.push_screen(editor.reopened(result), done)
                return
            self.notify(
                f"Handover saved to {path} and copied to the clipboard", timeout=10, markup=False
            )

        self.push_screen(editor, done)
