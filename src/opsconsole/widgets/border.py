"""Border subtitles that repaint only when their text changes.

Textual repaints the whole widget on every ``border_subtitle`` assignment, even of the same
text. The panes set their subtitle on every update (a health flush, a poll), so a table
whose rows had not changed was redrawn in full every second.
"""

from __future__ import annotations

from textual.widget import Widget

__all__ = ["set_border_subtitle"]

_LAST = "_opsconsole_border_subtitle"


def set_border_subtitle(widget: Widget, text: str) -> None:
    """Set ``widget.border_subtitle`` to ``text`` unless that is what it already shows."""
    if getattr(widget, _LAST, None) != text:
        setattr(widget, _LAST, text)
        widget.border_subtitle = text
