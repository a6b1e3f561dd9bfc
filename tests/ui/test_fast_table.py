"""FastTable renders exactly what DataTable renders, and re-renders only changed rows."""

from __future__ import annotations

import random
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from opsconsole.widgets.fast_table import FastTable

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz ABC 0123456789 .,:;-_/[]{}()<>=!?@#%&*+'\""
    "éüß ñ 你好世界 日本語 한국어 🙂🔥💥 ⚠︎ ● ◐ ○ ▁▂▃▄▅▆▇█ — … ́ ​"
)
STYLES = ("", "bold", "dim", "red", "bold white on red", "green", "italic cyan", "reverse")


def _corpus(seed: int, count: int) -> list[Text]:
    rng = random.Random(seed)
    cells = [
        Text(""),
        Text("x" * 40),
        Text("你" * 30),
        Text("a你" * 10, style="bold"),
        Text("[bold]not markup[/]"),
        Text("right", justify="right"),
        Text("long ellipsis text that will not fit", overflow="ellipsis"),
        Text("tab\there"),
        Text("two\nlines"),
    ]
    for _ in range(count):
        plain = "".join(rng.choice(ALPHABET) for _ in range(rng.choice((0, 3, 8, 12, 20, 45))))
        text = Text(plain, style=rng.choice(STYLES))
        for _ in range(rng.randint(0, 3)):
            if plain:
                start = rng.randrange(len(plain))
                text.stylize(rng.choice(STYLES[1:]), start, rng.randint(start, len(plain)))
        cells.append(text)
    return cells


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FastTable(id="t", cursor_type="row", zebra_stripes=True)


async def test_fast_cells_match_datatable_segment_for_segment() -> None:
    cells = _corpus(7, 400)
    widths = (1, 3, 5, 9, 13, 24, 40)
    async with TableApp().run_test(size=(160, 40)) as pilot:
        table = pilot.app.query_one(FastTable)
        for index, width in enumerate(widths):
            table.add_column(f"c{index}", key=f"c{index}", width=width)
        for row in range(0, len(cells), len(widths)):
            chunk = cells[row : row + len(widths)]
            chunk += [Text("")] * (len(widths) - len(chunk))
            table.add_row(*chunk, key=f"r{row}")
        await pilot.pause()
        compared = fast = expected_fast = 0
        styles = (
            table.rich_style,
            table.rich_style + table.get_component_rich_style("datatable--even-row"),
        )
        for row_index in range(table.row_count):
            for column_index, column in enumerate(table.ordered_columns):
                for cursor in (False, True):
                    base = styles[row_index % 2]
                    width = column.get_render_width(table)
                    table._clear_caches()
                    got = table._render_cell(row_index, column_index, base, width, cursor)
                    row_key = table._row_locations.get_key(row_index)
                    fast += (
                        table._fast_lines(
                            row_key, row_index, column_index, base, width, cursor, False
                        )
                        is not None
                    )
                    cell = table.get_row_at(row_index)[column_index]
                    expected_fast += (
                        cell_len(cell.plain) <= width - 2
                        and not set(cell.plain) & {"\n", "\t"}
                        and cell.justify in (None, "default", "left")
                    )
                    table._clear_caches()
                    want = DataTable._render_cell(
                        table, row_index, column_index, base, width, cursor
                    )
                    assert got == want, (row_index, column_index, cursor)
                    compared += 1
        assert compared == table.row_count * len(widths) * 2
        # Every cell that fits its column took the short path; the rest fell back to
        # DataTable's own path (and still matched).
        assert fast == expected_fast
        assert fast > compared // 3


async def test_fast_rows_match_datatable_rows_for_every_cursor_and_hover_position() -> None:
    cells = _corpus(11, 120)
    async with TableApp().run_test(size=(120, 30)) as pilot:
        table = pilot.app.query_one(FastTable)
        for index, width in enumerate((4, 9, 14, None)):
            table.add_column(f"c{index}", key=f"c{index}", width=width)
        for row in range(0, len(cells) - 4, 4):
            table.add_row(*cells[row : row + 4], key=f"r{row}")
        await pilot.pause()
        base = table.rich_style
        positions = [Coordinate(0, 0), Coordinate(3, 1), Coordinate(table.row_count - 1, 2)]
        compared = 0
        for row_index in range(table.row_count):
            row_key = table._row_locations.get_key(row_index)
            for cursor in positions:
                for hover in positions[:2]:
                    table._clear_caches()
                    got = table._render_line_in_row(row_key, 0, base, cursor, hover)
                    table._clear_caches()
                    want = DataTable._render_line_in_row(table, row_key, 0, base, cursor, hover)
                    assert got == want, (row_index, cursor, hover)
                    compared += 1
        assert compared == table.row_count * 6 > 100


async def test_update_cell_keeps_other_rows_cached_and_shows_the_new_value() -> None:
    async with TableApp().run_test(size=(80, 12)) as pilot:
        table = pilot.app.query_one(FastTable)
        table.add_column("name", key="name", width=10)
        table.add_column("value", key="value", width=10)
        for n in range(5):
            table.add_row(Text(f"row{n}"), Text(f"v{n}"), key=f"k{n}")
        await pilot.pause()
        table.refresh()
        await pilot.pause()
        cached_rows = {key[0].value for key in table._cell_render_cache.keys()}  # noqa: SIM118 (LRUCache has no __iter__)
        assert {"k0", "k1", "k2", "k3", "k4"} <= cached_rows

        table.update_cell("k2", "value", Text("changed"))
        table.update_cell("k3", "value", Text("also"))
        await pilot.pause()
        lines = ["".join(s.text for s in table.render_line(y)) for y in range(table.row_count + 1)]
        assert "changed" in lines[3] and "also" in lines[4]
        assert "v1" in lines[2] and "v4" in lines[5]
        # The untouched rows' cells were not re-rendered: their cache entries survived.
        survivors = {key[0].value for key in table._cell_render_cache.keys()}  # noqa: SIM118 (LRUCache has no __iter__)
        assert {"k0", "k1", "k4"} <= survivors
        assert table.get_cell("k2", "value") == Text("changed")


async def test_update_cell_on_a_missing_row_raises_like_datatable() -> None:
    from textual.widgets.data_table import CellDoesNotExist

    async with TableApp().run_test(size=(40, 8)) as pilot:
        table = pilot.app.query_one(FastTable)
        table.add_column("a", key="a")
        table.add_row(Text("x"), key="x")
        for row, column in (("nope", "a"), ("x", "nope")):
            try:
                table.update_cell(row, column, Text("y"))
            except CellDoesNotExist:
                continue
            raise AssertionError(f"no error for {row}/{column}")
        assert table.get_cell("x", "a") == Text("x")


class PairApp(App[None]):
    """A FastTable and a stock DataTable side by side, fed the same updates."""

    def compose(self) -> ComposeResult:
        yield FastTable(id="fast", cursor_type="row")
        yield DataTable(id="stock", cursor_type="row")


def _screen_text(table: DataTable[Text]) -> list[str]:
    return ["".join(s.text for s in table.render_line(y)) for y in range(table.size.height)]


async def test_update_with_width_matches_datatable_and_reflows_only_when_needed() -> None:
    """update_width=True: DataTable's column widths, but a full re-render only on change."""
    async with PairApp().run_test(size=(100, 30)) as pilot:
        tables: list[DataTable[Text]] = [
            pilot.app.query_one("#fast", DataTable),
            pilot.app.query_one("#stock", DataTable),
        ]
        for table in tables:
            table.styles.height = 10
            table.add_column("name", key="name")  # auto width
            table.add_column("detail", key="detail")  # auto width
            for n in range(6):
                table.add_row(Text(f"probe-{n}"), Text("ok " + "x" * n), key=f"p{n}")
        await pilot.pause()
        fast = tables[0]
        steps = [
            ("p1", Text("ok y")),  # same width as before, not the widest: no reflow
            ("p2", Text("ok")),  # narrower, not the widest: no reflow
            ("p3", Text("a much longer detail")),  # wider: the column grows
            ("p3", Text("short")),  # the widest shrinks: the column shrinks
            ("p4", Text("two\nlines")),  # not one line: DataTable measures it
            ("p0", Text("ok")),
        ]
        for row, value in steps:
            before = fast._update_count
            for table in tables:
                table.update_cell(row, "detail", value, update_width=True)
            await pilot.pause()
            await pilot.pause()
            assert [c.content_width for c in fast.ordered_columns] == [
                c.content_width for c in tables[1].ordered_columns
            ], row
            assert _screen_text(fast) == _screen_text(tables[1]), row
            reflowed = fast._update_count != before
            assert reflowed == (value.plain in ("a much longer detail", "short", "two\nlines"))


def record_refreshes(table: FastTable[Text]) -> list[tuple[object, ...]]:
    """Record the arguments of every ``table.refresh`` call (the regions it repaints)."""
    calls: list[tuple[object, ...]] = []
    original = table.refresh

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        return original(*args, **kwargs)

    table.refresh = spy  # type: ignore[method-assign]
    return calls


async def test_update_cell_repaints_only_its_row() -> None:
    async with TableApp().run_test(size=(80, 12)) as pilot:
        table = pilot.app.query_one(FastTable)
        table.add_column("name", key="name", width=10)
        for n in range(5):
            table.add_row(Text(f"row{n}"), key=f"k{n}")
        await pilot.pause()
        regions = record_refreshes(table)
        table.update_cell("k3", "name", Text("changed"))
        assert len(regions) == 1 and len(regions[0]) == 1  # one region, not the whole table
        region = regions[0][0]
        assert (region.y, region.height) == (4, 1)  # below the header, row 3
        await pilot.pause()
        assert "changed" in "".join(s.text for s in table.render_line(4))


async def sixty_rows_scrolled_by_20(pilot: Any) -> FastTable[Text]:
    """A one-column table of 60 rows (``k0``…``k59``), scrolled down by 20 lines."""
    table: FastTable[Text] = pilot.app.query_one(FastTable)
    table.add_column("name", key="name", width=10)
    for n in range(60):
        table.add_row(Text(f"row{n}"), key=f"k{n}")
    await pilot.pause()
    table.scroll_to(y=20, animate=False)
    await pilot.pause()
    return table


async def test_update_cell_repaint_follows_the_scroll_and_skips_rows_off_screen() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = await sixty_rows_scrolled_by_20(pilot)
        regions = record_refreshes(table)
        table.update_cell("k5", "name", Text("offscreen"))
        assert regions == []  # above the window: nothing to repaint now
        table.update_cell("k25", "name", Text("on screen"))
        table.update_cell("k25", "name", Text("again"))  # already scheduled
        assert len(regions) == 1
        (region,) = regions[0]
        assert (region.y, region.height) == (25 + 1 - 20, 1)  # header line, scrolled by 20
        await pilot.pause()
        line = "".join(s.text for s in table.render_line(region.y))
        assert "again" in line
        table.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert "offscreen" in "".join(s.text for s in table.render_line(6))


async def test_batched_updates_repaint_the_visible_rows_once_as_runs_of_lines() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = await sixty_rows_scrolled_by_20(pilot)
        regions = record_refreshes(table)
        with table.batch_repaint():
            for n in (2, 21, 22, 23, 27, 29, 28, 55):  # 2 and 55 are off screen
                table.update_cell(f"k{n}", "name", Text(f"new{n}"))
            assert regions == []  # nothing until the batch ends
        # Rows 21-23 and 27-29 (lines 22-24 and 28-30, scrolled by 20): two regions.
        spans = sorted((r.y, r.height) for (r,) in regions)
        assert spans == [(2, 3), (8, 3)]
        await pilot.pause()
        for n in (21, 22, 23, 27, 28, 29):
            assert f"new{n}" in "".join(s.text for s in table.render_line(n + 1 - 20))
        table.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert "new2" in "".join(s.text for s in table.render_line(3))


async def test_replace_rows_leaves_an_identical_table_alone() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(FastTable)
        table.add_column("name", key="name")
        table.add_column("state", key="state")
        rows = [(Text(f"alert {n}"), Text("firing", style="bold")) for n in range(5)]
        assert table.replace_rows(rows, [f"a{n}" for n in range(5)])
        table.move_cursor(row=3)
        await pilot.pause()
        regions = record_refreshes(table)
        same = [(Text(f"alert {n}"), Text("firing", style="bold")) for n in range(5)]
        assert not table.replace_rows(same, [f"a{n}" for n in range(5)])
        assert regions == [] and table.cursor_row == 3  # nothing redrawn, cursor kept
        # A style change alone is a change (Text's own == ignores the style).
        restyled = [(Text(f"alert {n}"), Text("firing", style="dim")) for n in range(5)]
        assert table.replace_rows(restyled, [f"a{n}" for n in range(5)])
        assert str(table.get_cell("a0", "state").style) == "dim"
        # Changed directly, the table is refilled next time even with the same rows.
        table.update_cell("a1", "name", Text("edited"))
        assert table.replace_rows(restyled, [f"a{n}" for n in range(5)])
        assert table.get_cell("a1", "name").plain == "alert 1"
        assert table.row_count == 5
