"""The footer of key hints, recomposed only when the keys it shows change.

Textual's :class:`~textual.widgets.Footer` rebuilds all of its key widgets after every
bindings signal: a focus move, a screen push, a ``refresh_bindings``. Three such signals
arrive while the dashboard mounts, and one with most keypresses that move focus, though
the keys shown rarely change. :class:`KeyFooter` coalesces the signals of one refresh
into one check, and recomposes only if the shown keys (binding, enabled, tooltip) differ
from what it last drew.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

__all__ = ["KeyFooter"]


class KeyFooter(Footer):
    """A :class:`~textual.widgets.Footer` that skips rebuilds which would draw the same keys."""

    _recompose_pending = False
    _shown: tuple[Hashable, ...] | None = None

    def shown_keys(self) -> tuple[Hashable, ...]:
        """What the footer would show now: each shown binding, whether enabled, its tooltip."""
        return tuple(
            (binding, enabled, tooltip)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self.shown_keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._recompose_pending:
            self._recompose_pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._recompose_pending = False
        if self.is_attached and self.shown_keys() != self._shown:
            await self.recompose()
