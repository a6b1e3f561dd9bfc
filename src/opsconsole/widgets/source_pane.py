"""Base class of the source panes: freshness in the border, an error line, a body."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from opsconsole.core.clock import Clock
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import Freshness, SourceStatus
from opsconsole.core.text import sanitize_terminal
from opsconsole.messages import SourceUpdated
from opsconsole.widgets.border import set_border_subtitle
from opsconsole.widgets.static_update import update_static

log = logging.getLogger(__name__)


class SourcePane(Vertical):
    """A pane fed by one source.

    The border subtitle says when the data was last updated, turns STALE after three
    missed intervals, and ERROR (with the reason on the first line) when the last poll
    failed; the last good data stays on screen, dimmed, until the source recovers.
    """

    source_name = ""
    title = ""

    def __init__(self, *, clock: Clock, timezone: tzinfo, id: str | None = None) -> None:
        super().__init__(id=id or f"{self.source_name}-pane", classes="source-pane -waiting")
        self.clock = clock
        self.timezone = timezone
        self.status: SourceStatus | None = None
        self._shown: object | None = None
        self._show_error: str | None = None

    def compose(self) -> ComposeResult:
        """The error line, then the subclass's body."""
        yield Static("", classes="pane-error", markup=False)
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        """Widgets of the body (subclasses)."""
        yield from ()

    def on_mount(self) -> None:
        """Title, and a timer that notices staleness even when no poll arrives."""
        self.border_title = self.title
        set_border_subtitle(self, "waiting for the first poll…")
        self.set_interval(1.0, self._refresh_freshness)

    @on(SourceUpdated)
    def _updated(self, message: SourceUpdated) -> None:
        self.apply(message.status)

    def apply(self, status: SourceStatus) -> None:
        """Show ``status``; redraw the body only when the data changed."""
        self.status = status
        if status.data is not None and status.data is not self._shown:
            self._shown = status.data
            try:
                self.show(status.data)
            except Exception as exc:  # data a pane cannot draw must not end the console
                log.exception("the %s pane could not show its data", self.source_name)
                self._show_error = f"could not display this data ({type(exc).__name__})"
            else:
                self._show_error = None
        error = self.query_one(".pane-error", Static)
        reason = status.error or self._show_error
        if reason:
            update_static(
                error, Content("⚠ " + sanitize_terminal(reason, single_line=True, limit=200))
            )
        else:
            update_static(error, "")
        self._refresh_freshness()

    def show(self, data: object) -> None:
        """Render fresh data (subclasses)."""

    def _refresh_freshness(self) -> None:
        status = self.status
        if status is None:
            return
        now = self.clock()
        freshness = status.freshness(now)
        for state in Freshness:
            self.set_class(state is freshness, f"-{state.value}")
        set_border_subtitle(self, self._subtitle(status, freshness, now))

    def _subtitle(self, status: SourceStatus, freshness: Freshness, now: datetime) -> str:
        if status.updated_at is None:
            return "ERROR · no data yet" if freshness is Freshness.ERROR else "waiting…"
        at = status.updated_at.astimezone(self.timezone).strftime("%H:%M:%S")
        if freshness is Freshness.OK:
            return f"updated {at}"
        age = format_duration(now - status.updated_at)
        if freshness is Freshness.STALE:
            return f"STALE · last update {at} ({age} ago)"
        return f"ERROR · last good {at} ({age} ago)"
