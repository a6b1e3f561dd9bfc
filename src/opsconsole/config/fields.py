"""Validated field types of ``checks.yaml``: local times, dates, paths and addresses.

Each is an ``Annotated`` type with a plain validator that raises a human message
(``expected a time like '09:00', got 'noon'``) and a serializer back to the written form.
Used by the support-ticket schemas (:mod:`opsconsole.config.tickets`, ``sla``, ``mail``)
and by the incident schema.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainSerializer, PlainValidator

from opsconsole.config.types import describe_value

__all__ = [
    "Address",
    "IsoDate",
    "LocalTime",
    "UserPath",
]

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# -- shared field types -------------------------------------------------------------------------


def _to_time(value: object) -> time:
    """``"09:00"``; ``"24:00"`` is midnight at the end of the day (``time(0)``).

    Unquoted ``18:00`` reaches us as 1080: YAML 1.1 reads it as base-60 minutes, so an
    integer of 60 or more is taken as minutes since midnight, and 0-24 as whole hours.
    """
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 24:
            return time(value % 24)
        if 60 <= value <= 24 * 60:
            hours, minutes = divmod(value, 60)
            return time(hours % 24, minutes)
    if isinstance(value, str):
        text = value.strip()
        if text == "24:00":
            return time(0)
        found = _HHMM.match(text)
        if found:
            return time(int(found.group(1)), int(found.group(2)))
    raise ValueError(f"expected a time like '09:00', got {describe_value(value)}")


LocalTime = Annotated[
    time,
    PlainValidator(_to_time, json_schema_input_type=str),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
"""A local wall-clock time written ``HH:MM``."""


def _to_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2025-12-25, got {describe_value(value)}")


IsoDate = Annotated[
    date,
    PlainValidator(_to_date, json_schema_input_type=str),
    PlainSerializer(date.isoformat, return_type=str),
]
"""A calendar date written ``YYYY-MM-DD``."""


def _to_path(value: object) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    if isinstance(value, str) and value.strip():
        return Path(value.strip()).expanduser()
    raise ValueError(f"expected a path, got {describe_value(value)}")


UserPath = Annotated[
    Path,
    PlainValidator(_to_path, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
]
"""A filesystem path; a leading ``~`` is expanded."""


def _to_address(value: object) -> str:
    """An email address, optionally with a display name: ``Support <support@x.com>``."""
    if isinstance(value, str):
        text = value.strip()
        if not any(c in text for c in "\r\n\0"):
            _, address = parseaddr(text)
            local, at, domain = address.rpartition("@")
            if at and local and "." in domain and " " not in address:
                return text
    raise ValueError(
        f"expected an email address like support@company.com, got {describe_value(value)}"
    )


Address = Annotated[str, PlainValidator(_to_address, json_schema_input_type=str)]
"""An email address (``name@domain``), optionally ``Display Name <name@domain>``."""


def check_zone(value: str) -> str:
    """``value`` if it names an IANA time zone, else a one-line ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like 'UTC' or 'Europe/Paris')"
        ) from None
    return value
