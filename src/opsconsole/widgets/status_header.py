"""The header: service name, overall state, polling state and the operator's clock."""

from __future__ import annotations

from datetime import tzinfo

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from opsconsole.core.clock import Clock
from opsconsole.core.models import ProbeState
from opsconsole.core.text import sanitize_terminal

OVERALL_STYLE = {
    ProbeState.UP: ("ALL UP", "bold $success"),
    ProbeState.DEGRADED: ("DEGRADED", "bold $warning"),
    ProbeState.DOWN: ("DOWN", "bold $error"),
    ProbeState.UNKNOWN: ("WAITING", "dim"),
}


class StatusHeader(Static):
    """One-line header; redraws each second for the clock."""

    overall: reactive[ProbeState] = reactive(ProbeState.UNKNOWN)
    """Worst probe state."""
    paused: reactive[bool] = reactive(False)
    """Whether polling is paused."""
    note: reactive[str] = reactive("")
    """A short warning (e.g. the store failed); empty when all is well."""

    def __init__(self, *, service: str, timezone: tzinfo, clock: Clock) -> None:
        super().__init__(id="status-header")
        self.service = sanitize_terminal(service, single_line=True, limit=60)
        self.timezone = timezone
        self.clock = clock

    def on_mount(self) -> None:
        """Tick the clock."""
        self.set_interval(1.0, self.refresh)

    def render(self) -> Content:
        """Build the header from parts; untrusted text never becomes markup."""
        label, style = OVERALL_STYLE[self.overall]
        now = self.clock().astimezone(self.timezone)
        parts: list[Content | tuple[str, str] | str] = [
            ("opsconsole", "bold"),
            "  ",
            (self.service, "bold $accent"),
            "  ",
            (f" {label} ", f"{style} reverse"),
        ]
        if self.paused:
            parts += ["  ", (" PAUSED ", "bold $warning reverse")]
        if self.note:
            parts += ["  ", (sanitize_terminal(self.note, single_line=True, limit=80), "$error")]
        parts += ["  ", (now.strftime("%Y-%m-%d %H:%M:%S %Z"), "")]
        return Content.assemble(*parts)
