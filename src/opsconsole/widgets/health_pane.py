"""The Health pane: one row per probe, worst first."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from itertools import islice

from rich.text import Text
from textual import on
from textual.binding import Binding

from opsconsole.core.durations import format_duration
from opsconsole.core.models import ProbeState
from opsconsole.core.probe_state import SEVERITY_ORDER
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.uptime import uptime_label
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


Cell = tuple[str, str]  # (text, style): compared before any Text is built
FLUSH_CHUNK = 100  # rows applied per loop turn; the rest follow CHUNK_PAUSE later
CHUNK_PAUSE = 0.01  # seconds: room for a keypress and a frame between two chunks
NO_PROBES = "no probes configured · add a probes: list to checks.yaml"


class HealthPane(FastTable[Text]):
    """Probe health table.

    Updates arrive as :class:`ProbeUpdated` messages; they are buffered and applied at
    most once a second, changing only the cells that changed (a poll of 500 probes is
    not 500 repaints). A timer flush applies at most ``FLUSH_CHUNK`` rows at a time and
    the rest a moment later, so a keypress never waits behind a 500-row flush.
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
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._clean: dict[str, str] = {}  # names and targets, sanitized once
        self._chunk_scheduled = False

    def on_mount(self) -> None:
        """Create the columns and the flush timer."""
        # Text labels: a str label goes through rich's markup parser, whose first use
        # imports rich's emoji table (~5 ms before the first frame). Every pane does this.
        for key, label in zip(COLUMNS, LABELS, strict=True):
            self.add_column(Text(label), key=key, width=WIDTHS.get(key))
        self.border_title = "Health"
        self.set_interval(self.flush_every, self._flush_chunk)

    @on(ProbeUpdated)
    def _queue(self, message: ProbeUpdated) -> None:
        self._pending[message.status.name] = message.status

    def show(self, statuses: list[ProbeStatus]) -> None:
        """Apply ``statuses`` now (used for the first frame)."""
        if not statuses and not self._cells:
            set_border_subtitle(self, NO_PROBES)
            return
        for status in statuses:
            self._pending[status.name] = status
        self.flush()

    def _flush_chunk(self) -> None:
        """The timer's flush: ``FLUSH_CHUNK`` rows now, the next chunk a moment later."""
        self._chunk_scheduled = False
        self.flush(FLUSH_CHUNK)
        if self._pending and not self._chunk_scheduled:
            self._chunk_scheduled = True
            self.set_timer(CHUNK_PAUSE, self._flush_chunk)

    def flush(self, limit: int | None = None) -> None:
        """Apply buffered updates (all, or the oldest ``limit``): update changed cells,
        add new rows, re-sort once."""
        if not self._pending:
            return
        if limit is None or len(self._pending) <= limit:
            pending, self._pending = self._pending, {}
        else:
            names = list(islice(self._pending, limit))
            pending = {name: self._pending.pop(name) for name in names}
        reorder = False
        with self.batch_repaint():
            for name, status in pending.items():
                cells = self._row_cells(status)
                old = self._cells.get(name)
                if old is None:
                    self.add_row(*(Text(text, style=style) for text, style in cells), key=name)
                    reorder = True
                else:
                    for key, before, after in zip(COLUMNS, old, cells, strict=True):
                        if before != after:
                            text, style = after
                            self.update_cell(
                                name, key, Text(text, style=style), update_width=key not in WIDTHS
                            )
                            reorder = reorder or key == "state"
                self._cells[name] = cells
        if reorder:
            self.sort("state", "probe", key=_sort_key)
        set_border_subtitle(self, self._summary())

    def _summary(self) -> str:
        counts = dict.fromkeys(STATE_STYLE, 0)
        for cells in self._cells.values():
            counts[_ORDER[cells[0][0]]] += 1
        return "  ".join(f"{counts[s]} {s.value}" for s in STATE_STYLE if counts[s])

    def _sanitized(self, text: str, limit: int) -> str:
        clean = self._clean.get(text)
        if clean is None:
            if len(self._clean) > 4 * len(self._cells) + 100:
                self._clean.clear()  # renamed probes: keep the cache to the current ones
            clean = self._clean[text] = sanitize_terminal(text, single_line=True, limit=limit)
        return clean

    def _row_cells(self, status: ProbeStatus) -> tuple[Cell, ...]:
        """Each cell's text and style; Text objects are built only for cells that changed."""
        state = STATE_STYLE[status.state]
        result = status.result
        latency: Cell = ("—", "dim")
        checked: Cell = ("never", "dim")
        detail: Cell = (self._sanitized(status.target, 60), "dim")
        if result is not None:
            if result.latency_ms is not None:
                latency = (format_duration_ms(result.latency_ms), "")
            checked = (result.timestamp.astimezone(self.timezone).strftime("%H:%M:%S"), "")
            if not result.ok:
                reason = sanitize_terminal(result.reason, single_line=True, limit=120)
                detail = (reason, "yellow" if result.degraded else "red")
        uptime: Cell = ("—", "dim")
        if status.uptime is not None and status.uptime.day is not None:
            pct = status.uptime.day
            label = uptime_label(pct, self.uptime_target, places=2)  # 99.496: not "99.50%"
            uptime = (label, "green" if pct >= self.uptime_target else "red")
        return (
            state,
            (self._sanitized(status.name, 40), ""),
            latency,
            checked,
            uptime,
            detail,
            (sparkline(status.latencies), "cyan"),
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
