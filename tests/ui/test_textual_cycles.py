"""textual_cycles: Textual's caches leave no reference cycles, and behave the same."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from opsconsole.widgets import textual_cycles


def _strip() -> Strip:
    return Strip([Segment("hello ", Style(bold=True)), Segment("world", Style(color="red"))])


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Only reference counting frees objects inside the test."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _freed_by_refcount(use: object) -> bool:
    """Whether the strip is gone once dropped, with nothing left for the cyclic GC."""
    strip = _strip()
    use(strip)  # type: ignore[operator]
    del strip
    return gc.collect() == 0  # the number of unreachable objects it found


CASES = {
    "divide at its own length": lambda s: s.divide([s.cell_length]),
    "divide past its length": lambda s: s.divide([s.cell_length, s.cell_length + 5]),
    "crop_extend to itself": lambda s: s.crop_extend(0, s.cell_length, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_stock_textual_makes_these_strips_cycles(case: str, no_gc: None) -> None:
    """Why the module exists (and a flag for a Textual upgrade that fixes it upstream)."""
    textual_cycles.uninstall()
    try:
        assert not _freed_by_refcount(CASES[case])
    finally:
        textual_cycles.install()


@pytest.mark.parametrize("case", sorted(CASES))
def test_installed_the_strip_is_freed_by_reference_counting(case: str, no_gc: None) -> None:
    textual_cycles.install()
    assert _freed_by_refcount(CASES[case])


@pytest.mark.parametrize(
    ("cuts", "start", "end"),
    [([11], 0, 11), ([3, 11], 0, 5), ([2, 6, 11], 2, 11), ([11, 20], -3, 11), ([4], 0, 15)],
)
def test_installed_output_is_the_same_as_textual(cuts: list[int], start: int, end: int) -> None:
    style = Style(bgcolor="blue")
    textual_cycles.uninstall()
    try:
        expected_divide = [list(s) for s in _strip().divide(cuts)]
        expected_crop = list(_strip().crop_extend(start, end, style))
    finally:
        textual_cycles.install()
    assert [list(s) for s in _strip().divide(cuts)] == expected_divide
    assert list(_strip().crop_extend(start, end, style)) == expected_crop


def _cleared_lru_leaves_cycles() -> bool:
    cache: LRUCache[int, Strip] = LRUCache(100)
    for n in range(50):
        cache.set(n, _strip())
    cache.clear()
    return gc.collect() > 0


def test_stock_lru_clear_leaves_its_ring_for_the_gc(no_gc: None) -> None:
    textual_cycles.uninstall()
    try:
        assert _cleared_lru_leaves_cycles()
    finally:
        textual_cycles.install()


def test_installed_lru_clear_frees_its_entries_by_reference_counting(no_gc: None) -> None:
    textual_cycles.install()
    assert not _cleared_lru_leaves_cycles()


def test_a_cleared_lru_cache_works_as_before() -> None:
    textual_cycles.install()
    cache: LRUCache[str, int] = LRUCache(3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.set(key, value)
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None
    for key, value in (("a", 1), ("b", 2), ("c", 3), ("d", 4)):
        cache.set(key, value)
    assert cache.get("a") is None  # the oldest was evicted
    assert [cache.get(k) for k in "bcd"] == [2, 3, 4]
    cache.discard("c")
    cache.set("e", 5)
    assert sorted(cache.keys()) == ["b", "d", "e"]
