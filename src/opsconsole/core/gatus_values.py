"""Gatus's value rules, as its Go code applies them: integers as ``strconv.ParseInt(s, 0,
64)``, durations as ``time.ParseDuration`` (plus ``d`` and ``w``), and ``pat()`` globs as
``filepath.Match`` after Gatus strips ``/``. Used by :mod:`opsconsole.core.conditions`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = [
    "GO_FLOAT",
    "Glob",
    "compile_glob",
    "format_ms_as_duration",
    "go_parse_duration_ns",
    "go_parse_int",
    "to_number",
]

# strconv.ParseInt(s, 0, 64): optional sign, base prefix, "_" only between digits.
_GO_INT = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
    r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)"
)
GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# time.ParseDuration units, plus d and w as in the rest of checks.yaml.
_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


# --------------------------------------------------------------------------- numbers


def go_parse_int(text: str) -> int | None:
    """Mirror ``strconv.ParseInt(text, 0, 64)``; None where Go returns an error."""
    if not _GO_INT.fullmatch(text):
        return None
    negative = text[0] == "-"
    digits = text.lstrip("+-").replace("_", "")
    if len(digits) > 1 and digits[0] == "0":
        prefix = digits[1].lower()
        if prefix in "xob":
            value = int(digits[2:], {"x": 16, "o": 8, "b": 2}[prefix])
        else:
            value = int(digits[1:], 8)  # legacy octal: 017 == 15
    else:
        value = int(digits)
    value = -value if negative else value
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _go_parse_float_truncated(text: str) -> int | None:
    """Mirror ``int64(strconv.ParseFloat(text, 64))`` for finite decimal floats."""
    if not GO_FLOAT.fullmatch(text):
        return None
    number = float(text)
    return int(number) if math.isfinite(number) else None


def go_parse_duration_ns(text: str) -> int | None:
    """Mirror ``time.ParseDuration`` (plus ``d``/``w``); nanoseconds or None."""
    if not text:
        return None
    negative = text[0] == "-"
    rest = text[1:] if text[0] in "+-" else text
    if rest == "0":
        return 0
    if not rest:
        return None
    total = 0
    position = 0
    while position < len(rest):
        match = _DURATION_PART.match(rest, position)
        if match is None:  # pragma: no cover - the pattern always matches
            return None
        whole, fraction, unit = match.groups()
        if not whole and not fraction:
            return None
        scale = _NANOS.get(unit)
        if scale is None:
            return None
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        position = match.end()
    limit = -_INT64_MIN if negative else _INT64_MAX
    if total > limit:
        return None
    return -total if negative else total


def _truncate_div(value: int, divisor: int) -> int:
    """Integer division rounding toward zero, like Go."""
    quotient = abs(value) // divisor
    return -quotient if value < 0 else quotient


def to_number(text: str) -> int | None:
    """Resolve a value for an ordering operator like Gatus: duration (ms), int, float."""
    nanos = go_parse_duration_ns(text)
    if nanos is not None and nanos != 0:
        return _truncate_div(nanos, 1_000_000)
    integer = go_parse_int(text)
    if integer is not None:
        return integer
    truncated = _go_parse_float_truncated(text)
    if truncated is not None:
        return truncated
    return 0 if nanos == 0 else None  # "0s" is a valid (zero) duration


def format_ms_as_duration(milliseconds: int) -> str:
    """Render like Gatus's formatDuration: whole seconds, zero trailing units dropped."""
    seconds = _truncate_div(milliseconds, 1000)
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    hours, remainder = divmod(abs(seconds), 3600)
    minutes, secs = divmod(remainder, 60)
    parts: list[tuple[int, str]] = []
    if hours:
        parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    elif minutes:
        parts = [(minutes, "m"), (secs, "s")]
    else:
        parts = [(secs, "s")]
    while len(parts) > 1 and parts[-1][0] == 0:
        parts.pop()
    return sign + "".join(f"{value}{unit}" for value, unit in parts)


# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled ``pat()`` glob: chunks of fixed-width regexes separated by ``*``."""

    match_all: bool
    chunks: tuple[tuple[re.Pattern[str], int], ...]
    leading_star: bool
    trailing_star: bool

    def matches(self, value: str) -> bool:
        """Return whether ``value`` matches, like Gatus's ``pattern.Match``."""
        if self.match_all:
            return True
        value = value.replace("/", "")
        if not self.chunks:  # only stars, or the empty pattern
            return self.leading_star or value == ""
        if not self.leading_star and not self.trailing_star and len(self.chunks) == 1:
            return self.chunks[0][0].fullmatch(value) is not None
        position = 0
        chunks = list(self.chunks)
        if not self.leading_star:
            first, _ = chunks.pop(0)
            head = first.match(value)
            if head is None:
                return False
            position = head.end()
        last: tuple[re.Pattern[str], int] | None = None
        if not self.trailing_star and chunks:
            last = chunks.pop()
        for chunk, _ in chunks:
            found = chunk.search(value, position)
            if found is None:
                return False
            position = found.end()
        if last is None:
            return True
        regex, width = last
        start = len(value) - width
        return start >= position and regex.fullmatch(value, start) is not None


def _glob_escape(pattern: str, index: int) -> tuple[str, int] | None:
    """One (possibly backslash-escaped) character of a class, like Go's getEsc."""
    if index >= len(pattern) or pattern[index] in "-]":
        return None
    if pattern[index] == "\\":
        index += 1
        if index >= len(pattern):
            return None
    return pattern[index], index + 1


def _glob_class(pattern: str, index: int) -> tuple[str, int] | None:
    """Translate a ``[...]`` class starting after ``[``; None when malformed."""
    negated = index < len(pattern) and pattern[index] == "^"
    if negated:
        index += 1
    ranges: list[str] = []
    count = 0
    while True:
        if index < len(pattern) and pattern[index] == "]" and count > 0:
            index += 1
            break
        low = _glob_escape(pattern, index)
        if low is None:
            return None
        low_char, index = low
        high_char = low_char
        if index < len(pattern) and pattern[index] == "-":
            high = _glob_escape(pattern, index + 1)
            if high is None:
                return None
            high_char, index = high
        if low_char <= high_char:
            ranges.append(f"{re.escape(low_char)}-{re.escape(high_char)}")
        count += 1
    if not ranges:
        return ("." if negated else "(?!)"), index
    return "[" + ("^" if negated else "") + "".join(ranges) + "]", index


def compile_glob(pattern: str) -> Glob | None:
    """Compile a Go ``filepath.Match`` glob after Gatus strips ``/``; None if malformed."""
    if pattern == "*":
        return Glob(True, (), True, True)
    pattern = pattern.replace("/", "")
    chunks: list[tuple[re.Pattern[str], int]] = []
    current: list[str] = []
    index = 0
    last_was_star = False
    while index < len(pattern):
        char = pattern[index]
        last_was_star = char == "*"
        if char == "*":
            if current:
                chunks.append((re.compile("".join(current), re.DOTALL), len(current)))
                current = []
            index += 1
        elif char == "?":
            current.append(".")
            index += 1
        elif char == "\\":
            if index + 1 >= len(pattern):
                return None
            current.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "[":
            translated = _glob_class(pattern, index + 1)
            if translated is None:
                return None
            piece, index = translated
            current.append(piece)
        else:
            current.append(re.escape(char))
            index += 1
    if current:
        chunks.append((re.compile("".join(current), re.DOTALL), len(current)))
    return Glob(False, tuple(chunks), pattern.startswith("*"), last_was_star)
