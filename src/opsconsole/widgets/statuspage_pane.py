"""The status-page pane: overall indicator, broken components, incidents, maintenances."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from opsconsole.core.sources import StatusPageSnapshot
from opsconsole.core.text import sanitize_terminal
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.static_update import update_static

INDICATOR_STYLE = {
    "none": "bold $success",
    "minor": "bold $warning",
    "major": "bold $error",
    "critical": "bold $error reverse",
    "maintenance": "bold $accent",
}


def _t(text: str, limit: int = 120) -> str:
    return sanitize_terminal(text, single_line=True, limit=limit)


class StatusPagePane(SourcePane):
    """The public status page, as customers see it."""

    source_name = "statuspage"
    title = "Status page"
    can_focus = True

    def compose_body(self) -> ComposeResult:
        """One text block."""
        yield Static("", id="statuspage-body", markup=False)

    def show(self, data: object) -> None:
        """Render a :class:`StatusPageSnapshot`."""
        assert isinstance(data, StatusPageSnapshot)
        lines: list[Content] = [
            Content.assemble(
                (
                    f" {_t(data.indicator, 20).upper()} ",
                    INDICATOR_STYLE.get(data.indicator, "bold"),
                ),
                "  ",
                _t(data.description),
                ("  " + _t(data.page, 40), "dim"),
            )
        ]
        for component in data.components:
            lines.append(
                Content.assemble(
                    "  ● ", _t(component.name, 50), (f"  {_t(component.status, 40)}", "$warning")
                )
            )
        for incident in data.incidents:
            lines.append(
                Content.assemble(
                    ("  incident ", "bold $error"),
                    _t(incident.name, 80),
                    (f"  {_t(incident.status, 30)} · {_t(incident.impact, 30)}", "dim"),
                )
            )
            if incident.latest_update:
                lines.append(Content.assemble("    ", (_t(incident.latest_update, 110), "dim")))
        for maintenance in data.maintenances:
            lines.append(
                Content.assemble(
                    ("  maintenance ", "bold $accent"),
                    _t(maintenance.name, 80),
                    (f"  {_t(maintenance.status, 30)}", "dim"),
                )
            )
        if not (data.components or data.incidents or data.maintenances):
            lines.append(Content("  all components operational, no open incidents"))
        update_static(self.query_one("#statuspage-body", Static), Content("\n").join(lines))
