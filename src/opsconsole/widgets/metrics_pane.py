"""The metrics pane: each query's value coloured by threshold and its last hour."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable

from opsconsole.core.sources import (
    CHART_ERROR_PREFIX,
    MetricReading,
    MetricsSnapshot,
    metric_number,
)
from opsconsole.core.text import sanitize_terminal
from opsconsole.screens.link_detail import LinkDetailScreen
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.sparkline import sparkline

LEVEL_STYLE = {"ok": "green", "warn": "bold yellow", "crit": "bold red", "unknown": "dim"}


def format_value(value: float | None, unit: str) -> str:
    """``812 ms``, ``0.42 %``, ``12.3 req/s``; ``—`` when there is no sample."""
    if value is None:
        return "—"
    text = metric_number(value)
    return f"{text} {unit}".strip()


class MetricsPane(SourcePane):
    """One row per configured query; Enter shows the Grafana link."""

    source_name = "metrics"
    title = "Metrics"

    def compose_body(self) -> ComposeResult:
        """The readings table."""
        table: FastTable[Text] = FastTable(id="metrics-table", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        """Columns."""
        super().on_mount()
        table = self.query_one("#metrics-table", DataTable)
        for label, key, width in (
            ("Metric", "name", None),
            ("Now", "value", 12),
            ("Warn / crit", "limits", 13),
            ("Last hour", "chart", 30),
        ):
            table.add_column(Text(label), key=key, width=width)
        self._readings: dict[str, MetricReading] = {}

    def show(self, data: object) -> None:
        """Render a :class:`MetricsSnapshot`."""
        assert isinstance(data, MetricsSnapshot)
        table = self.query_one("#metrics-table", FastTable)
        cursor = table.cursor_row
        self._readings = {}
        rows: list[tuple[Text, ...]] = []
        keys: list[str | None] = []
        for index, reading in enumerate(data.readings):
            # Positions, not names: two configured queries may share a name.
            self._readings[str(index)] = reading
            keys.append(str(index))
            style = LEVEL_STYLE.get(reading.level, "")
            error = sanitize_terminal(reading.error or "", single_line=True, limit=60)
            if reading.error and not _chart_only(reading):
                value = Text("error", style="bold red")
                chart = Text(error, "red")
            else:
                # A failed range query leaves the instant value good: show it.
                value = Text(format_value(reading.value, reading.unit), style=style)
                if reading.error:
                    chart = Text(error, "red")
                else:
                    chart = Text(sparkline([v for _, v in reading.series], width=30), style=style)
            rows.append(
                (
                    Text(sanitize_terminal(reading.name, single_line=True, limit=40)),
                    value,
                    Text(_limits(reading), style="dim"),
                    chart,
                )
            )
        changed = table.replace_rows(rows, keys)
        if changed and data.readings:
            table.move_cursor(row=min(cursor, len(data.readings) - 1))

    @on(DataTable.RowSelected, "#metrics-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        reading = self._readings.get(str(event.row_key.value))
        if reading is None:
            return
        values = [v for _, v in reading.series]
        fields = [
            ("Now", format_value(reading.value, reading.unit)),
            ("Level", reading.level),
            ("Warn / crit", _limits(reading)),
            ("Last hour", sparkline(values, width=60) or "no samples"),
            ("Hour min/max", f"{min(values):.4g} / {max(values):.4g}" if values else "—"),
        ]
        if reading.error:
            fields.append(("Error", reading.error))
        self.app.push_screen(LinkDetailScreen(reading.name, fields, reading.grafana_url))


def _chart_only(reading: MetricReading) -> bool:
    """True when only the chart's range query failed (the instant value is good)."""
    return (reading.error or "").startswith(CHART_ERROR_PREFIX)


def _limits(reading: MetricReading) -> str:
    warn = "—" if reading.warn is None else f"{reading.warn:g}"
    crit = "—" if reading.crit is None else f"{reading.crit:g}"
    return f"{warn} / {crit}"
