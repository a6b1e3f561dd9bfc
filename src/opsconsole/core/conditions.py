"""Gatus-style health-check conditions such as ``[STATUS] == 200``.

A condition is ``<left> <operator> <right>`` where the operator is one of ``==``, ``!=``,
``<=``, ``>=``, ``>``, ``<`` (with a space on each side) and each side is a literal, a
placeholder (``[STATUS]``, ``[RESPONSE_TIME]``, ``[IP]``, ``[CONNECTED]``,
``[CERTIFICATE_EXPIRATION]``, ``[BODY]``, ``[BODY].a.b[0]``), ``len(<placeholder>)``,
``has(<placeholder>)``, ``pat(<glob>)`` or ``any(<v1>, <v2>, ...)``.

Semantics follow Gatus (``config/endpoint/condition.go``): equality compares integers
numerically when both sides parse like Go's ``strconv.ParseInt(s, 0, 64)`` (so ``0x1F``,
``0o17``, ``017`` and ``0b101`` work) and strings otherwise; ordering operators accept
Go durations (``48h``, ``1h30m``, ``500ms``), integers and floats (truncated). One
departure: a JSON number from the body against a number written in decimal is compared
exactly (``[BODY].ratio < 0.9`` holds for 0.7; ``[BODY].v == 1.0`` for a JSON 1.0). The
``resolved`` text shows each placeholder followed by its value in parentheses, e.g.
``[STATUS] (503) == 200``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from opsconsole.core.models import ConditionResult, ProbeObservation

__all__ = ["Condition", "ConditionSyntaxError", "parse_condition"]

# Gatus checks the operators in this order, so ``<=`` is never split as ``<``.
_OPERATORS = ("==", "!=", "<=", ">=", ">", "<")
_EQUALITY_OPERATORS = frozenset({"==", "!="})
_INVALID = "(INVALID)"
_TRUNCATED = "...(truncated)"
_DISPLAY_CAP = 200  # bodies are untrusted: never show more than this per value
_PATTERN_DISPLAY_CAP = 25  # Gatus's maximumLengthBeforeTruncatingWhenComparedWithPattern

_STATUS = "STATUS"
_RESPONSE_TIME = "RESPONSE_TIME"
_IP = "IP"
_CONNECTED = "CONNECTED"
_CERTIFICATE_EXPIRATION = "CERTIFICATE_EXPIRATION"
_BODY = "BODY"
_PLACEHOLDERS = frozenset(
    {_STATUS, _RESPONSE_TIME, _IP, _CONNECTED, _CERTIFICATE_EXPIRATION, _BODY}
)
_GATUS_ONLY_PLACEHOLDERS = frozenset({"DNS_RCODE", "DOMAIN_EXPIRATION", "CONTEXT"})

_LITERAL = "literal"
_PLACEHOLDER = "placeholder"
_PAT = "pat"
_ANY = "any"
_LEN = "len"
_HAS = "has"

_PLACEHOLDER_HEAD = re.compile(r"\[([A-Za-z_]+)\]")
_FUNCTION_CALL = re.compile(r"([A-Za-z_]\w*)\((.*)\)", re.DOTALL)
_PATH_KEY = re.compile(r"([^\[\]]*)((?:\[[0-9]+\])*)")
_PATH_INDEX = re.compile(r"\[([0-9]+)\]")
_LOOSE_OPERATOR = re.compile(r"==|!=|<|>")

# strconv.ParseInt(s, 0, 64): optional sign, base prefix, "_" only between digits.
_GO_INT = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
    r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)"
)
_GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
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


class ConditionSyntaxError(ValueError):
    """Raised by :func:`parse_condition` for a malformed condition.

    ``str(error)`` is a short one-line reason such as ``unknown placeholder [STAUS]``.
    """


# --------------------------------------------------------------------------- numbers


def _go_parse_int(text: str) -> int | None:
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
    if not _GO_FLOAT.fullmatch(text):
        return None
    number = float(text)
    return int(number) if math.isfinite(number) else None


def _go_parse_duration_ns(text: str) -> int | None:
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


def _to_number(text: str) -> int | None:
    """Resolve a value for an ordering operator like Gatus: duration (ms), int, float."""
    nanos = _go_parse_duration_ns(text)
    if nanos is not None and nanos != 0:
        return _truncate_div(nanos, 1_000_000)
    integer = _go_parse_int(text)
    if integer is not None:
        return integer
    truncated = _go_parse_float_truncated(text)
    if truncated is not None:
        return truncated
    return 0 if nanos == 0 else None  # "0s" is a valid (zero) duration


def _format_ms_as_duration(milliseconds: int) -> str:
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
class _Glob:
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


def _compile_glob(pattern: str) -> _Glob | None:
    """Compile a Go ``filepath.Match`` glob after Gatus strips ``/``; None if malformed."""
    if pattern == "*":
        return _Glob(True, (), True, True)
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
    return _Glob(False, tuple(chunks), pattern.startswith("*"), last_was_star)


# --------------------------------------------------------------------------- JSON body


@lru_cache(maxsize=4)
def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _reject_constant(name: str) -> object:
    raise ValueError(f"invalid JSON constant {name}")  # Go's encoding/json rejects NaN


@lru_cache(maxsize=4)
def _parse_json(raw: bytes) -> tuple[bool, object]:
    """Parse a body once per distinct body; (False, None) when it is not JSON."""
    try:
        return True, json.loads(_decode(raw), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False, None


def _walk(document: object, steps: tuple[str | int, ...]) -> tuple[bool, object]:
    """Follow keys and indexes; (False, None) for a missing path or a null value."""
    current = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return False, None
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return False, None
            current = current[step]
    if current is None:
        return False, None
    return True, current


def _format_float(number: float) -> str:
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


def _go_value(value: object) -> str:
    """Format a nested JSON value the way Go's ``%v`` prints decoded JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "map[" + " ".join(f"{key}:{_go_value(item)}" for key, item in items) + "]"
    return str(value)  # pragma: no cover - json.loads yields nothing else


def _json_text(value: object) -> str:
    """A resolved JSON value: objects as minified JSON with sorted keys, like Gatus."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _go_value(value)


def _json_length(value: object) -> int:
    if isinstance(value, list | str):
        return len(value)
    return len(_json_text(value))


# --------------------------------------------------------------------------- operands


@dataclass(frozen=True, slots=True)
class _Operand:
    """One side of a condition, classified at parse time."""

    text: str
    kind: str
    placeholder: str = ""
    function: str = ""
    path: tuple[str | int, ...] | None = None
    glob: _Glob | None = None
    options: tuple[str, ...] = ()


def _split_path(path: str) -> list[str]:
    keys: list[str] = []
    start = depth = 0
    for index, char in enumerate(path):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "." and depth == 0:
            keys.append(path[start:index])
            start = index + 1
    keys.append(path[start:])
    return keys


def _parse_path(path: str, source: str) -> tuple[str | int, ...]:
    if "[*]" in path:
        raise ConditionSyntaxError(f"wildcard [*] is not supported in {source}")
    steps: list[str | int] = []
    for key in _split_path(path):
        match = _PATH_KEY.fullmatch(key)
        if match is None or not (match.group(1) or match.group(2)):
            raise ConditionSyntaxError(f"invalid JSON path in {source}")
        if match.group(1):
            steps.append(match.group(1))
        steps.extend(int(index) for index in _PATH_INDEX.findall(match.group(2)))
    return tuple(steps)


def _parse_placeholder(text: str, function: str, source: str) -> _Operand | None:
    """Classify ``text`` as a placeholder operand; None when it is a plain literal."""
    head = _PLACEHOLDER_HEAD.match(text)
    if head is None:
        return None
    name = head.group(1).upper()
    rest = text[head.end() :]
    if name in _PLACEHOLDERS:
        path: tuple[str | int, ...] | None = None
        if rest and name == _BODY and rest[0] in ".[":
            path = _parse_path(rest.removeprefix("."), source)
        elif rest:
            raise ConditionSyntaxError(f"unexpected text after [{name}] in {source}")
        return _Operand(source, _PLACEHOLDER, placeholder=name, function=function, path=path)
    if name in _GATUS_ONLY_PLACEHOLDERS:
        raise ConditionSyntaxError(f"unsupported placeholder [{name}]")
    if head.group(1).isupper():
        raise ConditionSyntaxError(f"unknown placeholder [{head.group(1)}]")
    return None


def _parse_operand(text: str, operator: str) -> _Operand:
    """Parse one trimmed side of a condition."""
    numeric = operator not in _EQUALITY_OPERATORS
    for function in (_LEN, _HAS, _PAT, _ANY):
        if not text.startswith(function + "("):
            continue
        if not text.endswith(")"):
            raise ConditionSyntaxError(f"unbalanced parentheses in {text}")
        inner = text[len(function) + 1 : -1]
        if function in (_PAT, _ANY):
            if numeric:
                raise ConditionSyntaxError(f"{function}() only works with == and !=")
            if function == _PAT:
                glob = _compile_glob(inner)
                if glob is None:
                    raise ConditionSyntaxError(f"invalid pattern in {text}")
                return _Operand(text, _PAT, glob=glob)
            options = tuple(option.strip() for option in inner.split(","))
            for option in options:
                head = _PLACEHOLDER_HEAD.match(option)
                if head and head.group(1).upper() in _PLACEHOLDERS:
                    raise ConditionSyntaxError(
                        f"any() takes literal values, e.g. {option} == any(a, b)"
                    )
            return _Operand(text, _ANY, options=options)
        if inner.count("(") != inner.count(")"):
            raise ConditionSyntaxError(f"unbalanced parentheses in {text}")
        operand = _parse_placeholder(inner.strip(), function, text)
        if operand is None:
            raise ConditionSyntaxError(f"{function}() needs a placeholder, e.g. len([BODY].items)")
        if function == _HAS and numeric:
            raise ConditionSyntaxError(f"{text} is true or false; compare it with == or !=")
        return operand
    call = _FUNCTION_CALL.fullmatch(text)
    if call is not None and call.group(2).lstrip().startswith("["):
        raise ConditionSyntaxError(f"unknown function {call.group(1)}()")
    operand = _parse_placeholder(text, "", text)
    if operand is not None:
        if numeric and operand.placeholder == _CONNECTED:
            raise ConditionSyntaxError(f"{text} is true or false; compare it with == or !=")
        return operand
    if numeric and _to_number(text) is None:
        raise ConditionSyntaxError(f"not a number: {text}")
    return _Operand(text, _LITERAL)


def _split_condition(text: str) -> tuple[str, str, str]:
    padded = f" {text} "  # so "[STATUS] ==" reports an empty side, not a missing operator
    for operator in _OPERATORS:
        token = f" {operator} "
        if token not in padded:
            continue
        parts = padded.split(token)
        if len(parts) > 2:
            raise ConditionSyntaxError(f"more than one {operator} operator")
        left, right = parts[0].strip(), parts[1].strip()
        if not left:
            raise ConditionSyntaxError("empty left-hand side")
        if not right:
            raise ConditionSyntaxError("empty right-hand side")
        return left, operator, right
    if _LOOSE_OPERATOR.search(text):
        raise ConditionSyntaxError("missing comparison operator (put a space on each side)")
    raise ConditionSyntaxError("missing comparison operator")


# --------------------------------------------------------------------------- evaluation


def _cap(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit] + _TRUNCATED


def _basic_value(name: str, obs: ProbeObservation) -> str | None:
    if name == _STATUS:
        return None if obs.status is None else str(obs.status)
    if name == _RESPONSE_TIME:
        latency = obs.response_time_ms
        return None if latency is None or not math.isfinite(latency) else str(int(latency))
    if name == _IP:
        return obs.ip
    if name == _CONNECTED:
        return "true" if obs.connected else "false"
    expiry = obs.certificate_expiration_ms
    return None if expiry is None or not math.isfinite(expiry) else str(int(expiry))


def _resolve_body(operand: _Operand, raw: bytes) -> str | None:
    if operand.path is None:
        text = _decode(raw).strip()
        if operand.function == _HAS:
            return "true" if text else "false"
        if operand.function == _LEN:
            if text.startswith("[") and text.endswith("]"):
                parsed, document = _parse_json(raw)
                if parsed and isinstance(document, list):
                    return str(len(document))
            return str(len(text))
        return text
    parsed, document = _parse_json(raw)
    found, value = _walk(document, operand.path) if parsed else (False, None)
    if operand.function == _HAS:
        return "true" if found else "false"
    if not found:
        return None
    if operand.function == _LEN:
        return str(_json_length(value))
    return _json_text(value)


def _resolve(operand: _Operand, obs: ProbeObservation) -> str | None:
    """The operand's value as text, or None when it is unavailable (INVALID)."""
    if operand.kind != _PLACEHOLDER:
        return operand.text
    if operand.placeholder == _BODY:
        return _resolve_body(operand, obs.body)
    value = _basic_value(operand.placeholder, obs)
    if operand.function == _HAS:
        return "true" if value else "false"
    if value is None:
        return None
    if operand.function == _LEN:
        return str(len(value))
    return value


def _is_equal(left: _Operand, left_value: str, right: _Operand, right_value: str) -> bool:
    """Gatus's isEqual: pat() glob, any() options, numeric ints, then plain strings."""
    if left.glob is not None:
        return left.glob.matches(right_value)
    if right.glob is not None:
        return right.glob.matches(left_value)
    if left.kind == _ANY:
        return right_value in left.options
    if right.kind == _ANY:
        return left_value in right.options
    left_int, right_int = _go_parse_int(left_value), _go_parse_int(right_value)
    if left_int is not None and right_int is not None:
        return left_int == right_int
    return left_value == right_value


def _show(operand: _Operand, value: str | None, other: _Operand) -> str:
    if operand.kind != _PLACEHOLDER:
        return operand.text
    if value is None:
        return f"{operand.text} {_INVALID}"
    limit = _PATTERN_DISPLAY_CAP if other.kind == _PAT else _DISPLAY_CAP
    return f"{operand.text} ({_cap(value, limit)})"


def _show_number(operand: _Operand, value: str | None, number: int | None) -> str:
    if value is None:
        return f"{operand.text} {_INVALID}"
    if number is None:  # only placeholders can resolve to a non-number
        return f"{operand.text} ({_cap(value, _DISPLAY_CAP)})"
    if operand.kind == _LITERAL:
        if _go_parse_duration_ns(operand.text) is not None:
            return operand.text  # shown as written, e.g. "48h"
        shown = str(number)
        return operand.text if shown == operand.text else f"{operand.text} ({shown})"
    if operand.placeholder == _CERTIFICATE_EXPIRATION and not operand.function:
        return f"{operand.text} ({_format_ms_as_duration(number)})"
    return f"{operand.text} ({number})"


def _json_number(operand: _Operand, obs: ProbeObservation) -> int | float | None:
    """The JSON number a plain ``[BODY]``/``[BODY].path`` operand resolves to, if it is one."""
    if operand.kind != _PLACEHOLDER or operand.placeholder != _BODY or operand.function:
        return None
    parsed, document = _parse_json(obs.body)
    if not parsed:
        return None
    found, value = _walk(document, operand.path or ())
    if not found or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _decimal_literal(operand: _Operand) -> int | float | None:
    """A literal written as a plain decimal number (``0.9``, ``-1``, ``1e3``), else None."""
    if operand.kind != _LITERAL or not _GO_FLOAT.fullmatch(operand.text):
        return None
    if re.match(r"[+-]?0[0-9_]", operand.text) and _go_parse_int(operand.text) is not None:
        return None  # 017 is octal to Gatus (and 0x1F is not decimal): its rules apply
    number = float(operand.text)
    if not math.isfinite(number):
        return None
    return int(operand.text) if re.fullmatch(r"[+-]?[0-9]+", operand.text) else number


def _exact_numbers(
    left: _Operand, right: _Operand, obs: ProbeObservation
) -> tuple[int | float, int | float] | None:
    """Both sides as exact numbers when a JSON number meets a decimal number, else None.

    Gatus compares ``[BODY].ratio < 0.9`` after truncating both sides to integers (so 0.7
    is not below 0.9) and ``[BODY].version == 1.0`` as the text ``1`` against ``1.0``. A
    JSON number against a number written as one is compared as numbers instead; numbers
    inside JSON strings, hex/octal literals and durations keep Gatus's rules.
    """
    left_json, right_json = _json_number(left, obs), _json_number(right, obs)
    if left_json is None and right_json is None:
        return None
    left_number = left_json if left_json is not None else _decimal_literal(left)
    right_number = right_json if right_json is not None else _decimal_literal(right)
    if left_number is None or right_number is None:
        return None
    return left_number, right_number


def _compare(operator: str, left: int | float, right: int | float) -> bool:
    if operator == "<=":
        return left <= right
    if operator == ">=":
        return left >= right
    if operator == ">":
        return left > right
    return left < right


@dataclass(frozen=True)
class Condition:
    """A parsed condition; build it with :func:`parse_condition` (or ``Condition(text)``).

    Attributes:
        text: The condition exactly as written in the configuration.
    """

    text: str
    _left: _Operand = field(init=False, repr=False, compare=False)
    _operator: str = field(init=False, repr=False, compare=False)
    _right: _Operand = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Parse ``text``.

        Raises:
            ConditionSyntaxError: when the condition is malformed.
        """
        if not self.text.strip():
            raise ConditionSyntaxError("empty condition")
        left_text, operator, right_text = _split_condition(self.text)
        left = _parse_operand(left_text, operator)
        right = _parse_operand(right_text, operator)
        if left.kind in (_PAT, _ANY) and right.kind in (_PAT, _ANY):
            raise ConditionSyntaxError("pat() and any() can only be used on one side")
        object.__setattr__(self, "_left", left)
        object.__setattr__(self, "_operator", operator)
        object.__setattr__(self, "_right", right)

    @property
    def _placeholders(self) -> frozenset[str]:
        return frozenset(side.placeholder for side in (self._left, self._right) if side.placeholder)

    @property
    def latency_only(self) -> bool:
        """True when the only placeholder used is ``[RESPONSE_TIME]``."""
        return self._placeholders == {_RESPONSE_TIME}

    @property
    def constant(self) -> bool:
        """True when no side uses a placeholder (``200 == 200``, ``STATUS == 200``)."""
        return not self._placeholders

    @property
    def uses_connected(self) -> bool:
        """True when ``[CONNECTED]`` is used: the condition says whether a connection is made."""
        return _CONNECTED in self._placeholders

    @property
    def uses_body(self) -> bool:
        """True when ``[BODY]`` is used, so the prober must read the response body."""
        return _BODY in self._placeholders

    def evaluate(self, obs: ProbeObservation) -> ConditionResult:
        """Evaluate against one observation; never raises.

        Args:
            obs: The raw facts gathered by a probe.

        Returns:
            The result, with ``resolved`` showing each placeholder's value, e.g.
            ``[STATUS] (503) == 200``. Unavailable values resolve to ``(INVALID)`` and fail.
        """
        try:
            ok, resolved = self._evaluate(obs)
        except Exception as exc:  # a bug here must not take the prober down
            ok, resolved = False, f"{self.text} (ERROR: {type(exc).__name__})"
        return ConditionResult(
            condition=self.text, ok=ok, resolved=resolved, latency_only=self.latency_only
        )

    def _evaluate(self, obs: ProbeObservation) -> tuple[bool, str]:
        left, operator, right = self._left, self._operator, self._right
        left_value, right_value = _resolve(left, obs), _resolve(right, obs)
        exact = _exact_numbers(left, right, obs)
        if exact is not None:
            if operator in _EQUALITY_OPERATORS:
                ok = (exact[0] == exact[1]) == (operator == "==")
            else:
                ok = _compare(operator, *exact)
            shown = f"{_show(left, left_value, right)} {operator} {_show(right, right_value, left)}"
            return ok, shown
        if operator in _EQUALITY_OPERATORS:
            ok = False
            if left_value is not None and right_value is not None:
                equal = _is_equal(left, left_value, right, right_value)
                ok = equal if operator == "==" else not equal
            shown_left = _show(left, left_value, right)
            shown_right = _show(right, right_value, left)
            return ok, f"{shown_left} {operator} {shown_right}"
        left_number = None if left_value is None else _to_number(left_value)
        right_number = None if right_value is None else _to_number(right_value)
        ok = (
            left_number is not None
            and right_number is not None
            and _compare(operator, left_number, right_number)
        )
        shown_left = _show_number(left, left_value, left_number)
        shown_right = _show_number(right, right_value, right_number)
        return ok, f"{shown_left} {operator} {shown_right}"


def parse_condition(text: str) -> Condition:
    """Parse a condition such as ``[STATUS] == 200`` or ``len([BODY].items) > 0``.

    Args:
        text: The condition as written in the configuration.

    Returns:
        The parsed condition.

    Raises:
        ConditionSyntaxError: when the condition is malformed (no operator, empty side,
            unknown placeholder, unbalanced function parentheses, bad pattern...).
    """
    return Condition(text)
