"""Incident and timeline rows: columns, value checks, conversions, in-transaction helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import aiosqlite

from opsconsole.adapters.sqlite.common import _aware, _epoch, _from_epoch, _lastrowid, _opt_epoch
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.redact import redact_text
from opsconsole.core.store import StoreError

_ORDER: Final = (
    "title",
    "component",
    "severity",
    "status",
    "started_at",
    "impact",
    "resolved_at",
    "monitoring_since",
    "last_update_at",
    "snoozed_until",
    "review_path",
    "review_due",
    "review_done_at",
    "playbook",
    "playbook_times",
    "root_cause",
    "fix",
    "postmortem_url",
    "monitoring_override",
)
"""The stored incident fields, in :data:`_INCIDENT_COLUMNS` order (after the id)."""

_INCIDENT_COLUMNS = (
    "id, title, component, severity, status, started_at, customers, failing_percent, "
    "impact_note, resolved_at, monitoring_since, last_update_at, snoozed_until, review_path, "
    "review_due, review_done_at, playbook, playbook_times, root_cause, fix, postmortem_url, "
    "monitoring_override"
)
_ENTRY_COLUMNS = "id, at, kind, text, actor, delivery"
_TIMELINE_SQL = f"SELECT {_ENTRY_COLUMNS} FROM incident_timeline WHERE incident = ? ORDER BY at, id"
_INCIDENT_TIMES = frozenset(
    {
        "resolved_at",
        "monitoring_since",
        "last_update_at",
        "snoozed_until",
        "review_due",
        "review_done_at",
    }
)
_INCIDENT_TEXTS = frozenset(
    {"title", "component", "root_cause", "fix", "postmortem_url", "monitoring_override"}
)


def _coerce_incident_field(name: str, value: object) -> object:
    """Check and normalise a value for incident field ``name`` (see ``update_incident``)."""
    if name == "severity" or name == "status":
        enum: type[StrEnum] = IncidentSeverity if name == "severity" else IncidentStatus
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        raise StoreError(f"bad {name}: {value!r}")
    if name in _INCIDENT_TEXTS:
        if isinstance(value, str):
            return value
        raise StoreError(f"bad {name}: {value!r} (text)")
    if name == "started_at":
        return _aware(name, value)
    if name in _INCIDENT_TIMES:
        return None if value is None else _aware(name, value)
    if name == "review_path":
        if value is None or isinstance(value, str):
            return value or None
        raise StoreError(f"bad review_path: {value!r}")
    if name == "impact":
        return _coerce_impact(value)
    if name == "playbook":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise StoreError(f"bad playbook: {value!r} (a set of step keys)")
        keys = list(value)
        if not all(isinstance(key, str) for key in keys):
            raise StoreError(f"bad playbook: {value!r} (a set of step keys)")
        return frozenset(keys)
    if name == "playbook_times":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise StoreError(f"bad playbook_times: {value!r}")
        times: list[tuple[str, datetime]] = []
        for pair in value:
            if not isinstance(pair, list | tuple) or len(pair) != 2 or not isinstance(pair[0], str):
                raise StoreError(f"bad playbook time: {pair!r} (a (key, datetime) pair)")
            times.append((pair[0], _aware(name, pair[1])))
        return tuple(times)
    raise StoreError(f"cannot update incident field: {name}")


def _coerce_impact(value: object) -> Impact:
    if not isinstance(value, Impact):
        raise StoreError(f"bad impact: {value!r} (an Impact)")
    customers, percent = value.customers, value.failing_percent
    if customers is not None and (isinstance(customers, bool) or not isinstance(customers, int)):
        raise StoreError(f"bad impact customers: {customers!r}")
    if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int | float)):
        raise StoreError(f"bad impact failing_percent: {percent!r}")
    if not isinstance(value.note, str):
        raise StoreError(f"bad impact note: {value.note!r}")
    return Impact(
        customers=customers,
        failing_percent=None if percent is None else float(percent),
        note=value.note,
    )


def _incident_columns(name: str, value: Any) -> dict[str, object]:
    """The column values that store a coerced incident field value."""
    if name in ("severity", "status"):
        return {name: value.value}
    if name == "started_at":
        return {name: _epoch(value)}
    if name in _INCIDENT_TIMES:
        return {name: _opt_epoch(value)}
    if name == "impact":
        return {
            "customers": value.customers,
            "failing_percent": value.failing_percent,
            "impact_note": value.note,
        }
    if name == "playbook":
        return {name: json.dumps(sorted(value))}
    if name == "playbook_times":
        return {name: json.dumps([[key, _epoch(when)] for key, when in value])}
    return {name: value}


def _row_to_incident(row: Sequence[Any]) -> Incident:
    (
        incident_id,
        title,
        component,
        severity,
        status,
        started_at,
        customers,
        failing_percent,
        impact_note,
        resolved_at,
        monitoring_since,
        last_update_at,
        snoozed_until,
        review_path,
        review_due,
        review_done_at,
        playbook,
        playbook_times,
        root_cause,
        fix,
        postmortem_url,
        monitoring_override,
    ) = row
    return Incident(
        id=int(incident_id),
        title=title,
        component=component,
        severity=IncidentSeverity(severity),
        status=IncidentStatus(status),
        started_at=datetime.fromtimestamp(started_at, UTC),
        impact=Impact(
            customers=None if customers is None else int(customers),
            failing_percent=None if failing_percent is None else float(failing_percent),
            note=impact_note,
        ),
        resolved_at=_from_epoch(resolved_at),
        monitoring_since=_from_epoch(monitoring_since),
        last_update_at=_from_epoch(last_update_at),
        snoozed_until=_from_epoch(snoozed_until),
        review_path=review_path,
        review_due=_from_epoch(review_due),
        review_done_at=_from_epoch(review_done_at),
        playbook=frozenset(json.loads(playbook)),
        playbook_times=tuple(
            (str(key), datetime.fromtimestamp(when, UTC))
            for key, when in json.loads(playbook_times)
        ),
        root_cause=root_cause,
        fix=fix,
        postmortem_url=postmortem_url,
        monitoring_override=monitoring_override,
    )


def _coerce_entry(entry: TimelineEntry) -> TimelineEntry:
    """Check a timeline entry; return it with an EntryKind, aware-UTC time and no id."""
    if not isinstance(entry, TimelineEntry):
        raise StoreError(f"bad timeline entry: {entry!r}")
    try:
        kind = EntryKind(entry.kind)
    except ValueError:
        raise StoreError(f"bad timeline entry kind: {entry.kind!r}") from None
    if not isinstance(entry.text, str) or not isinstance(entry.actor, str):
        raise StoreError("bad timeline entry: text and actor must be text")
    if entry.delivery is not None and not isinstance(entry.delivery, str):
        raise StoreError(f"bad timeline entry delivery: {entry.delivery!r}")
    delivery = None if entry.delivery is None else redact_text(entry.delivery)
    return replace(entry, at=_aware("at", entry.at), kind=kind, delivery=delivery, id=None)


def _row_to_entry(row: Sequence[Any]) -> TimelineEntry:
    entry_id, at, kind, text, actor, delivery = row
    return TimelineEntry(
        at=datetime.fromtimestamp(at, UTC),
        kind=EntryKind(kind),
        text=text,
        actor=actor,
        delivery=delivery,
        id=int(entry_id),
    )


async def _insert_entry(db: aiosqlite.Connection, incident_id: int, entry: TimelineEntry) -> int:
    async with db.execute(
        "INSERT INTO incident_timeline (incident, at, kind, text, actor, delivery) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (incident_id, _epoch(entry.at), entry.kind.value, entry.text, entry.actor, entry.delivery),
    ) as cursor:
        return _lastrowid(cursor)


async def _load_incident(
    db: aiosqlite.Connection, incident_id: int, *, timeline: bool = True
) -> Incident | None:
    """Read an incident on ``db`` (inside the caller's transaction)."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )
    )
    if not rows:
        return None
    incident = _row_to_incident(rows[0])
    if not timeline:
        return incident
    entries = await db.execute_fetchall(_TIMELINE_SQL, (incident_id,))
    return replace(incident, timeline=tuple(_row_to_entry(r) for r in entries))


async def _refuse_second_active(db: aiosqlite.Connection, except_id: int | None) -> None:
    """Raise StoreError when an incident other than ``except_id`` is active."""
    rows = list(
        await db.execute_fetchall(
            "SELECT id, title FROM incidents WHERE status != 'resolved' AND id IS NOT ? "
            "ORDER BY id LIMIT 1",
            (except_id,),
        )
    )
    if rows:
        other, title = rows[0]
        raise StoreError(
            f"incident #{other} is already active ({' '.join(str(title).split())}); "
            "resolve it first"
        )
