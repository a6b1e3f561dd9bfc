"""Open a top-level screen (tickets, checklist, reports, incident, help) exactly once.

The app's keys work on every screen, so ``c`` can be pressed while the checklist is open
under the help overlay, or ``t`` on a ticket opened from the Tickets screen. Pushing a
second checklist, tickets, reports or ticket screen raises Textual's ``DuplicateIds`` (they
have fixed ids) and the app exits; two incident screens in the stack would be confusing.
:func:`open_screen` goes back to the screen already open instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import ModalScreen, Screen

__all__ = ["open_screen"]


def open_screen(app: App[Any], kind: type[Screen[Any]], make: Callable[[], Screen[Any]]) -> None:
    """Show the screen of ``kind``: push a new one, or go back to the one already open.

    Going back pops the screens above it (views: a ticket, the help overlay, a link), but
    never a dialog being filled in (an editor, a picker, the incident prompts): then the
    operator is told to close it first, and nothing they typed is lost.
    """
    stack = app.screen_stack
    existing = next((s for s in reversed(stack) if isinstance(s, kind)), None)
    if existing is None:
        app.push_screen(make())
        return
    above = stack[stack.index(existing) + 1 :]
    if not above:
        return  # already showing
    from opsconsole.screens.help import HelpScreen
    from opsconsole.screens.link_detail import LinkDetailScreen

    if any(
        isinstance(s, ModalScreen) and not isinstance(s, HelpScreen | LinkDetailScreen)
        for s in above
    ):
        app.notify("Close the open dialog first (Esc)", severity="warning")
        return
    for _ in above:
        app.pop_screen()
