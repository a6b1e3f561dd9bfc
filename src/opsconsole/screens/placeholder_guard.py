"""A second ctrl+s before a text with a guide placeholder left in it is sent.

At 3 a.m. it is easy to send ``Hi [Customer Name]`` or ``Next Steps: [Next steps]``. The
first ctrl+s names what is still unfilled; a second ctrl+s on the same text sends it as is.
Editing the text and pressing ctrl+s checks it again.
"""

from __future__ import annotations

from opsconsole.core.placeholders import unfilled_placeholders

__all__ = ["PlaceholderGuard", "placeholder_warning"]

_SHOWN = 3


def placeholder_warning(left: list[str], send: str = "ctrl+s") -> str:
    """``Still to fill in: [A], [B] and 2 more — ctrl+s again sends it as is``."""
    shown = ", ".join(left[:_SHOWN])
    if len(left) > _SHOWN:
        shown += f" and {len(left) - _SHOWN} more"
    return f"Still to fill in: {shown} — {send} again sends it as is"


class PlaceholderGuard:
    """Held by an editor screen; ask :meth:`check` before sending."""

    def __init__(self) -> None:
        self._confirmed: tuple[str, str] | None = None  # (text, key) already warned about

    def check(self, text: str, send: str = "ctrl+s") -> str | None:
        """None to send now (nothing unfilled, or this exact text was already warned about
        for this same key: ctrl+s then ctrl+o still warns); else the one-line warning to
        show instead of sending."""
        left = unfilled_placeholders(text)
        if not left or (text, send) == self._confirmed:
            return None
        self._confirmed = (text, send)
        return placeholder_warning(left, send)
