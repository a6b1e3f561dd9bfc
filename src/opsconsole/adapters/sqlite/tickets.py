"""Support tickets: the :class:`~opsconsole.core.store.TicketStore` methods."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from opsconsole.adapters.sqlite.common import _epoch, _lastrowid, _one_line, _placeholders
from opsconsole.adapters.sqlite.connection import SqliteBase
from opsconsole.adapters.sqlite.ticket_fields import (
    _coerce_field,
    _field_columns,
    _render,
    _shown,
    _step_state,
)
from opsconsole.adapters.sqlite.ticket_query import _ticket_order, _ticket_where
from opsconsole.adapters.sqlite.ticket_rows import (
    _AUDIT_SQL,
    _DUE_INPUT_COLUMNS,
    _DUE_UPDATE_SQL,
    _MESSAGE_COLUMNS,
    _MESSAGE_INSERT_COLUMNS,
    _THREAD_SQL,
    _TICKET_COLUMNS,
    _TICKET_INSERT_COLUMNS,
    _due_updates,
    _insert_audit,
    _insert_message,
    _load_ticket,
    _message_row,
    _require_ticket,
    _row_to_audit,
    _row_to_message,
    _row_to_ticket,
    _ticket_of_message,
    _ticket_row,
)
from opsconsole.core.store import (
    TICKET_FIELDS,
    UNAUDITED_FIELDS,
    AckClaim,
    StoreError,
    TicketConflict,
    TicketQuery,
)
from opsconsole.core.tickets import CLOSED_STATUSES, Status, ThreadMessage, Ticket

_STATUS_VALUES = frozenset(s.value for s in Status)
_SLA_POLICY_KEY = "sla_policy"
"""The ``meta`` row naming the SLA policy the stored ``next_due`` values follow."""


class TicketsMixin(SqliteBase):
    """Tickets, threads, audit trail and runbook ticks; durable writes throughout."""

    async def create_ticket(
        self, ticket: Ticket, first_message: ThreadMessage, *, actor: str
    ) -> Ticket:
        """Store a new ticket with its first message and a ``created`` audit entry.

        The number comes from the ``tickets`` AUTOINCREMENT sequence inside the write
        transaction: 101 first, strictly increasing, never reused, and without gaps
        (a rolled-back transaction takes no number). ``ticket.number``, ``thread`` and
        ``audit`` are ignored. When ``first_message.message_id`` is already stored, nothing
        is written and the ticket holding that message is returned.

        Raises:
            StoreError: when the write fails.
            ValueError: for naive datetimes.
        """
        created = self.clock()
        row = _ticket_row(ticket, created)
        message = _message_row(first_message)
        now = _epoch(created)
        async with self._write(durable=True) as db:
            existing = await _ticket_of_message(db, first_message.message_id)
            if existing is not None:
                number = existing
            else:
                async with db.execute(
                    f"INSERT INTO tickets ({_TICKET_INSERT_COLUMNS}) "
                    f"VALUES ({_placeholders(len(row))})",
                    row,
                ) as cursor:
                    number = _lastrowid(cursor)
                await _insert_message(db, number, message)
                await _insert_audit(db, number, now, actor, "created", None, f"#{number}")
            stored = await _load_ticket(db, number, full=True)
        assert stored is not None
        return stored

    async def find_ticket_by_message_id(self, message_id: str) -> int | None:
        """Return the number of the ticket whose thread holds ``message_id``, if any."""
        rows = await self._fetchall(
            "SELECT ticket FROM messages WHERE message_id = ?", (message_id,)
        )
        return int(rows[0][0]) if rows else None

    async def add_message(
        self, number: int, message: ThreadMessage, *, actor: str
    ) -> ThreadMessage:
        """Append ``message`` to ticket ``number``'s thread, audited as ``message added``.

        Idempotent by ``message.message_id`` (unique over all threads): when it is already
        stored, nothing is written and the stored message is returned, whichever ticket
        holds it.

        Returns:
            The stored message, with its ``id``.

        Raises:
            StoreError: when ticket ``number`` does not exist or the write fails.
        """
        row = _message_row(message)
        now = _epoch(self.clock())
        async with self._write(durable=True) as db:
            if message.message_id is not None:
                rows = await db.execute_fetchall(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id = ?",
                    (message.message_id,),
                )
                if rows:
                    return _row_to_message(next(iter(rows)))
            await _require_ticket(db, number)
            message_id = await _insert_message(db, number, row)
            await _insert_audit(
                db, number, now, actor, "message added", None, message.direction.value
            )
            await db.execute("UPDATE tickets SET updated_at = ? WHERE number = ?", (now, number))
        return replace(message, id=message_id)

    async def update_ticket(
        self,
        number: int,
        changes: Mapping[str, object],
        *,
        actor: str,
        at: datetime,
        expected: Mapping[str, object] | None = None,
    ) -> Ticket:
        """Change fields of ticket ``number``; one audit entry per field that changes.

        Values are checked and normalised first (enums from their values, ``""`` assignee
        or runbook as None, datetimes as aware UTC, tags and pauses as tuples). The current row is
        read inside the write transaction, so concurrent updates never audit a stale
        ``old`` value. ``next_due`` is stored but not audited. When no value changes,
        nothing is written (``updated_at`` included). Only the columns of fields that
        change are written, so concurrent changes of other fields merge.

        ``expected`` (normalised like ``changes``) is compared with that same in-transaction
        row: the ``BEGIN IMMEDIATE`` write lock makes the compare and the write atomic
        across processes, so of two operators who saw the same value, the second gets
        :class:`~opsconsole.core.store.TicketConflict` instead of overwriting the first.

        Returns:
            The ticket after the change, with thread and audit trail.

        Raises:
            TicketConflict: when a field in ``expected`` no longer has the value given.
            StoreError: for an unknown ticket or field, or a value of the wrong type.
        """
        unknown = sorted((set(changes) | set(expected or ())) - TICKET_FIELDS)
        if unknown:
            raise StoreError(f"cannot update ticket field(s): {', '.join(unknown)}")
        when = _epoch(at)
        wanted = {name: _coerce_field(name, value) for name, value in changes.items()}
        seen = {name: _coerce_field(name, value) for name, value in (expected or {}).items()}
        async with self._write(durable=True) as db:
            current = await _load_ticket(db, number, full=False)
            if current is None:
                raise StoreError(f"no ticket #{number}")
            stale = [name for name, value in seen.items() if getattr(current, name) != value]
            if stale:
                raise TicketConflict(
                    f"ticket #{number} changed meanwhile: "
                    + "; ".join(
                        f"{name} is now {_shown(getattr(current, name))} "
                        f"(you saw {_shown(seen[name])})"
                        for name in stale
                    ),
                    number=number,
                    fields=tuple(stale),
                )
            changed = {
                name: value for name, value in wanted.items() if getattr(current, name) != value
            }
            if changed:
                columns: dict[str, object] = {}
                for name, value in changed.items():
                    columns.update(_field_columns(name, value))
                columns["updated_at"] = when
                assignments = ", ".join(f"{column} = ?" for column in columns)
                await db.execute(
                    f"UPDATE tickets SET {assignments} WHERE number = ?",
                    (*columns.values(), number),
                )
                for name, value in changed.items():
                    if name not in UNAUDITED_FIELDS:
                        old = _render(getattr(current, name))
                        await _insert_audit(db, number, when, actor, name, old, _render(value))
            stored = await _load_ticket(db, number, full=True)
        assert stored is not None
        return stored

    async def get_ticket(self, number: int) -> Ticket | None:
        """Return ticket ``number`` with its thread (by time) and audit trail (as recorded)."""
        try:
            rows = await self._query(
                f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE number = ?", (number,)
            )
            if not rows:
                return None
            thread = await self._query(_THREAD_SQL, (number,))
            audit = await self._query(_AUDIT_SQL, (number,))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return replace(
            _row_to_ticket(rows[0]),
            thread=tuple(_row_to_message(r) for r in thread),
            audit=tuple(_row_to_audit(r) for r in audit),
        )

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Return one page of tickets (LIMIT/OFFSET in SQL), without thread or audit.

        Every sort order ends with the ticket number and has a matching index, so pages
        are stable and an unfiltered page is an index walk. The text filter is a scan of
        the casefolded ``search`` column (``instr``, so no LIKE wildcards to escape).

        Raises:
            StoreError: for an unknown sort or a failed read.
        """
        if query.limit <= 0:
            return []
        where, params = _ticket_where(query)
        order = _ticket_order(query)
        # With a text filter, walking a sort index and testing each row costs one random
        # row read per ticket until the page is full: 0.5 ms for a common word but 130 ms
        # at 100k tickets for a rare one. NOT INDEXED scans the table in order and sorts
        # only the matches (top-N sorter): 25-35 ms whatever the selectivity.
        source = "tickets NOT INDEXED" if query.text.strip() else "tickets"
        rows = await self._fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM {source}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, query.limit, max(query.offset, 0)),
        )
        return [_row_to_ticket(row) for row in rows]

    async def count_tickets(self, query: TicketQuery) -> int:
        """Return how many tickets match ``query``'s filters (sort and page ignored)."""
        where, params = _ticket_where(query)
        rows = await self._fetchall(f"SELECT count(*) FROM tickets{where}", params)
        return int(rows[0][0])

    async def ticket_counts(self) -> dict[str, int]:
        """Return the number of tickets per status value, zeros included, plus two totals.

        ``"all_open"`` counts every ticket that is neither resolved nor closed and
        ``"total"`` every ticket. (The aggregate cannot be called ``"open"``: that key is
        already the count of tickets whose status is :attr:`Status.OPEN`.)
        """
        rows = await self._fetchall("SELECT status, count(*) FROM tickets GROUP BY status")
        counts = {status.value: 0 for status in Status}
        for status, count in rows:
            counts[str(status)] = int(count)
        closed = {s.value for s in CLOSED_STATUSES}
        counts["all_open"] = sum(n for s, n in counts.items() if s in _STATUS_VALUES - closed)
        counts["total"] = sum(n for s, n in counts.items() if s in _STATUS_VALUES)
        return counts

    async def set_runbook_step(
        self, number: int, step: int, done: bool, *, actor: str, at: datetime
    ) -> None:
        """Tick or untick runbook step ``step`` of ticket ``number``, with an audit entry.

        The audit field is ``runbook step N`` with ``done``/``not done`` as values.
        Setting a step to the state it already has writes nothing.

        Raises:
            StoreError: when ticket ``number`` does not exist or the write fails.
        """
        when = _epoch(at)
        async with self._write(durable=True) as db:
            await _require_ticket(db, number)
            rows = list(
                await db.execute_fetchall(
                    "SELECT done FROM runbook_steps WHERE ticket = ? AND step = ?",
                    (number, step),
                )
            )
            if bool(rows and rows[0][0]) == done:
                return
            await db.execute(
                "INSERT INTO runbook_steps (ticket, step, done) VALUES (?, ?, ?) "
                "ON CONFLICT (ticket, step) DO UPDATE SET done = excluded.done",
                (number, step, int(done)),
            )
            await _insert_audit(
                db,
                number,
                when,
                actor,
                f"runbook step {step}",
                _step_state(not done),
                _step_state(done),
            )
            await db.execute("UPDATE tickets SET updated_at = ? WHERE number = ?", (when, number))

    async def runbook_steps(self, number: int) -> frozenset[int]:
        """Return the ticked runbook steps of ticket ``number`` (empty when none or unknown)."""
        rows = await self._fetchall(
            "SELECT step FROM runbook_steps WHERE ticket = ? AND done = 1", (number,)
        )
        return frozenset(int(row[0]) for row in rows)

    # -- the §3.1 acknowledgement, claimed once ----------------------------------------

    async def claim_acknowledgement(
        self, number: int, *, claimant: str, at: datetime, replacing: AckClaim | None = None
    ) -> bool:
        """Claim the sending of ticket ``number``'s acknowledgement; True for one caller.

        The first claim is an INSERT into ``ticket_acks`` (its primary key is the ticket);
        a takeover is an UPDATE of the exact unfinished claim in ``replacing``. Both run in
        ``BEGIN IMMEDIATE``, so two processes can never both get True.

        Raises:
            StoreError: when ticket ``number`` does not exist or the write fails.
        """
        when = _epoch(at)
        async with self._write(durable=True) as db:
            await _require_ticket(db, number)
            if replacing is None:
                sql = (
                    "INSERT INTO ticket_acks (ticket, claimed_by, claimed_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (ticket) DO NOTHING"
                )
                params: tuple[object, ...] = (number, claimant, when)
            else:
                sql = (
                    "UPDATE ticket_acks SET claimed_by = ?, claimed_at = ? "
                    "WHERE ticket = ? AND claimed_by = ? AND outcome IS NULL"
                )
                params = (claimant, when, number, replacing.claimant)
            async with db.execute(sql, params) as cursor:
                return cursor.rowcount == 1

    async def acknowledgement_claim(self, number: int) -> AckClaim | None:
        """Return the claim on ticket ``number``'s acknowledgement, if it was ever claimed."""
        rows = await self._fetchall(
            "SELECT claimed_by, claimed_at, outcome FROM ticket_acks WHERE ticket = ?", (number,)
        )
        if not rows:
            return None
        claimant, claimed_at, outcome = rows[0]
        return AckClaim(str(claimant), datetime.fromtimestamp(claimed_at, UTC), outcome)

    async def finish_acknowledgement(self, number: int, outcome: str, *, at: datetime) -> None:
        """Record how ticket ``number``'s claimed acknowledgement ended."""
        async with self._write(durable=True) as db:
            await db.execute(
                "UPDATE ticket_acks SET outcome = ?, done_at = ? WHERE ticket = ?",
                (outcome, _epoch(at), number),
            )

    # -- the SLA policy behind the stored next_due -----------------------------------

    async def refresh_next_due(
        self, policy_key: str, deadline: Callable[[Ticket], datetime | None]
    ) -> int | None:
        """Recompute open tickets' ``next_due`` when ``policy_key`` differs from the stored key.

        The open tickets are read and their deadlines computed (in a worker thread) outside
        the write lock, so other processes keep writing meanwhile; then one ``BEGIN
        IMMEDIATE`` transaction checks the key again (another process may have done it),
        writes the changed values with ``executemany`` and stores the key. Each UPDATE
        matches the ticket's SLA inputs and ``next_due`` as read, so a ticket changed in
        between keeps the value its writer stored. ``updated_at`` is left alone: a new
        policy is not a change of the ticket (and ``next_due`` is not audited).

        Returns:
            How many tickets' ``next_due`` changed; None when the key was already stored.
        """
        if await self._meta(_SLA_POLICY_KEY) == policy_key:
            return None
        where, params = _ticket_where(TicketQuery(open_only=True))
        rows = await self._fetchall(
            f"SELECT {_DUE_INPUT_COLUMNS}, {_TICKET_COLUMNS} FROM tickets{where}", params
        )
        updates = await asyncio.to_thread(_due_updates, rows, deadline)
        changed = 0
        async with self._write(durable=True) as db:
            stored = list(
                await db.execute_fetchall(
                    "SELECT value FROM meta WHERE key = ?", (_SLA_POLICY_KEY,)
                )
            )
            if stored and stored[0][0] == policy_key:
                return None
            if updates:
                async with db.executemany(_DUE_UPDATE_SQL, updates) as cursor:
                    changed = cursor.rowcount
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_SLA_POLICY_KEY, policy_key),
            )
        return changed

    async def _meta(self, key: str) -> str | None:
        rows = await self._fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    # -- ReportStore protocol ----------------------------------------------------------

    async def tickets_received_since(self, since: datetime) -> list[Ticket]:
        """Return every ticket received at or after ``since`` (any status), oldest first.

        Without thread or audit; walks the ``tickets_received`` index.
        """
        rows = await self._fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE received_at >= ? "
            "ORDER BY received_at, number",
            (_epoch(since),),
        )
        return [_row_to_ticket(row) for row in rows]

    # -- bulk loading (benchmarks, demo) -----------------------------------------------

    async def bulk_insert_tickets(self, tickets: Sequence[Ticket]) -> None:
        """Insert many tickets, with their threads and audit trails, in one transaction.

        For benchmarks and demo seeding; not part of :class:`TicketStore`. Uses
        ``executemany``, so 100k tickets take about a second. A ticket with a positive
        ``number`` keeps it (it must be new); the others get the next numbers in order.
        No ``created`` audit entries are added: only the given ``ticket.audit`` is stored.

        Raises:
            StoreError: when a number is already taken or the write fails.
            ValueError: for naive datetimes.
        """
        if not tickets:
            return
        now = self.clock()
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'tickets'")
            )
            explicit = [t.number for t in tickets if t.number > 0]
            next_number = max([int(rows[0][0]) if rows else 100, *explicit]) + 1
            ticket_rows: list[tuple[object, ...]] = []
            message_rows: list[tuple[object, ...]] = []
            audit_rows: list[tuple[object, ...]] = []
            for ticket in tickets:
                number = ticket.number
                if number <= 0:
                    number, next_number = next_number, next_number + 1
                ticket_rows.append((number, *_ticket_row(ticket, now)))
                message_rows.extend((number, *_message_row(m)) for m in ticket.thread)
                audit_rows.extend(
                    (number, _epoch(a.at), a.actor, a.field, a.old, a.new) for a in ticket.audit
                )
            await db.executemany(
                f"INSERT INTO tickets (number, {_TICKET_INSERT_COLUMNS}) "
                f"VALUES ({_placeholders(len(ticket_rows[0]))})",
                ticket_rows,
            )
            if message_rows:
                await db.executemany(
                    f"INSERT INTO messages (ticket, {_MESSAGE_INSERT_COLUMNS}) "
                    f"VALUES ({_placeholders(len(message_rows[0]))})",
                    message_rows,
                )
            if audit_rows:
                await db.executemany(
                    "INSERT INTO audit (ticket, at, actor, field, old, new) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    audit_rows,
                )
