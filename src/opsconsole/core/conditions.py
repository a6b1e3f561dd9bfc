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
``[STATUS] (503) == 200``. Go's number, duration and glob rules live in
:mod:`opsconsole.core.gatus_values`. Comparisons Gatus accepts but that can never change
(``[CONNECTED] == yes``, ``[STATUS] != 5xx``) are syntax errors.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from opsconsole.core.gatus_values import (
    GO_FLOAT,
    Glob,
    compile_glob,
    format_ms_as_duration,
    go_parse_duration_ns,
    go_parse_int,
    to_number,
)
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


class ConditionSyntaxError(ValueError):
    """Raised by :func:`parse_condition` for a malformed condition.

    ``str(error)`` is a short one-line reason such as ``unknown placeholder [STAUS]``.
    """


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
    glob: Glob | None = None
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
                glob = compile_glob(inner)
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
    if numeric and to_number(text) is None:
        raise ConditionSyntaxError(f"not a number: {text}")
    return _Operand(text, _LITERAL)


_NUMERIC_PLACEHOLDERS = frozenset({_STATUS, _RESPONSE_TIME, _CERTIFICATE_EXPIRATION})


def _check_literal_type(side: _Operand, literal: _Operand) -> None:
    """Refuse ``==``/``!=`` between a placeholder and a literal it can never equal.

    ``[CONNECTED] == yes`` and ``has([BODY].errors) != True`` compare the text ``true`` or
    ``false`` with ``yes``/``True``, and ``[STATUS] != 5xx`` a number with a word: Gatus
    accepts them, and they always fail (``==``) or, worse, always pass (``!=``).
    """
    if side.kind != _PLACEHOLDER or literal.kind != _LITERAL:
        return
    boolean = side.function == _HAS or (side.placeholder == _CONNECTED and not side.function)
    if boolean and literal.text not in ("true", "false"):
        raise ConditionSyntaxError(
            f"{side.text} is true or false; compare it with true or false, not {literal.text}"
        )
    numeric = not side.function and side.placeholder in _NUMERIC_PLACEHOLDERS
    if numeric and to_number(literal.text) is None:
        raise ConditionSyntaxError(
            f"{side.text} is a number, never {literal.text} (for a range write "
            f"{side.text} < 300 or {side.text} == pat(2*))"
        )


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
    left_int, right_int = go_parse_int(left_value), go_parse_int(right_value)
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
        if go_parse_duration_ns(operand.text) is not None:
            return operand.text  # shown as written, e.g. "48h"
        shown = str(number)
        return operand.text if shown == operand.text else f"{operand.text} ({shown})"
    if operand.placeholder == _CERTIFICATE_EXPIRATION and not operand.function:
        return f"{operand.text} ({format_ms_as_duration(number)})"
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
    if operand.kind != _LITERAL or not GO_FLOAT.fullmatch(operand.text):
        return None
    if re.match(r"[+-]?0[0-9_]", operand.text) and go_parse_int(operand.text) is not None:
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
        if operator in _EQUALITY_OPERATORS:
            _check_literal_type(left, right)
            _check_literal_type(right, left)
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
        left_number = None if left_value is None else to_number(left_value)
        right_number = None if right_value is None else to_number(right_value)
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
