"""The Health pane: one row per probe, worst first."""

from __future__ import annotations

from datetime import timedelta, tzinfo

from rich.text import Text
from textual import on
from textual.binding import Binding

from opsconsole.core.durations import format_duration
from opsconsole.core.models import ProbeState
from opsconsole.core.probe_state import SEVERITY_ORDER
from opsconsole.core.text import sanitize_terminal
from opsconsole.engine import ProbeStatus
from opsconsole.messages import ProbeUpdated
from opsconsole.widgets.border import set_border_subtitle
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.sparkline import sparkline

STATE_STYLE = {
    ProbeState.DOWN: ("● DOWN", "bold red"),
    ProbeState.DEGRADED: ("◐ DEGRADED", "bold yellow"),
    ProbeState.UNKNOWN: ("○ UNKNOWN", "dim"),
    ProbeState.UP: ("● UP", "green"),
}
COLUMNS = ("state", "probe", "latency", "checked", "uptime", "detail", "trend")
LABELS = ("State", "Probe", "Latency", "Checked", "24h", "Detail", "Latency trend")
WIDTHS = {"state": 10, "latency": 7, "checked": 8, "uptime": 7, "trend": 20}
_ORDER = {label: state for state, (label, _style) in STATE_STYLE.items()}


class HealthPane(FastTable[Text]):
    """Probe health table.

    Updates arrive as :class:`ProbeUpdated` messages; they are buffered and applied at
    most once a second, changing only the cells that changed (a poll of 500 probes is
    not 500 repaints).
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(
        self,
        *,
        timezone: tzinfo,
        uptime_target: float,
        flush_every: float = 1.0,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.timezone = timezone
        self.uptime_target = uptime_target
        self.flush_every = flush_every
        self._pending: dict[str, ProbeStatus] = {}
        self._cells: dict[str, tuple[Text, ...]] = {}

    def on_mount(self) -> None:
        """Create the columns and the flush timer."""
        for key, label in zip(COLUMNS, LABELS, strict=True):
            self.add_column(label, key=key, width=WIDTHS.get(key))
        self.border_title = "Health"
        self.set_interval(self.flush_every, self.flush)

    @on(ProbeUpdated)
    def _queue(self, message: ProbeUpdated) -> None:
        self._pending[message.status.name] = message.status

    def show(self, statuses: list[ProbeStatus]) -> None:
        """Apply ``statuses`` now (used for the first frame)."""
        for status in statuses:
            self._pending[status.name] = status
        self.flush()

    def flush(self) -> None:
        """Apply buffered updates: update changed cells, add new rows, re-sort once."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        reorder = False
        for name, status in pending.items():
            cells = self._render_row(status)
            old = self._cells.get(name)
            if old is None:
                self.add_row(*cells, key=name)
                reorder = True
            else:
                for key, before, after in zip(COLUMNS, old, cells, strict=True):
                    if before != after:
                        self.update_cell(name, key, after, update_width=key not in WIDTHS)
                        reorder = reorder or key == "state"
            self._cells[name] = cells
        if reorder:
            self.sort("state", "probe", key=_sort_key)
        set_border_subtitle(self, self._summary())

    def _summary(self) -> str:
        counts = dict.fromkeys(STATE_STYLE, 0)
        for cells in self._cells.values():
            counts[_ORDER[cells[0].plain]] += 1
        return "  ".join(f"{counts[s]} {s.value}" for s in STATE_STYLE if counts[s])

    def _render_row(self, status: ProbeStatus) -> tuple[Text, ...]:
        label, style = STATE_STYLE[status.state]
        result = status.result
        latency = Text("—", style="dim")
        checked = Text("never", style="dim")
        detail = Text(sanitize_terminal(status.target, single_line=True, limit=60), style="dim")
        if result is not None:
            if result.latency_ms is not None:
                latency = Text(format_duration_ms(result.latency_ms))
            checked = Text(result.timestamp.astimezone(self.timezone).strftime("%H:%M:%S"))
            if not result.ok:
                reason = sanitize_terminal(result.reason, single_line=True, limit=120)
                detail = Text(reason, style="yellow" if result.degraded else "red")
        uptime = Text("—", style="dim")
        if status.uptime is not None and status.uptime.day is not None:
            pct = status.uptime.day
            uptime = Text(f"{pct:.2f}%", style="green" if pct >= self.uptime_target else "red")
        return (
            Text(label, style=style),
            Text(sanitize_terminal(status.name, single_line=True, limit=40)),
            latency,
            checked,
            uptime,
            detail,
            Text(sparkline(status.latencies), style="cyan"),
        )


def format_duration_ms(ms: float) -> str:
    """Latency for a cell: ``87ms``, ``1.53s``, ``2m05s``."""
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    return format_duration(timedelta(milliseconds=ms))


def _sort_key(cells: tuple[Text, Text]) -> tuple[int, str]:
    state, probe = cells
    return (SEVERITY_ORDER[_ORDER[state.plain]], probe.plain.lower())
