"""Incidents and their append-only timelines: the IncidentStore methods (outbox aside)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsconsole.adapters.sqlite.common import (
    _aware,
    _epoch,
    _lastrowid,
    _one_line,
    _placeholders,
)
from opsconsole.adapters.sqlite.connection import SqliteBase
from opsconsole.adapters.sqlite.incident_rows import (
    _ENTRY_COLUMNS,
    _INCIDENT_COLUMNS,
    _ORDER,
    _TIMELINE_SQL,
    _coerce_entry,
    _coerce_incident_field,
    _incident_columns,
    _insert_entry,
    _load_incident,
    _refuse_second_active,
    _row_to_entry,
    _row_to_incident,
)
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.redact import redact_text
from opsconsole.core.store import INCIDENT_FIELDS, IncidentConflict, StoreError


class IncidentsMixin(SqliteBase):
    """Incidents and timelines; every write is durable."""

    async def create_incident(self, incident: Incident, *, actor: str) -> Incident:
        """Store a new incident with its timeline; the id comes from an AUTOINCREMENT.

        Ids are 1, 2, … and never reused. ``incident.id`` and the entries' ids are
        ignored. A ``DECLARED`` entry ``"Declared: <title> (<severity>)"`` at
        ``started_at`` by ``actor`` is added unless ``incident.timeline`` has one. The
        check for an active incident runs inside the ``BEGIN IMMEDIATE`` transaction
        (and a partial unique index backs it up), so two consoles on one database can
        never both declare.

        Raises:
            StoreError: when another incident is active, a value is invalid, or the
                write fails.
        """
        values = {name: _coerce_incident_field(name, getattr(incident, name)) for name in _ORDER}
        entries = [_coerce_entry(entry) for entry in incident.timeline]
        if not any(entry.kind is EntryKind.DECLARED for entry in entries):
            severity = values["severity"]
            assert isinstance(severity, IncidentSeverity)
            declared = TimelineEntry(
                at=_aware("started_at", values["started_at"]),
                kind=EntryKind.DECLARED,
                text=f"Declared: {values['title']} ({severity.value})",
                actor=actor,
            )
            entries.append(declared)
        now = _epoch(self.clock())
        columns: dict[str, object] = {}
        for name, value in values.items():
            columns.update(_incident_columns(name, value))
        columns.update(created_at=now, created_by=actor, updated_at=now, updated_by=actor)
        async with self._write(durable=True) as db:
            if values["status"] is not IncidentStatus.RESOLVED:
                await _refuse_second_active(db, None)
            async with db.execute(
                f"INSERT INTO incidents ({', '.join(columns)}) "
                f"VALUES ({_placeholders(len(columns))})",
                tuple(columns.values()),
            ) as cursor:
                incident_id = _lastrowid(cursor)
            for entry in sorted(entries, key=lambda e: e.at):
                await _insert_entry(db, incident_id, entry)
            stored = await _load_incident(db, incident_id)
        assert stored is not None
        return stored

    async def active_incident(self) -> Incident | None:
        """Return the unresolved incident with its timeline, or None."""
        return await self._read_incident(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE status != 'resolved' "
            "ORDER BY id DESC LIMIT 1",
            (),
        )

    async def get_incident(self, incident_id: int) -> Incident | None:
        """Return incident ``incident_id`` with its timeline (time order), or None."""
        return await self._read_incident(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )

    async def _with_timelines(self, rows: Sequence[sqlite3.Row]) -> list[Incident]:
        """Incidents from ``rows``, each with its timeline (one query for all of them)."""
        ids = [int(row[0]) for row in rows]
        try:
            entries = (
                await self._query(
                    f"SELECT incident, {_ENTRY_COLUMNS} FROM incident_timeline "
                    f"WHERE incident IN ({_placeholders(len(ids))}) ORDER BY at, id",
                    ids,
                )
                if ids
                else []
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        timelines: dict[int, list[TimelineEntry]] = {i: [] for i in ids}
        for row in entries:
            timelines[int(row[0])].append(_row_to_entry(row[1:]))
        return [
            replace(_row_to_incident(row), timeline=tuple(timelines[int(row[0])])) for row in rows
        ]

    async def list_incidents(self, limit: int = 100) -> list[Incident]:
        """Return up to ``limit`` incidents, latest start first, each with its timeline."""
        if limit <= 0:
            return []
        try:
            rows = await self._query(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents "
                "ORDER BY started_at DESC, id DESC LIMIT ?",
                (limit,),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return await self._with_timelines(rows)

    async def update_incident(
        self, incident_id: int, changes: Mapping[str, object], *, actor: str, at: datetime
    ) -> Incident:
        """Change fields of an incident (see :data:`~opsconsole.core.store.INCIDENT_FIELDS`).

        Values are checked and normalised first: enums from their values, datetimes as
        aware UTC, ``playbook`` from any collection of keys, ``playbook_times`` as a tuple
        of ``(key, datetime)`` pairs, ``impact`` as an :class:`Impact`, ``""`` review path
        as None. Only fields whose value really changes are written (with ``at`` and
        ``actor`` as the row's last change); no timeline entry is written.

        Returns:
            The incident after the change, with its timeline.

        Raises:
            StoreError: for an unknown incident or field, a value of the wrong type, or
                reopening a resolved incident while another one is active.
        """
        unknown = sorted(set(changes) - INCIDENT_FIELDS)
        if unknown:
            raise StoreError(f"cannot update incident field(s): {', '.join(unknown)}")
        when = _epoch(at)
        wanted = {name: _coerce_incident_field(name, value) for name, value in changes.items()}
        async with self._write(durable=True) as db:
            current = await _load_incident(db, incident_id, timeline=False)
            if current is None:
                raise StoreError(f"no incident #{incident_id}")
            changed = {
                name: value for name, value in wanted.items() if getattr(current, name) != value
            }
            if changed:
                reopening = (
                    changed.get("status", IncidentStatus.RESOLVED) is not IncidentStatus.RESOLVED
                    and current.status is IncidentStatus.RESOLVED
                )
                if reopening:
                    await _refuse_second_active(db, incident_id)
                columns: dict[str, object] = {}
                for name, value in changed.items():
                    columns.update(_incident_columns(name, value))
                columns.update(updated_at=when, updated_by=actor)
                assignments = ", ".join(f"{column} = ?" for column in columns)
                await db.execute(
                    f"UPDATE incidents SET {assignments} WHERE id = ?",
                    (*columns.values(), incident_id),
                )
            stored = await _load_incident(db, incident_id)
        assert stored is not None
        return stored

    async def resolve_incident(
        self,
        incident_id: int,
        changes: Mapping[str, object],
        *,
        actor: str,
        at: datetime,
        entry: TimelineEntry | None = None,
        expected: Mapping[str, object] | None = None,
    ) -> Incident | None:
        """Resolve incident ``incident_id`` unless it already is (see
        :meth:`~opsconsole.core.store.IncidentStore.resolve_incident`).

        One conditional ``UPDATE … WHERE status != 'resolved'`` inside ``BEGIN IMMEDIATE``:
        of two consoles (or processes) resolving at once, the second waits for the first
        one's COMMIT and then matches no row. Only ``status`` decides, as it does for
        :meth:`active_incident`: a reopened incident keeps its old ``resolved_at``.

        Returns:
            The resolved incident with its timeline, or None when it was already resolved.

        Raises:
            IncidentConflict: a field of ``expected`` no longer holds the value given.
            StoreError: for an unknown incident or field, ``status``/``resolved_at`` in
                ``changes``, a value of the wrong type, or a failed write.
        """
        expected = dict(expected or {})
        unknown = sorted((set(changes) | set(expected)) - INCIDENT_FIELDS)
        if unknown:
            raise StoreError(f"cannot update incident field(s): {', '.join(unknown)}")
        fixed = sorted({"status", "resolved_at"} & set(changes))
        if fixed:
            raise StoreError(f"resolve_incident sets {' and '.join(fixed)} itself")
        wanted = {name: _coerce_incident_field(name, value) for name, value in changes.items()}
        wanted["status"] = IncidentStatus.RESOLVED
        wanted["resolved_at"] = _coerce_incident_field("resolved_at", at)
        claim = None if entry is None else _coerce_entry(entry)
        columns: dict[str, object] = {}
        for name, value in wanted.items():
            columns.update(_incident_columns(name, value))
        columns.update(updated_at=_epoch(at), updated_by=actor)
        assignments = ", ".join(f"{column} = ?" for column in columns)
        held: dict[str, object] = {}
        for name, value in expected.items():
            held.update(_incident_columns(name, _coerce_incident_field(name, value)))
        conditions = "".join(f" AND {column} IS ?" for column in held)
        async with self._write(durable=True) as db:
            async with db.execute(
                f"UPDATE incidents SET {assignments} "
                f"WHERE id = ? AND status != 'resolved'{conditions}",
                (*columns.values(), incident_id, *held.values()),
            ) as cursor:
                won = cursor.rowcount == 1
            if not won:
                current = await _load_incident(db, incident_id, timeline=False)
                if current is None:
                    raise StoreError(f"no incident #{incident_id}")
                if current.status is IncidentStatus.RESOLVED:
                    return None
                changed = [
                    f"{name} is now {_shown(getattr(current, name))} (you saw {_shown(value)})"
                    for name, value in expected.items()
                    if getattr(current, name) != value
                ]
                raise IncidentConflict(
                    f"incident #{incident_id} changed meanwhile: "
                    + ("; ".join(changed) or "it was changed")
                )
            if claim is not None:
                await _insert_entry(db, incident_id, claim)
            stored = await _load_incident(db, incident_id)
        assert stored is not None
        return stored

    async def append_timeline(self, incident_id: int, entry: TimelineEntry) -> TimelineEntry:
        """Append ``entry`` to incident ``incident_id``'s timeline (its ``id`` is ignored).

        The timeline is append-only: SQLite triggers refuse any DELETE, and any UPDATE
        but of ``delivery`` (see :meth:`set_entry_delivery`).

        Returns:
            The stored entry, with its ``id`` (and ``at`` as aware UTC).

        Raises:
            StoreError: when the incident does not exist, a value is invalid, or the
                write fails.
        """
        entry = _coerce_entry(entry)
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
            )
            if not rows:
                raise StoreError(f"no incident #{incident_id}")
            entry_id = await _insert_entry(db, incident_id, entry)
        return replace(entry, id=entry_id)

    async def set_entry_delivery(self, entry_id: int, delivery: str) -> None:
        """Record the delivery result of timeline entry ``entry_id``.

        The only change a timeline entry ever sees (e.g. ``slack: queued`` →
        ``slack: ok``). The text is redacted (:func:`~opsconsole.core.redact.redact_text`)
        so a webhook URL in an error message never reaches the database.

        Raises:
            StoreError: when the entry does not exist or the write fails.
        """
        if not isinstance(delivery, str):
            raise StoreError(f"bad delivery: {delivery!r}")
        async with (
            self._write(durable=True) as db,
            db.execute(
                "UPDATE incident_timeline SET delivery = ? WHERE id = ?",
                (redact_text(delivery), entry_id),
            ) as cursor,
        ):
            if cursor.rowcount == 0:
                raise StoreError(f"no timeline entry {entry_id}")

    async def _read_incident(self, sql: str, params: Sequence[Any]) -> Incident | None:
        try:
            rows = await self._query(sql, params)
            if not rows:
                return None
            entries = await self._query(_TIMELINE_SQL, (int(rows[0][0]),))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return replace(_row_to_incident(rows[0]), timeline=tuple(_row_to_entry(r) for r in entries))

    # -- ReportStore protocol ----------------------------------------------------------

    async def incidents_since(self, since: datetime) -> list[Incident]:
        """Return the incidents started at or after ``since``, oldest first, with timelines."""
        try:
            rows = await self._query(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE started_at >= ? "
                "ORDER BY started_at, id",
                (_epoch(since),),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return await self._with_timelines(rows)


def _shown(value: object) -> str:
    """A field value as the conflict message names it: an enum's value, a time, none."""
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(getattr(value, "value", value))
