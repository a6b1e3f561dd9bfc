"""The Store protocol: what the engine and UI need from persistence.

The aiosqlite implementation lives in ``opsconsole.adapters.sqlite_store``; a
PostgreSQL one can slot in later without touching ui or core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from opsconsole.core.models import ProbeResult, Uptime
from opsconsole.core.tickets import Severity, Status, ThreadMessage, Ticket

TicketSort = Literal["due", "received", "severity", "number"]


class StoreError(Exception):
    """A persistence failure with a one-line, human-readable message."""


class Store(Protocol):
    """Persistence for probe history (later: tickets, incidents, checklists)."""

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Persist one probe result and update its hourly rollup."""

    async def latest_results(self) -> dict[str, ProbeResult]:
        """Return the most recent result of every probe, keyed by probe name."""

    async def recent_latencies(self, probe: str, limit: int = 30) -> list[float]:
        """Return up to ``limit`` latest latencies (ms), oldest first."""

    async def uptime(self, probe: str, now: datetime) -> Uptime:
        """Return uptime percentages over 24h, 7d and 30d, computed from rollups."""

    async def prune(self, older_than: datetime) -> int:
        """Delete results and rollups older than ``older_than``; return rows deleted."""

    async def close(self) -> None:
        """Flush and close."""


TICKET_FIELDS = frozenset(
    {
        "category",
        "severity",
        "status",
        "assignee",
        "level",
        "tags",
        "first_response_at",
        "resolved_at",
        "triage_rule",
        "runbook",
        "pauses",
        "next_due",
    }
)
"""The ticket fields :meth:`TicketStore.update_ticket` may change."""

UNAUDITED_FIELDS = frozenset({"next_due"})
"""Derived fields that are stored but not written to the audit trail."""


@dataclass(frozen=True)
class TicketQuery:
    """One page of the ticket queue: filters, sort order and window.

    Attributes:
        text: Case-insensitive substring matched against the subject and the requester's
            name, address and company; ``"#123"`` or ``"123"`` also matches ticket 123.
            Blank means no text filter.
        severities: Only these severities; empty means any.
        statuses: Only these statuses; empty means any.
        open_only: Only tickets that are neither resolved nor closed.
        assignee: Only tickets assigned to this person.
        unassigned: Only tickets without an assignee.
        sort: ``due``: next deadline first, tickets without one (none left, or paused)
            last, then most severe, then oldest. ``received``: oldest first.
            ``severity``: most severe first, then oldest. ``number``: lowest first.
            Every order ends with the ticket number, so pages are stable.
        descending: Reverse the whole order (for ``due``, tickets without a deadline
            then come first).
        limit: Page size.
        offset: Rows to skip before the page.
    """

    text: str = ""
    severities: frozenset[Severity] = frozenset()
    statuses: frozenset[Status] = frozenset()
    open_only: bool = False
    assignee: str | None = None
    unassigned: bool = False
    sort: TicketSort = "due"
    descending: bool = False
    limit: int = 200
    offset: int = 0


class TicketStore(Protocol):
    """Persistence for support tickets: fields, threads, audit trail and runbook ticks.

    Every write is durable once it returns (it survives power loss), and every change
    of a ticket field leaves an audit entry. Ticket numbers start at 101, only ever
    grow and are never reused.
    """

    async def create_ticket(
        self, ticket: Ticket, first_message: ThreadMessage, *, actor: str
    ) -> Ticket:
        """Store a new ticket with its first message and a ``created`` audit entry.

        ``ticket.number``, ``ticket.thread`` and ``ticket.audit`` are ignored: the store
        assigns the next number. When ``first_message.message_id`` is already stored,
        nothing is written and the ticket holding that message is returned instead, so
        intake stays idempotent even when two processes import the same mail at once.

        Returns:
            The stored ticket, with its number, thread and audit trail.
        """

    async def find_ticket_by_message_id(self, message_id: str) -> int | None:
        """Return the number of the ticket whose thread holds ``message_id``, if any."""

    async def add_message(
        self, number: int, message: ThreadMessage, *, actor: str
    ) -> ThreadMessage:
        """Append ``message`` to ticket ``number``'s thread, with a ``message added`` audit.

        Idempotent by ``message.message_id``: when it is already stored (on any ticket),
        nothing is written and the stored message is returned.

        Returns:
            The stored message, with its ``id``.

        Raises:
            StoreError: when the ticket does not exist.
        """

    async def update_ticket(
        self, number: int, changes: Mapping[str, object], *, actor: str, at: datetime
    ) -> Ticket:
        """Change fields of ticket ``number`` (see :data:`TICKET_FIELDS`).

        Writes one audit entry per field whose value really changes, with the old and
        new values rendered as text (``next_due`` is not audited). Changes that leave
        every value as it was write nothing.

        Returns:
            The ticket after the change, with thread and audit trail.

        Raises:
            StoreError: for an unknown ticket, an unknown field or a value of the wrong
                type.
        """

    async def get_ticket(self, number: int) -> Ticket | None:
        """Return ticket ``number`` with its thread and audit trail, oldest first."""

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Return one page of tickets, without thread or audit (empty tuples)."""

    async def count_tickets(self, query: TicketQuery) -> int:
        """Return how many tickets match ``query``'s filters (ignoring the page)."""

    async def ticket_counts(self) -> dict[str, int]:
        """Return the number of tickets per status value (zeros included) plus ``open``."""

    async def set_runbook_step(
        self, number: int, step: int, done: bool, *, actor: str, at: datetime
    ) -> None:
        """Tick (or untick) runbook step ``step`` of ticket ``number``, with an audit entry.

        Setting a step to the state it already has writes nothing.

        Raises:
            StoreError: when the ticket does not exist.
        """

    async def runbook_steps(self, number: int) -> frozenset[int]:
        """Return the ticked runbook steps of ticket ``number``."""
