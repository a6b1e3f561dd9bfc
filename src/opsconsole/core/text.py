"""Make untrusted text safe to show in a terminal.

Ticket subjects, Sentry titles, alert labels and HTTP bodies can carry escape
sequences (OSC 52 clipboard writes, CSI cursor moves, 8-bit C1 controls) and bidi
overrides. ``sanitize_terminal`` replaces every such character with a visible
escape so nothing but printable text reaches the screen. Markup is handled
separately: the UI renders untrusted strings as ``Text``/``Content`` objects, never
as markup.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t"}
_BIDI = {
    "\u061c",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
}


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation: ESC -> ^[
    if code == 0x7F:
        return "^?"
    return f"\\u{code:04x}"


def sanitize_terminal(text: str, *, single_line: bool = False, limit: int | None = None) -> str:
    """Return ``text`` with control and bidi characters made visible.

    Args:
        text: untrusted input.
        single_line: also escape newlines and tabs (for table cells and titles).
        limit: truncate to this many characters (an ellipsis marks the cut).
    """
    out: list[str] = []
    for ch in text:
        if ch in _KEEP and not single_line:
            out.append(ch)
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            out.append(" " if single_line and ch in _KEEP else _escape(ch))
        else:
            out.append(ch)
    result = "".join(out)
    if limit is not None and len(result) > limit:
        result = result[: max(limit - 1, 0)] + "…"
    return result
