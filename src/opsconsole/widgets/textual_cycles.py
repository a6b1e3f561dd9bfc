"""Stop Textual's caches from leaving reference cycles behind for the cyclic GC.

Anything in a reference cycle outlives its last use until a full collection, which on a
long-running UI is both a memory leak between collections and a long pause (a full
collection that finds 55,000 objects takes 100-180 ms). Textual 8.2.8 makes such cycles
on every frame in two places; :func:`install` removes both, without changing any output.

**``LRUCache.clear()``.** The cache is a ring of ``[prev, next, key, value]`` lists;
``clear()`` drops the dict and the head but leaves the ring linked, so every entry (and
the strips it holds) becomes cyclic garbage. Tables clear their line cache whenever a
row changes. The patched ``clear()`` unlinks the entries first.

**``Strip``.** Two ``Strip`` methods of the pinned Textual cache a result that *is* the
strip:

* ``divide(cuts)`` with a single cut at the strip's own length returns ``[self]`` and
  stores that list in ``self._divide_cache``. The compositor divides every line it draws
  by the widgets' edges, so every line of a widget as wide as the screen does this.
* ``crop_extend(0, len(self), style)`` returns ``self`` and stores it in
  ``self._crop_extend_cache``.

Either way the strip becomes a reference cycle (strip → cache → dict → strip), with its
seven caches and its segments. The patched methods return the strip itself without
caching it; every other case goes through the original method and its cache.

Measured with 500 probes a second on the dashboard: ~3,000 strips (55,000 objects, the
``Segment``/``Strip``/``FIFOCache`` growth ``soak.py --diagnose`` showed) were left for
every 30 s full collection. ``tests/ui/test_textual_cycles.py`` checks that each case is
a cycle in stock Textual, is not one once installed, and gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

__all__ = ["install"]

_original_divide = Strip.divide
_original_crop_extend = Strip.crop_extend
_original_lru_clear = LRUCache.clear


def _lru_clear(self: LRUCache[object, object]) -> None:
    for link in self._cache.values():
        link.clear()  # [prev, next, key, value] → []
    _original_lru_clear(self)


def _divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cell_length = self.cell_length
    cuts = [cut for cut in cuts if cut <= cell_length]
    if cuts == [cell_length]:
        return [self]
    return _original_divide(self, cuts)


def _crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    if start <= 0 and end == self.cell_length:
        return self
    return _original_crop_extend(self, start, end, style)


def install() -> None:
    """Patch ``LRUCache.clear``, ``Strip.divide`` and ``Strip.crop_extend`` (idempotent)."""
    LRUCache.clear = _lru_clear  # type: ignore[method-assign,assignment]
    Strip.divide = _divide  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore Textual's own methods (for tests)."""
    LRUCache.clear = _original_lru_clear  # type: ignore[method-assign]
    Strip.divide = _original_divide  # type: ignore[method-assign]
    Strip.crop_extend = _original_crop_extend  # type: ignore[method-assign]
