"""Make untrusted text safe to show in a terminal.

Ticket subjects, Sentry titles, alert labels and HTTP bodies can carry escape
sequences (OSC 52 clipboard writes, CSI cursor moves, 8-bit C1 controls), bidi
overrides, invisible format characters (zero-width spaces, Unicode tag characters),
line/paragraph separators and lone surrogates (from JSON ``"\\ud800"`` escapes or
``surrogateescape``d bytes; they cannot be encoded as UTF-8, so writing one to the
terminal or to SQLite raises). ``sanitize_terminal`` replaces every such character with
a visible escape so nothing but printable text reaches the screen. Markup is handled
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


_LINE_BREAKS = {"\u2028", "\u2029"}  # Zl/Zp: str.splitlines() and some renderers break here
_JOINERS = {"\u200c", "\u200d"}  # ZWNJ/ZWJ: needed inside emoji sequences and some scripts


def _unsafe(text: str, index: int) -> bool:
    """Whether ``text[index]`` must be escaped (``\\n``/``\\t`` are decided by the caller)."""
    ch = text[index]
    if ch in _BIDI or ch in _LINE_BREAKS:
        return True
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):  # C0, DEL, C1; lone surrogates
        return True
    if category != "Cf":
        return False
    # A joiner is kept only between two non-ASCII letters, marks or symbols (an emoji
    # ZWJ sequence, Persian or Indic text); anywhere else it only hides text.
    if ch in _JOINERS and 0 < index < len(text) - 1:
        return not (_joinable(text[index - 1]) and _joinable(text[index + 1]))
    return True  # zero-width space, word joiner, BOM, soft hyphen, tag characters, ...


def _joinable(ch: str) -> bool:
    return not ch.isascii() and unicodedata.category(ch)[0] in "LMS"


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation: ESC -> ^[
    if code == 0x7F:
        return "^?"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def sanitize_terminal(text: str, *, single_line: bool = False, limit: int | None = None) -> str:
    """Return ``text`` with control, bidi, invisible format characters, line
    separators and lone surrogates made visible (``^[``, ``\\u202e``).

    The result never contains a C0 control but ``\\n``/``\\t`` (none at all with
    ``single_line``), DEL, a C1 control, a bidi control, U+2028/U+2029, a lone surrogate
    or a format (``Cf``) character other than a joiner inside an emoji or non-Latin word.

    Args:
        text: untrusted input.
        single_line: also escape newlines and tabs (for table cells and titles).
        limit: truncate to this many characters (an ellipsis marks the cut); at most
            ``limit`` characters are returned.
    """
    if text.isascii() and text.isprintable():  # the common case: nothing to escape
        result = text
    else:
        out: list[str] = []
        for index, ch in enumerate(text):
            if ch in _KEEP:
                out.append(" " if single_line else ch)
            elif _unsafe(text, index):
                out.append(_escape(ch))
            else:
                out.append(ch)
        result = "".join(out)
    if limit is not None and len(result) > limit:
        result = result[: limit - 1] + "…" if limit > 0 else ""
    return result
