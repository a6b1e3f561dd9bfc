"""Ticket, message and audit rows: columns, conversions, in-transaction reads and inserts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from opsconsole.adapters.sqlite.common import (
    _epoch,
    _from_epoch,
    _lastrowid,
    _opt_epoch,
    _placeholders,
)
from opsconsole.core.store import StoreError
from opsconsole.core.tickets import (
    SEVERITY_RANK,
    Attachment,
    AuditEntry,
    Category,
    Direction,
    Level,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)

_TICKET_INSERT_COLUMNS = (
    "subject, requester_name, requester_address, requester_company, received_at, category, "
    "severity, severity_rank, status, assignee, first_response_at, resolved_at, level, tags, "
    "triage_rule, runbook, pauses, next_due, defects, updated_at, search"
)
_TICKET_COLUMNS = (
    "number, subject, requester_name, requester_address, requester_company, received_at, "
    "category, severity, status, assignee, first_response_at, resolved_at, level, tags, "
    "triage_rule, runbook, pauses, next_due, defects"
)
_DUE_INPUT_COLUMNS = "number, next_due, severity, first_response_at, resolved_at, pauses"
"""What a ``next_due`` recompute read (the SLA inputs as stored), so its write can match it."""
_DUE_UPDATE_SQL = (
    "UPDATE tickets SET next_due = ? WHERE number = ? AND next_due IS ? AND severity = ? "
    "AND first_response_at IS ? AND resolved_at IS ? AND pauses = ?"
)
_MESSAGE_INSERT_COLUMNS = "direction, at, author, subject, body, message_id, attachments, defects"
_MESSAGE_COLUMNS = f"id, {_MESSAGE_INSERT_COLUMNS}"
_THREAD_SQL = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE ticket = ? ORDER BY at, id"
_AUDIT_SQL = "SELECT at, actor, field, old, new FROM audit WHERE ticket = ? ORDER BY id"
_SEARCH_SEPARATOR = "\n"  # between fields, so a match never spans two of them


def _search_text(ticket: Ticket) -> str:
    requester = ticket.requester
    fields = (ticket.subject, requester.name, requester.address, requester.company)
    return _SEARCH_SEPARATOR.join(fields).casefold()


def _pauses_json(pauses: Sequence[tuple[datetime, datetime | None]]) -> str:
    return json.dumps([[_epoch(start), _opt_epoch(end)] for start, end in pauses])


def _ticket_row(ticket: Ticket, now: datetime) -> tuple[object, ...]:
    """The values of :data:`_TICKET_INSERT_COLUMNS` for ``ticket``."""
    requester = ticket.requester
    return (
        ticket.subject,
        requester.name,
        requester.address,
        requester.company,
        _epoch(ticket.received_at),
        ticket.category.value,
        ticket.severity.value,
        SEVERITY_RANK[ticket.severity],
        ticket.status.value,
        ticket.assignee or None,
        _opt_epoch(ticket.first_response_at),
        _opt_epoch(ticket.resolved_at),
        ticket.level.value,
        json.dumps(list(ticket.tags)),
        ticket.triage_rule,
        ticket.runbook,
        _pauses_json(ticket.pauses),
        _opt_epoch(ticket.next_due),
        json.dumps(list(ticket.defects)),
        _epoch(now),
        _search_text(ticket),
    )


def _message_row(message: ThreadMessage) -> tuple[object, ...]:
    """The values of :data:`_MESSAGE_INSERT_COLUMNS` for ``message``."""
    attachments = [
        {"name": a.name, "size": a.size, "content_type": a.content_type}
        for a in message.attachments
    ]
    return (
        message.direction.value,
        _epoch(message.at),
        message.author,
        message.subject,
        message.body,
        message.message_id,
        json.dumps(attachments),
        json.dumps(list(message.defects)),
    )


def _row_to_ticket(row: Iterable[Any]) -> Ticket:
    (
        number,
        subject,
        name,
        address,
        company,
        received_at,
        category,
        severity,
        status,
        assignee,
        first_response_at,
        resolved_at,
        level,
        tags,
        triage_rule,
        runbook,
        pauses,
        next_due,
        defects,
    ) = row
    return Ticket(
        number=int(number),
        subject=subject,
        requester=Requester(name=name, address=address, company=company),
        received_at=datetime.fromtimestamp(received_at, UTC),
        category=Category(category),
        severity=Severity(severity),
        status=Status(status),
        assignee=assignee,
        first_response_at=_from_epoch(first_response_at),
        resolved_at=_from_epoch(resolved_at),
        level=Level(level),
        tags=tuple(json.loads(tags)),
        triage_rule=triage_rule,
        runbook=runbook,
        pauses=tuple(
            (datetime.fromtimestamp(start, UTC), _from_epoch(end))
            for start, end in json.loads(pauses)
        ),
        next_due=_from_epoch(next_due),
        defects=tuple(json.loads(defects)),
    )


def _due_updates(
    rows: Iterable[Sequence[Any]], deadline: Callable[[Ticket], datetime | None]
) -> list[tuple[object, ...]]:
    """:data:`_DUE_UPDATE_SQL` parameters for the rows (:data:`_DUE_INPUT_COLUMNS`, then
    :data:`_TICKET_COLUMNS`) whose ``next_due`` ``deadline`` changes."""
    width = len(_DUE_INPUT_COLUMNS.split(","))
    updates: list[tuple[object, ...]] = []
    for row in rows:
        number, stored, *inputs = row[:width]
        due = _opt_epoch(deadline(_row_to_ticket(row[width:])))
        if due != stored:
            updates.append((due, number, stored, *inputs))
    return updates


def _row_to_message(row: Iterable[Any]) -> ThreadMessage:
    message_pk, direction, at, author, subject, body, message_id, attachments, defects = row
    return ThreadMessage(
        direction=Direction(direction),
        at=datetime.fromtimestamp(at, UTC),
        author=author,
        body=body,
        subject=subject,
        message_id=message_id,
        attachments=tuple(
            Attachment(name=a["name"], size=int(a["size"]), content_type=a["content_type"])
            for a in json.loads(attachments)
        ),
        defects=tuple(json.loads(defects)),
        id=int(message_pk),
    )


def _row_to_audit(row: Iterable[Any]) -> AuditEntry:
    at, actor, field, old, new = row
    return AuditEntry(
        at=datetime.fromtimestamp(at, UTC), actor=actor, field=field, old=old, new=new
    )


async def _load_ticket(db: aiosqlite.Connection, number: int, *, full: bool) -> Ticket | None:
    """Read a ticket on ``db`` (inside the caller's transaction); ``full`` adds thread/audit."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE number = ?", (number,)
        )
    )
    if not rows:
        return None
    ticket = _row_to_ticket(rows[0])
    if not full:
        return ticket
    thread = await db.execute_fetchall(_THREAD_SQL, (number,))
    audit = await db.execute_fetchall(_AUDIT_SQL, (number,))
    return replace(
        ticket,
        thread=tuple(_row_to_message(r) for r in thread),
        audit=tuple(_row_to_audit(r) for r in audit),
    )


async def _require_ticket(db: aiosqlite.Connection, number: int) -> None:
    rows = list(await db.execute_fetchall("SELECT 1 FROM tickets WHERE number = ?", (number,)))
    if not rows:
        raise StoreError(f"no ticket #{number}")


async def _ticket_of_message(db: aiosqlite.Connection, message_id: str | None) -> int | None:
    if message_id is None:
        return None
    rows = list(
        await db.execute_fetchall("SELECT ticket FROM messages WHERE message_id = ?", (message_id,))
    )
    return int(rows[0][0]) if rows else None


async def _insert_message(db: aiosqlite.Connection, number: int, row: Sequence[object]) -> int:
    async with db.execute(
        f"INSERT INTO messages (ticket, {_MESSAGE_INSERT_COLUMNS}) "
        f"VALUES (?, {_placeholders(len(row))})",
        (number, *row),
    ) as cursor:
        return _lastrowid(cursor)


async def _insert_audit(
    db: aiosqlite.Connection,
    number: int,
    at: float,
    actor: str,
    field: str,
    old: str | None,
    new: str | None,
) -> None:
    await db.execute(
        "INSERT INTO audit (ticket, at, actor, field, old, new) VALUES (?, ?, ?, ?, ?, ?)",
        (number, at, actor, field, old, new),
    )
