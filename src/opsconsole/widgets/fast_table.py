"""A DataTable that re-renders only what changed.

Textual's DataTable (pinned at 8.2.8) keys every render cache on one ``_update_count``,
so a single ``update_cell`` throws away the rendering of every row, and each cell is then
rendered through Rich's ``Padding`` and ``render_lines`` (about 0.1 ms a cell). With 500
probes a health flush re-rendered the whole visible table on the UI loop (33–41 ms, see
BENCHMARKS.md). This subclass changes two things and keeps the rest of the DataTable API:

* ``update_cell`` invalidates only the rows it touched; the caches of the other rows
  stay valid (row-level invalidation happens once, just before the next render).
* a one-line ``Text`` cell that fits its column is rendered by a short path (text segments,
  cropped and padded, styles layered as DataTable layers them) instead of Rich's generic
  renderer. It yields the same segments as DataTable; ``tests/ui/test_fast_table.py``
  checks that cell by cell. Anything else (multi-line, tabs, justified or ellipsised
  text, text that must be cropped, markup strings, other renderables, headers, labels)
  falls back to DataTable's own path.

The private attributes used here belong to the pinned Textual version; the equivalence
test fails if a Textual upgrade changes them.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellType, ColumnKey, RowKey

_NO_FAST_PATH = frozenset(chr(c) for c in range(32)) | {"\x7f"}


class FastTable(DataTable[CellType]):
    """DataTable with per-row cache invalidation and a fast one-line cell renderer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._dirty_rows: set[RowKey] = set()  # before DataTable's watchers can run
        super().__init__(*args, **kwargs)

    # -- per-row invalidation -----------------------------------------------------------

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        """Set one cell; only its row is re-rendered (unless the column width may change)."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        if isinstance(row_key, str):
            row_key = RowKey(row_key)
        if isinstance(column_key, str):
            column_key = ColumnKey(column_key)
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
            )
        self._data[row_key][column_key] = value
        if not self._dirty_rows:
            self.refresh()  # one refresh per batch of updates
        self._dirty_rows.add(row_key)

    def _forget_dirty_rows(self) -> None:
        """Drop the cached renders of the rows changed since the last frame."""
        dirty, self._dirty_rows = self._dirty_rows, set()
        dirty = {key for key in dirty if key in self._row_locations}
        if not dirty:
            return
        for cache in (self._cell_render_cache, self._row_render_cache):
            for key in [k for k in cache.keys() if k[0] in dirty]:  # noqa: SIM118 (LRUCache has no __iter__)
                cache.discard(key)
        indexes = {self._row_locations.get(key) for key in dirty}
        for key in [k for k in self._row_renderable_cache.keys() if k[1] in indexes]:  # noqa: SIM118 (LRUCache has no __iter__)
            self._row_renderable_cache.discard(key)
        self._line_cache.clear()  # keyed by y; rebuilt from the row caches, which is cheap

    def render_lines(self, crop: Any) -> Any:
        """Invalidate the changed rows, then render as DataTable does."""
        if self._dirty_rows:
            self._forget_dirty_rows()
        return super().render_lines(crop)

    def _clear_caches(self) -> None:
        self._dirty_rows.clear()
        super()._clear_caches()

    # -- fast one-line cells --------------------------------------------------------------

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if column_index < self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        lines = self._fast_lines(row_key, row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._cell_render_cache[cache_key] = lines
        return lines

    def _fast_lines(
        self,
        row_key: RowKey,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> SegmentLines | None:
        row = self.rows.get(row_key)
        if row is None or row.height != 1:
            return None
        cell = self._row_renderables_cell(row_index, column_index)
        if isinstance(cell, str):
            return None  # DataTable parses str cells as markup; keep its path for those
        if not isinstance(cell, Text) or cell.justify not in (None, "default", "left"):
            return None
        pad = self.cell_padding
        inner = width - 2 * pad
        plain = cell.plain
        if inner < 1 or cell_len(plain) > inner:
            return None  # cropping (fold, ellipsis, zero-width marks at the edge): Rich's path
        if not _NO_FAST_PATH.isdisjoint(plain):
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pre_style += component_style
        console = self.app.console
        if cell.spans:
            segments = list(cell.render(console))
        elif cell.style:  # Text.render ignores the base style of a span-less text
            segments = [Segment(plain, console.get_style(cell.style, default=Style.null()))]
        else:
            segments = [Segment(plain)]
        body = Segment.adjust_line_length(segments, inner)
        line = [Segment(" " * pad), *body, Segment(" " * pad)] if pad else body
        styled = Segment.apply_style(line, style=pre_style, post_style=post_style or None)
        return [list(styled)]

    def _row_renderables_cell(self, row_index: int, column_index: int) -> object:
        return self._get_row_renderables(row_index).cells[column_index]
