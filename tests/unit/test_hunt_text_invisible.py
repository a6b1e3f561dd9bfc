"""sanitize_terminal against lone surrogates, line separators and invisible format characters.

Before the fix these passed through unchanged: a lone surrogate (a JSON ``"\\ud800"``
escape in a Sentry title or an alert label) made the terminal write (and a SQLite write)
raise ``UnicodeEncodeError``; U+2028/U+2029 split a "single line" cell for
``str.splitlines``; zero-width spaces, BOMs, soft hyphens and Unicode tag characters hid
text ("adm\\u200bin") or smuggled invisible content.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.text import sanitize_terminal

JOINERS = {"\u200c", "\u200d"}


def _leftovers(out: str) -> list[str]:
    """Characters that must never reach the screen (joiners are checked separately)."""
    bad = []
    for ch in out:
        category = unicodedata.category(ch)
        if ch in "\n\t":
            continue
        if category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and ch not in JOINERS):
            bad.append(ch)
    return bad


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\udcff", "\ud83d"])
def test_lone_surrogates_are_escaped_and_output_encodes(surrogate: str) -> None:
    out = sanitize_terminal(f"title {surrogate} end")
    out.encode("utf-8")  # raised UnicodeEncodeError before the fix
    assert out == f"title \\u{ord(surrogate):04x} end"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_do_not_break_a_single_line(separator: str) -> None:
    out = sanitize_terminal(f"one{separator}two", single_line=True)
    assert out.splitlines() == [out]
    assert out == f"one\\u{ord(separator):04x}two"


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",  # zero-width space
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark / zero-width no-break space
        "\u00ad",  # soft hyphen
        "\u180e",  # Mongolian vowel separator
        "\u206a",  # inhibit symmetric swapping (deprecated format)
        "\ufff9",  # interlinear annotation anchor
        "\U000e0041",  # tag LATIN CAPITAL LETTER A (ASCII smuggling)
        "\U000e007f",  # cancel tag
    ],
)
def test_invisible_format_characters_are_made_visible(invisible: str) -> None:
    out = sanitize_terminal(f"adm{invisible}in")
    assert invisible not in out
    assert out.startswith("adm\\") and out.endswith("in")


def test_tag_characters_beyond_the_bmp_use_the_long_escape() -> None:
    assert sanitize_terminal("\U000e0041") == "\\U000e0041"


def test_joiner_between_ascii_letters_is_escaped() -> None:
    assert sanitize_terminal("adm\u200din") == "adm\\u200din"
    assert sanitize_terminal("\u200dstart") == "\\u200dstart"
    assert sanitize_terminal("end\u200c") == "end\\u200c"


@pytest.mark.parametrize(
    "legit",
    [
        "👩\u200d💻",  # emoji ZWJ sequence
        "👨\u200d👩\u200d👧",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with ZWNJ
        "क्\u200dष",  # Devanagari with ZWJ
        "café naïve ｗｉｄｅ e\u0301",
    ],
)
def test_legitimate_text_is_unchanged(legit: str) -> None:
    assert sanitize_terminal(legit) == legit


@pytest.mark.parametrize("limit", [0, 1, 2, 5])
def test_limit_is_never_exceeded(limit: int) -> None:
    out = sanitize_terminal("abcdefghij", limit=limit)
    assert len(out) <= limit


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(), max_size=40), st.booleans())
def test_no_unsafe_character_survives_any_input(text: str, single_line: bool) -> None:
    out = sanitize_terminal(text, single_line=single_line)
    out.encode("utf-8")
    assert _leftovers(out) == []
    if single_line:
        assert "\n" not in out and "\t" not in out
        assert len(out.splitlines()) <= 1
    for index, ch in enumerate(out):  # a kept joiner sits between two non-ASCII characters
        if ch in JOINERS:
            assert 0 < index < len(out) - 1
            assert not out[index - 1].isascii() and not out[index + 1].isascii()
