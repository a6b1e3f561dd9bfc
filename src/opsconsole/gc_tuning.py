"""The cyclic garbage collector, tuned for a UI that runs for a whole shift.

See README.md ("Garbage collection") and BENCHMARKS.md for the measurements behind each
choice:

* Start-up objects (modules, config, widgets; ≈90k) live as long as the app, so once the
  first frame is up they are frozen out of the full collections' scans.
* CPython's own full collections are switched off (``GC_OLD_THRESHOLD``): they came at
  random moments, cost 20–170 ms as the heap grew, and landed on keypresses. The app runs
  one itself every ``GC_FULL_EVERY`` seconds (:meth:`GcTuningMixin.collect_garbage`); while
  the operator is typing (a key within ``KEY_IDLE`` seconds) it waits for the end of the
  next key's pause (below), right after that key's frame, where the next key is least
  likely to be waiting.
* The young generation collects every ``GC_YOUNG_THRESHOLD`` net allocations: a larger
  threshold (5,000 was tried) makes each middle collection scan ten times as many
  survivors, 10–70 ms instead of 1–7 ms.
* No automatic collection runs between a keypress and its repaint. Handling a key and
  drawing its frame allocate a lot, so that is exactly when the young threshold is crossed
  and, one time in ten, a 10–20 ms middle collection started in the middle of the key's
  handling. The collector is paused when a key arrives and resumed ``KEY_GC_HOLD`` seconds
  later (a key's repaint takes 3–45 ms; keys pressed meanwhile do not extend the pause);
  the allocations made meanwhile are collected right after. (The key reaches the focused
  widget through two other message queues, so "after the next frame" cannot be told apart
  from a frame drawn before the key was handled: hence a fixed time.)

Everything is undone when the app unmounts. Textual is pinned (8.2.8): the key hook is
``App.on_event``, where the driver's key events arrive first.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[Any]
else:
    _AppBase = object

GC_YOUNG_THRESHOLD = 1000  # net allocations between young collections (CPython: 700)
GC_OLD_THRESHOLD = 1_000_000  # middle collections between automatic full ones: in effect never
GC_FULL_EVERY = 30.0  # seconds between the app's own full collections
KEY_GC_HOLD = 0.15  # seconds a keypress keeps the collector paused
KEY_IDLE = 1.0  # seconds without a key before a due full collection runs at once
log = logging.getLogger(__name__)


class GcTuningMixin(_AppBase):
    """Mixed into the console's App: freeze, thresholds, timed full collections, key hold."""

    _heap_frozen = False
    _gc_held = False
    _full_due = False
    _last_key = float("-inf")
    _gc_threshold: tuple[int, int, int] = (700, 10, 10)

    def _freeze_startup_heap(self) -> None:
        """After the first frame: free start-up garbage, freeze the rest, tune, restart."""
        if not self._heap_frozen:
            if not gc.isenabled():  # start-up ran with collections paused (opsconsole.__main__)
                gc.collect()  # its garbage goes now, not into the frozen heap
            gc.freeze()
            self._gc_threshold = gc.get_threshold()
            _young, middle, _old = self._gc_threshold
            gc.set_threshold(GC_YOUNG_THRESHOLD, middle, GC_OLD_THRESHOLD)
            self._heap_frozen = True
            gc.enable()
            self.set_interval(GC_FULL_EVERY, self.collect_garbage)

    def collect_garbage(self) -> None:
        """A full collection, on a timer.

        CPython starts a full collection only when a quarter as many objects as survived
        the last one have been promoted since. With the startup heap frozen and fewer
        promotions, that took so long that closed screens (widgets hold reference cycles)
        piled up: +49 MB RSS over the 30-minute soak. With the heap kept small this way, a
        full collection takes ~10–30 ms.

        While keys are coming in, it is put off until the current key's pause ends.
        """
        if self._gc_held or time.monotonic() - self._last_key < KEY_IDLE:
            self._full_due = True
            return
        self._collect_all()

    def _collect_all(self) -> None:
        self._full_due = False
        started = time.perf_counter()
        freed = gc.collect()
        log.debug(
            "gc: %d unreachable objects in %.1f ms", freed, (time.perf_counter() - started) * 1e3
        )

    async def on_event(self, event: events.Event) -> None:
        """Pause the collector while a keypress is handled and drawn (see the module)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._last_key = time.monotonic()
            self._hold_gc()
        await super().on_event(event)

    def _hold_gc(self) -> None:
        # Only the app's own tuned collector: not before the first frame (start-up pauses
        # it itself) and never one that someone else switched off.
        if self._gc_held or not self._heap_frozen or not gc.isenabled():
            return
        gc.disable()
        self._gc_held = True
        self.set_timer(KEY_GC_HOLD, self._release_gc)

    def _release_gc(self) -> None:
        if self._gc_held:
            self._gc_held = False
            gc.enable()
            if self._full_due:  # put off while keys came in: now, after the key's frame
                self._collect_all()

    def _thaw_heap(self) -> None:
        """Undo everything (at unmount): what was frozen can be collected again."""
        self._release_gc()
        if self._heap_frozen:
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)
            self._heap_frozen = False
