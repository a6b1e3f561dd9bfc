"""Ticket field values for ``update_ticket``: checks, stored columns, audit text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from opsconsole.adapters.sqlite.common import _aware, _opt_epoch
from opsconsole.adapters.sqlite.ticket_rows import _pauses_json
from opsconsole.core.store import StoreError
from opsconsole.core.tickets import SEVERITY_RANK, Category, Level, Severity, Status


def _step_state(done: bool) -> str:
    return "done" if done else "not done"


def _coerce_field(name: str, value: object) -> object:
    """Check and normalise a new value for ticket field ``name`` (see ``update_ticket``)."""
    enum: type[StrEnum] | None = {
        "category": Category,
        "severity": Severity,
        "status": Status,
        "level": Level,
    }.get(name)
    if enum is not None:
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        raise StoreError(f"bad {name}: {value!r}")
    if name in ("assignee", "runbook"):
        if value is None or isinstance(value, str):
            return value or None  # "" is "nobody" / "no runbook"
        raise StoreError(f"bad {name}: {value!r}")
    if name == "triage_rule":
        if isinstance(value, str):
            return value
        raise StoreError(f"bad {name}: {value!r}")
    if name in ("first_response_at", "resolved_at", "next_due"):
        return None if value is None else _aware(name, value)
    if name == "tags":
        if isinstance(value, list | tuple) and all(isinstance(t, str) for t in value):
            return tuple(value)
        raise StoreError(f"bad tags: {value!r} (a list of strings)")
    if name == "pauses":
        if not isinstance(value, list | tuple):
            raise StoreError(f"bad pauses: {value!r}")
        pauses: list[tuple[datetime, datetime | None]] = []
        for pause in value:
            if not isinstance(pause, list | tuple) or len(pause) != 2:
                raise StoreError(f"bad pause: {pause!r} (a (start, end or None) pair)")
            start, end = pause
            pauses.append((_aware(name, start), None if end is None else _aware(name, end)))
        return tuple(pauses)
    raise StoreError(f"cannot update ticket field: {name}")


def _field_columns(name: str, value: Any) -> dict[str, object]:
    """The column values that store a coerced field value."""
    if name == "severity":
        return {"severity": value.value, "severity_rank": SEVERITY_RANK[value]}
    if name in ("category", "status", "level"):
        return {name: value.value}
    if name in ("first_response_at", "resolved_at", "next_due"):
        return {name: _opt_epoch(value)}
    if name == "tags":
        return {"tags": json.dumps(list(value))}
    if name == "pauses":
        return {"pauses": _pauses_json(value)}
    return {name: value}


def _render(value: object) -> str | None:
    """A field value as audit text: enum values, ISO 8601 UTC times, joined tuples."""
    if value is None:
        return None
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple):
        if all(isinstance(item, tuple) for item in value):  # pauses
            return "; ".join(f"{_render(start)} – {_render(end) or 'open'}" for start, end in value)
        return ", ".join(str(item) for item in value)
    return str(value)


def _shown(value: object) -> str:
    """A field value in a conflict message: audit text, ``none`` for no value."""
    text = _render(value)
    return "none" if text is None or text == "" else text
