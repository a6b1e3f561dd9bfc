"""``Static.update`` only when the content changes.

``Static.update`` always asks for a layout refresh: the whole screen is laid out again,
every scrolling widget re-checks its size and scrollbars, and the next frame redraws far
more than the one line that changed. The source panes re-set their error line and summary
lines on every poll, mostly to the same text; with five panes that was a layout pass on
several frames a second.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

__all__ = ["update_static"]

_LAST = "_opsconsole_static_content"


def _key(content: Content | str) -> Any:
    if isinstance(content, Content):  # Content's own == compares the text only
        return (content.plain, tuple(content.spans))
    return content


def update_static(static: Static, content: Content | str) -> None:
    """``static.update(content)`` unless it already shows exactly that (text and styles)."""
    key = _key(content)
    if getattr(static, _LAST, None) != key:
        setattr(static, _LAST, key)
        static.update(content)
