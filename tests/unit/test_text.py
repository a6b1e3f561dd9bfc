"""Untrusted text never carries a control sequence to the terminal."""

from __future__ import annotations

import unicodedata

import pytest

from opsconsole.core.text import sanitize_terminal

HOSTILE = [
    "\x1b]52;c;aGVsbG8=\x07",  # OSC 52 clipboard write
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 link
    "\x1b]0;pwned\x07",  # window title
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x9b31m8-bit CSI",
    "line1\roverwrite",
    "\u202egnp.exe",  # right-to-left override
    "\x1bP+q\x1b\\",  # DCS
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_characters_survive(text: str) -> None:
    out = sanitize_terminal(text, single_line=True)
    assert not any(unicodedata.category(c) == "Cc" for c in out)
    assert "\u202e" not in out


def test_escape_is_shown_visibly() -> None:
    assert sanitize_terminal("\x1b[2J") == "^[[2J"
    assert sanitize_terminal("a\x9bb") == "a\\u009bb"
    assert sanitize_terminal("x\u202ey") == "x\\u202ey"


def test_newlines_kept_unless_single_line() -> None:
    assert sanitize_terminal("a\nb\tc") == "a\nb\tc"
    assert sanitize_terminal("a\nb\tc", single_line=True) == "a b c"


def test_markup_is_left_alone_for_the_renderer() -> None:
    """Markup is not parsed here; the UI renders these strings as Text, never markup."""
    assert sanitize_terminal("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"


def test_limit_truncates_with_ellipsis() -> None:
    assert sanitize_terminal("abcdef", limit=4) == "abc…"
    assert sanitize_terminal("abc", limit=4) == "abc"
