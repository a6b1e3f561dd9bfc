"""Shared validated types for checks.yaml: durations and sub-key errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator

from opsconsole.core.durations import (
    DurationError,
    checked_duration,
    format_duration,
    parse_duration,
)


class FieldError(ValueError):
    """A validation error that belongs to a sub-key of the value being validated.

    The loader appends ``subloc`` to pydantic's location, so a model-level check can still
    point at ``probes[2].timeout`` (and at that key's line) rather than at ``probes[2]``.
    """

    def __init__(self, subloc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.subloc = subloc


def describe_value(value: object) -> str:
    """Render an offending value for an error message: ``'fast'``, ``12``, ``a list``."""
    if value is None:
        return "an empty value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def to_duration(value: object) -> timedelta:
    """Coerce ``"30s"``, ``30`` (seconds) or a timedelta into a positive timedelta.

    Raises:
        ValueError: with a human message when ``value`` is not a positive duration.
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"expected a positive duration, got {format_duration(value)}")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"expected a positive duration, got {value}")
        try:
            return checked_duration(value, value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return to_duration(float(text))
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"expected a duration like 5s, got {describe_value(value)}")


Duration = Annotated[
    timedelta,
    PlainValidator(to_duration, json_schema_input_type=str | int | float),
    PlainSerializer(format_duration, return_type=str),
]
"""A positive timedelta written as ``30s`` / ``5m`` / ``500ms`` or a number of seconds."""
