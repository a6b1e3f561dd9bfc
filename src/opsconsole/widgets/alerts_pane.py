"""The alerts pane: firing alerts now, and what fired since the shift started."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Static

from opsconsole.core.durations import short_age
from opsconsole.core.sources import AlertsSnapshot
from opsconsole.core.text import sanitize_terminal
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.static_update import update_static

SEVERITY_STYLE = {"critical": "bold red", "page": "bold red", "warning": "yellow", "info": "cyan"}


class AlertsPane(SourcePane):
    """Alertmanager's firing alerts (silenced/inhibited marked) plus the shift's history."""

    source_name = "alerts"
    title = "Alerts"

    def compose_body(self) -> ComposeResult:
        """Firing table, then the history line."""
        table: FastTable[Text] = FastTable(id="alerts-table", cursor_type="row")
        yield table
        yield Static("", id="alerts-history", markup=False)

    def on_mount(self) -> None:
        """Columns."""
        super().on_mount()
        table = self.query_one("#alerts-table", DataTable)
        for label, key, width in (
            ("Severity", "severity", 9),
            ("Alert", "name", 24),
            ("Age", "age", 4),
            ("State", "state", 10),
            ("Summary", "summary", None),
        ):
            table.add_column(Text(label), key=key, width=width)

    def show(self, data: object) -> None:
        """Render an :class:`AlertsSnapshot`."""
        assert isinstance(data, AlertsSnapshot)
        now = self.clock()
        table = self.query_one("#alerts-table", FastTable)
        rows: list[tuple[Text, ...]] = []
        for alert in data.firing:
            state = "silenced" if alert.silenced else "inhibited" if alert.inhibited else "firing"
            muted = alert.silenced or alert.inhibited
            rows.append(
                (
                    Text(
                        sanitize_terminal(alert.severity, single_line=True, limit=9),
                        style="dim" if muted else SEVERITY_STYLE.get(alert.severity.lower(), ""),
                    ),
                    Text(sanitize_terminal(alert.name, single_line=True, limit=60)),
                    Text(short_age(alert.starts_at, now)),
                    Text(state, style="dim" if muted else "bold"),
                    Text(sanitize_terminal(alert.summary, single_line=True, limit=200)),
                )
            )
        if not data.firing:
            rows.append((Text("none", style="green"), Text("no alerts firing"), *[Text("")] * 3))
        table.replace_rows(rows)
        history = self.query_one("#alerts-history", Static)
        if data.history_error:
            update_static(
                history,
                Content.assemble(
                    ("Since shift start: ", "bold"),
                    (sanitize_terminal(data.history_error, single_line=True, limit=120), "$error"),
                ),
            )
        elif data.fired_since_shift is None:
            update_static(history, Content("Since shift start: needs prometheus (ALERTS history)"))
        else:
            names = sorted({a.name for a in data.fired_since_shift})
            text = ", ".join(sanitize_terminal(n, single_line=True, limit=40) for n in names)
            update_static(
                history,
                Content.assemble(
                    ("Fired since shift start: ", "bold"),
                    (f"{len(names)} ", "bold $warning" if names else "bold $success"),
                    (text or "none", ""),
                ),
            )
