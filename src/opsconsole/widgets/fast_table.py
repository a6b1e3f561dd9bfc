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

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellType, ColumnKey, RowKey

_NO_FAST_PATH = frozenset(chr(c) for c in range(32)) | {"\x7f"}


def _cell_signature(cell: object) -> object:
    """What a cell shows: Text's own == ignores its style, so compare that too."""
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple(cell.spans), cell.justify, cell.overflow)
    return cell


def _one_line_width(cell: object) -> int | None:
    """The cell width DataTable would measure for one-line plain ``Text``, else None."""
    if type(cell) is not Text:
        return None
    plain = cell.plain
    if not _NO_FAST_PATH.isdisjoint(plain):
        return None  # newlines, tabs, control characters: DataTable measures those
    return cell_len(plain)


class FastTable(DataTable[CellType]):
    """DataTable with per-row cache invalidation and a fast one-line cell renderer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._dirty_rows: set[RowKey] = set()  # before DataTable's watchers can run
        self._rows_signature: tuple[object, ...] | None = None
        self._batch_depth = 0
        self._batched_rows: list[RowKey] = []
        self._frame_flags: tuple[bool, bool, bool, bool] | None = None
        self._meta_styles: dict[tuple[int, int], Style] = {}
        self._row_styles: dict[tuple[int, Style], Style] = {}
        self._parsed_styles: dict[str, Style] = {}
        super().__init__(*args, **kwargs)
        # Smaller than DataTable's (10,000 cells, 1,000 rows and lines): a screenful of
        # rows and their cursor variants fits, and the cyclic GC has fewer objects to scan.
        self._cell_render_cache = LRUCache(3000)
        self._row_render_cache = LRUCache(400)
        self._row_renderable_cache = LRUCache(400)
        self._line_cache = LRUCache(400)

    # -- whole-table refills ------------------------------------------------------------

    def replace_rows(
        self, rows: Sequence[Sequence[CellType]], keys: Sequence[str | None] | None = None
    ) -> bool:
        """Show exactly ``rows`` (with ``keys``): clear and refill the table, unless it
        already shows these cells (text, style and spans) with these keys, in which case
        nothing is touched: no repaint, no layout pass, the cursor stays. Returns whether
        the table changed. Panes that re-read a whole list on every poll use this."""
        row_keys = list(keys) if keys is not None else [None] * len(rows)
        signature = (
            tuple(tuple(_cell_signature(cell) for cell in row) for row in rows),
            tuple(row_keys),
        )
        if signature == self._rows_signature:
            return False
        self.clear()
        for row, key in zip(rows, row_keys, strict=True):
            self.add_row(*row, key=key)
        self._rows_signature = signature
        return True

    def clear(self, columns: bool = False) -> Self:
        self._rows_signature = None
        return super().clear(columns)

    def add_row(self, *cells: CellType, **kwargs: Any) -> RowKey:
        self._rows_signature = None
        return super().add_row(*cells, **kwargs)

    def remove_row(self, row_key: RowKey | str) -> None:
        self._rows_signature = None
        super().remove_row(row_key)

    def sort(self, *columns: ColumnKey | str, **kwargs: Any) -> Self:
        self._rows_signature = None
        return super().sort(*columns, **kwargs)

    # -- per-row invalidation -----------------------------------------------------------

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        """Set one cell; only its row is re-rendered and repainted.

        With ``update_width`` the whole table is re-measured and re-rendered (DataTable's
        path) only if the column's width would change: the new text is wider than the
        column, or the old one was the widest and the new one is narrower.
        """
        self._rows_signature = None
        if isinstance(row_key, str):
            row_key = RowKey(row_key)
        if isinstance(column_key, str):
            column_key = ColumnKey(column_key)
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
            )
        if update_width and self._width_may_change(row_key, column_key, value):
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        self._data[row_key][column_key] = value
        if row_key in self._dirty_rows:
            return  # its repaint is already scheduled
        self._dirty_rows.add(row_key)
        if self._batch_depth:
            self._batched_rows.append(row_key)
        else:
            self._repaint_rows([row_key])

    @contextmanager
    def batch_repaint(self) -> Iterator[None]:
        """Collect the repaints of ``update_cell`` calls and schedule them once, at exit."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth and self._batched_rows:
                rows, self._batched_rows = self._batched_rows, []
                self._repaint_rows(rows)

    def _simple_rows(self) -> bool:
        """One line per row and no fixed rows: a row's line is its index below the header."""
        return not self.fixed_rows and self._total_row_height == len(self.rows)

    def _row_line(self, row_key: RowKey) -> int | None:
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            return None
        return row_index + (self.header_height if self.show_header else 0)

    def _repaint_rows(self, row_keys: Iterable[RowKey]) -> None:
        """Schedule a repaint of the lines of the rows that are on screen.

        DataTable's ``refresh_row`` sums the heights of every row above (O(rows) per call:
        a health flush of 500 rows took 50 ms) and computes the window for each call. With
        one-line rows and no fixed rows a row's line is simply its index below the header;
        the window is computed once and neighbouring lines are repainted as one region.
        """
        if not self._simple_rows():
            self.refresh()  # taller or fixed rows: repaint the table
            return
        window = self.window_region
        lines = sorted(
            y
            for y in (self._row_line(key) for key in row_keys)
            if y is not None and window.y <= y < window.bottom
        )
        if not lines:
            return
        # Only the scrollable content: a region reaching into the scrollbar gutter would make
        # the compositor redraw the scrollbar too (0.3-0.8 ms per frame, for nothing).
        width = self.scrollable_content_region.width + self.scroll_offset.x
        offset = -self.scroll_offset
        start = previous = lines[0]
        for y in [*lines[1:], None]:
            if y is not None and y <= previous + 1:
                previous = y
                continue
            self.refresh(Region(0, start, width, previous - start + 1).translate(offset))
            if y is not None:
                start = previous = y

    def _width_may_change(self, row_key: RowKey, column_key: ColumnKey, value: object) -> bool:
        """Whether putting ``value`` in the cell could change its column's width."""
        column = self.columns[column_key]
        if not column.auto_width:
            return False  # a fixed width never follows the content
        old = self._data[row_key].get(column_key)
        new_width, old_width = _one_line_width(value), _one_line_width(old)
        if new_width is None or old_width is None:
            return True  # not plain one-line text: let DataTable measure it
        if new_width > column.content_width:
            return True
        return new_width < old_width == column.content_width

    def _forget_dirty_rows(self) -> None:
        """Drop the cached renders of the rows changed since the last frame."""
        dirty, self._dirty_rows = self._dirty_rows, set()
        dirty = {key for key in dirty if key in self._row_locations}
        if not dirty:
            return
        caches: tuple[LRUCache[Any, Any], ...] = (self._cell_render_cache, self._row_render_cache)
        for cache in caches:  # LRUCache has keys() but no __iter__
            for key in [k for k in cache.keys() if k[0] in dirty]:  # noqa: SIM118
                cache.discard(key)
        indexes = {self._row_locations.get(key) for key in dirty}
        renderables = self._row_renderable_cache
        for pair in [k for k in renderables.keys() if k[1] in indexes]:  # noqa: SIM118
            renderables.discard(pair)
        lines = self._line_cache  # keyed by y (header included, scroll applied)
        if self._simple_rows():
            ys = {self._row_line(key) for key in dirty}
            stale = [k for k in lines.keys() if k[0] in ys]  # noqa: SIM118
        else:
            stale = [k for k in lines.keys() if self._row_at_line(k[0]) in dirty]  # noqa: SIM118
        for key in stale:
            lines.discard(key)

    def _row_at_line(self, y: int) -> RowKey | None:
        try:
            return self._get_offsets(y)[0]
        except LookupError:
            return None

    def render_lines(self, crop: Any) -> Any:
        """Invalidate the changed rows, then render as DataTable does."""
        if self._dirty_rows:
            self._forget_dirty_rows()
        self._frame_flags = None  # cursor settings and CSS may have changed since the last frame
        self._row_styles.clear()
        return super().render_lines(crop)

    def _clear_caches(self) -> None:
        self._dirty_rows.clear()
        self._frame_flags = None
        self._row_styles.clear()
        self._parsed_styles.clear()  # the theme may have changed
        super()._clear_caches()

    # -- column widths ------------------------------------------------------------------

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Column widths for new rows: one-line Text cells are measured with ``cell_len``.

        DataTable measures every cell through Rich (which asks the OS for the terminal size
        each time): 10–18 ms for a page of 100 tickets. Rows with a label or an automatic
        height still go through DataTable's own path.
        """
        slow: list[RowKey] = []
        columns = self.ordered_columns
        for row_key in new_rows:
            row_index = self._row_locations.get(row_key)
            row = self.rows.get(row_key)
            if row_index is None or row is None:
                continue
            if row.label is not None or row.auto_height:
                slow.append(row_key)
                continue
            for column, cell in zip(
                columns, self._get_row_renderables(row_index).cells, strict=False
            ):
                if isinstance(cell, Text) and _NO_FAST_PATH.isdisjoint(cell.plain):
                    width = cell_len(cell.plain)
                else:
                    width = measure(self.app.console, cell, 1)
                if width > column.content_width:
                    column.content_width = width
        if slow:
            super()._update_dimensions(slow)  # also sets the virtual size
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )

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
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        if row_index < 0 or column_index < 0 or fixed:  # headers, labels, fixed cells
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key: Any = (
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

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """DataTable's row assembly for a row cursor without labels or fixed columns,
        with the per-row style lookups (each a walk of the CSS) done once per frame."""
        row_index = self._row_locations.get(row_key)
        if (
            row_index is None
            or row_index < self.fixed_rows
            or self.cursor_type != "row"
            or self.fixed_columns
            or (self._labelled_row_exists and self.show_row_labels)
        ):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        flags = self._flags()
        cache_key: Any = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            "row",
            flags[0],
            flags[1],
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        row_style = self._row_style(row_index, base_style)
        cursor = cursor_location.row == row_index
        hover = hover_location.row == row_index
        scrollable_row: list[list[Segment]] = []
        table_width = self._row_label_column_width
        for column_index, column in enumerate(self.ordered_columns):
            width = column.get_render_width(self)
            table_width += width
            lines = self._render_cell(row_index, column_index, row_style, width, cursor, hover)
            scrollable_row.append(lines[line_no])
        extend_style, _ = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover_location.row == (row_index or 0),
            cursor,
            flags[0],
            flags[1],
            False,
            False,
        )
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        remaining = max(0, self.size.width - table_width)
        scrollable_row.append([Segment(" " * remaining, extend_style)])
        pair: tuple[SegmentLines, SegmentLines] = ([], scrollable_row)
        self._row_render_cache[cache_key] = pair
        return pair

    def _flags(self) -> tuple[bool, bool, bool, bool]:
        """Cursor settings, read once per frame (each is a reactive lookup)."""
        flags = self._frame_flags
        if flags is None:
            flags = self._frame_flags = (
                self.show_cursor,
                self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
        return flags

    def _row_style(self, row_index: int, base_style: Style) -> Style:
        """DataTable's ``_get_row_style``, cached per frame (zebra parity, base style)."""
        key = (row_index % 2 if self.zebra_stripes else -1, base_style)
        style = self._row_styles.get(key)
        if style is None:
            style = self._row_styles[key] = self._get_row_style(row_index, base_style)
        return style

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
        cell = self._get_row_renderables(row_index).cells[column_index]
        if type(cell) is not Text or cell.justify not in (None, "default", "left"):
            return None  # str cells are markup to DataTable: its own path renders them
        plain = cell.plain
        pad = self.cell_padding
        inner = width - 2 * pad
        length = cell_len(plain)
        if inner < 1 or length > inner or not _NO_FAST_PATH.isdisjoint(plain):
            return None  # cropping, control characters: Rich's path
        flags = self._flags()
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, *flags
        )
        meta = self._meta_styles.get((row_index, column_index))
        if meta is None:
            meta = Style.from_meta({"row": row_index, "column": column_index})
            self._meta_styles[(row_index, column_index)] = meta
        pre = base_style + meta + component_style
        if cell._spans:
            body = list(cell.render(self.app.console))
        else:  # Text.render ignores the base style of a span-less text
            body = [Segment(plain, self._text_style(cell.style) if cell.style else None)]
        if length < inner:
            body.append(Segment(" " * (inner - length)))
        if pad:
            body = [Segment(" " * pad), *body, Segment(" " * pad)]
        line = []
        for text, style, _control in body:
            style = pre + style
            if post_style:
                style = style + post_style if style else post_style
            line.append(Segment(text, style))
        return [line]

    def _text_style(self, style: str | Style) -> Style:
        if isinstance(style, Style):
            return style
        parsed = self._parsed_styles.get(style)
        if parsed is None:
            parsed = self.app.console.get_style(style, default=Style.null())
            self._parsed_styles[style] = parsed
        return parsed
