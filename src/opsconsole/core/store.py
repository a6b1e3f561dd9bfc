"""The Store protocol: what the engine and UI need from persistence.

The aiosqlite implementation lives in the ``opsconsole.adapters.sqlite`` package
(imported as ``opsconsole.adapters.sqlite_store``); a PostgreSQL one can slot in later
without touching ui or core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Literal, Protocol

from opsconsole.core.checklists import ItemResult
from opsconsole.core.incidents import Incident, TimelineEntry
from opsconsole.core.models import ProbeResult, ProbeState, Uptime
from opsconsole.core.tickets import Severity, Status, ThreadMessage, Ticket
from opsconsole.core.uptime import RollupRow

TicketSort = Literal["due", "received", "severity", "number"]


class StoreError(Exception):
    """A persistence failure with a one-line, human-readable message."""


class TicketConflict(StoreError):
    """Another operator changed a ticket field since this operator looked at it.

    Raised by :meth:`TicketStore.update_ticket` when a value in ``expected`` no longer
    matches the stored one; nothing is written. The message is one line naming each
    field, its current value and the value the operator saw, e.g. ``ticket #101 changed
    meanwhile: severity is now high (you saw critical)``.

    Attributes:
        number: The ticket.
        fields: The fields that changed meanwhile, in ``expected`` order.
    """

    def __init__(self, message: str, *, number: int, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.number = number
        self.fields = fields


class IncidentConflict(StoreError):
    """An incident field changed since the caller read it (another console set the status
    back to investigating while this one resolved): nothing was written. The message is
    one line, e.g. ``incident #3 changed meanwhile: status is now investigating (you saw
    monitoring)``."""


class Store(Protocol):
    """Persistence for probe history (later: tickets, incidents, checklists)."""

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Persist one probe result and update its hourly rollup."""

    async def record_probe_results(self, results: Sequence[ProbeResult]) -> None:
        """Persist several probe results and their rollups in one transaction."""

    async def latest_results(self) -> dict[str, ProbeResult]:
        """Return the most recent result of every probe, keyed by probe name."""

    async def state_since(self, probe: str, state: ProbeState) -> datetime | None:
        """When ``probe``'s current run of results in ``state`` began (None if its newest
        stored result is in another state, or it has none)."""

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
        due_after: Only tickets whose next deadline (``next_due``) is at or after this.
        due_before: Only tickets whose next deadline is before this; with the current time,
            the tickets with a running SLA clock that is overdue. Either bound leaves out
            tickets without a deadline.
        unanswered: Only tickets without a first response yet.
        updated_before: Only tickets last changed (triaged, noted, replied to, a message
            in) before this: with "now - 7 days", the stale ones.
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
    due_after: datetime | None = None
    due_before: datetime | None = None
    unanswered: bool = False
    updated_before: datetime | None = None
    sort: TicketSort = "due"
    descending: bool = False
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class AckClaim:
    """Who claimed a ticket's §3.1 acknowledgement, and how it ended.

    Attributes:
        claimant: ``host:pid:token`` of the process that claimed it.
        claimed_at: When.
        outcome: ``sent`` or ``not sent``; None while the claimant is still at it (or
            died before finishing it).
    """

    claimant: str
    claimed_at: datetime
    outcome: str | None = None


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
        self,
        number: int,
        changes: Mapping[str, object],
        *,
        actor: str,
        at: datetime,
        expected: Mapping[str, object] | None = None,
    ) -> Ticket:
        """Change fields of ticket ``number`` (see :data:`TICKET_FIELDS`).

        Writes one audit entry per field whose value really changes, with the old and
        new values rendered as text (``next_due`` is not audited). Changes that leave
        every value as it was write nothing. Only the fields in ``changes`` are written,
        so concurrent changes of *other* fields merge.

        ``expected`` is optimistic concurrency: the values the operator saw (any fields
        of :data:`TICKET_FIELDS`, normalised like ``changes``). Inside the write
        transaction each is compared with the stored value; if any differs, nothing is
        written and :class:`TicketConflict` is raised, so a change based on a stale view
        never silently overwrites someone else's.

        Returns:
            The ticket after the change, with thread and audit trail.

        Raises:
            TicketConflict: when a field in ``expected`` changed meanwhile.
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

    async def claim_acknowledgement(
        self, number: int, *, claimant: str, at: datetime, replacing: AckClaim | None = None
    ) -> bool:
        """Claim the sending of ticket ``number``'s §3.1 acknowledgement.

        Atomic across processes: of several callers, exactly one gets True and sends it.
        Without ``replacing`` it is the first claim, granted only when the ticket has none.
        With ``replacing`` (a claim read by :meth:`acknowledgement_claim` whose process
        died before finishing it), that claim is taken over only if it is still exactly
        that one and still unfinished.
        """

    async def acknowledgement_claim(self, number: int) -> AckClaim | None:
        """Return the claim on ticket ``number``'s acknowledgement (None: never claimed)."""

    async def finish_acknowledgement(self, number: int, outcome: str, *, at: datetime) -> None:
        """Record how the claimed acknowledgement ended (``sent`` or ``not sent``)."""

    async def refresh_next_due(
        self, policy_key: str, deadline: Callable[[Ticket], datetime | None]
    ) -> int | None:
        """Recompute the stored ``next_due`` of every open ticket when the SLA policy changed.

        ``policy_key`` identifies the policy (:func:`opsconsole.core.sla.policy_key`); the
        store keeps the one the stored values were computed under. When it is the same,
        nothing is written and None is returned. Otherwise ``deadline`` (pure: it may run
        in a worker thread) gives each open ticket's new value; they and the new key are
        written in one transaction. A ticket changed meanwhile keeps its writer's value.

        Returns:
            How many tickets' ``next_due`` changed, or None when the policy had not.
        """


# -- incidents --------------------------------------------------------------------------------

INCIDENT_FIELDS = frozenset(
    {
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
    }
)
"""The incident fields :meth:`IncidentStore.update_incident` may change (all but ``id``
and ``timeline``)."""


@dataclass(frozen=True)
class OutboundMessage:
    """A message waiting in the outbox for delivery (e.g. a Slack update).

    Attributes:
        id: The outbox row id.
        channel: Where it goes, as a *name* (``"slack"``), never a webhook URL: the
            sender looks the destination up in its configuration.
        payload: What to send (for Slack: the message text).
        entry_id: The timeline entry whose ``delivery`` reports on this message, if any.
        attempts: Delivery attempts recorded so far with :meth:`IncidentStore.mark_outbound`.
        created_at: When it was queued.
        next_attempt_at: When it is due (again).
        last_error: The reason the last attempt failed, None before the first failure.
    """

    id: int
    channel: str
    payload: str
    entry_id: int | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


class IncidentStore(Protocol):
    """Persistence for incidents, their append-only timelines and the message outbox.

    Every write is durable once it returns (it survives power loss). At most one
    incident is active (not resolved) at a time, enforced by the store across processes
    sharing the database. Incident ids start at 1 and are never reused. Timeline entries
    are never changed or deleted; the only mutation is an entry's ``delivery`` result.
    """

    async def create_incident(self, incident: Incident, *, actor: str) -> Incident:
        """Store a new incident with its timeline and return it with its id.

        ``incident.id`` is ignored; ids are 1, 2, … The entries of ``incident.timeline``
        are stored (their ids ignored), plus a ``DECLARED`` entry
        ``"Declared: <title> (<severity>)"`` at ``started_at`` by ``actor`` unless the
        timeline already has one.

        Raises:
            StoreError: when an incident is already active (also when another process
                declared one first), or the write fails.
        """

    async def active_incident(self) -> Incident | None:
        """Return the active (unresolved) incident with its timeline, or None."""

    async def get_incident(self, incident_id: int) -> Incident | None:
        """Return incident ``incident_id`` with its timeline, or None."""

    async def list_incidents(self, limit: int = 100) -> list[Incident]:
        """Return up to ``limit`` incidents, newest first, each with its timeline."""

    async def update_incident(
        self, incident_id: int, changes: Mapping[str, object], *, actor: str, at: datetime
    ) -> Incident:
        """Change fields of an incident (see :data:`INCIDENT_FIELDS`).

        Writes no timeline entry: callers record what matters (status changes, snoozes)
        with :meth:`append_timeline`.

        Returns:
            The incident after the change, with its timeline.

        Raises:
            StoreError: for an unknown incident or field, a value of the wrong type, or
                reopening an incident while another one is active.
        """

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
        """Resolve an incident only if nobody has yet: the atomic claim of a resolution.

        In one transaction, and only while the incident is still active (also against
        other processes sharing the database): its status becomes resolved,
        ``resolved_at`` becomes ``at``, ``changes`` are applied as by
        :meth:`update_incident` (``actor`` and ``at`` as the row's last change), and
        ``entry`` (the all-clear), when given, is appended to its timeline. Of several
        callers resolving at once, exactly one gets the incident back.

        ``expected`` (field → value the caller read) is part of the claim: when a field
        no longer holds that value, nothing is written.

        Returns:
            The resolved incident with its timeline; None when it was already resolved
            (nothing was changed).

        Raises:
            IncidentConflict: a field of ``expected`` changed meanwhile.
            StoreError: for an unknown incident or field, ``status`` or ``resolved_at``
                in ``changes``, a value of the wrong type, or a failed write.
        """

    async def append_timeline(self, incident_id: int, entry: TimelineEntry) -> TimelineEntry:
        """Append ``entry`` (its ``id`` ignored) to an incident's timeline.

        Returns:
            The stored entry, with its ``id``.

        Raises:
            StoreError: when the incident does not exist or the write fails.
        """

    async def set_entry_delivery(self, entry_id: int, delivery: str) -> None:
        """Record the delivery result of a timeline entry (e.g. ``slack: queued`` → ``ok``).

        Raises:
            StoreError: when the entry does not exist.
        """

    async def enqueue_outbound(
        self, channel: str, payload: str, *, entry_id: int | None, at: datetime
    ) -> int:
        """Queue ``payload`` for ``channel`` (a name, never a URL), due at ``at``.

        Returns:
            The outbox message id.

        Raises:
            StoreError: when ``channel`` looks like a URL or the write fails.
        """

    async def pending_outbound(self, now: datetime) -> list[OutboundMessage]:
        """Return the undelivered messages due by ``now`` (``next_attempt_at <= now``),
        oldest first."""

    async def claim_outbound(self, message_id: int, *, now: datetime, until: datetime) -> bool:
        """Take message ``message_id`` for one delivery attempt: if it is still pending and
        due by ``now``, it is not due again before ``until`` (for anyone), and True is
        returned; False when another console took or delivered it first. A console that
        dies after claiming leaves it due again at ``until``: delayed, never lost."""

    async def mark_outbound(
        self,
        message_id: int,
        *,
        delivered: bool,
        error: str | None,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        """Record one delivery attempt of an outbox message (``attempts`` + 1).

        ``delivered=True`` takes it out of the queue. Otherwise ``error`` is kept as
        ``last_error`` and the message is due again at ``next_attempt_at``; with
        ``next_attempt_at=None`` it is given up (kept, but never pending again).

        Raises:
            StoreError: when the message does not exist.
        """


# -- reports ----------------------------------------------------------------------------------


class ReportStore(Protocol):
    """Read-only queries for the SLA and uptime report (:mod:`opsconsole.core.reports`).

    Each returns everything from ``since`` on; the report itself cuts the period's end.
    """

    async def rollups_since(self, since: datetime) -> dict[str, list[RollupRow]]:
        """Return probe name -> its hourly rollups with ``hour >= hour_start(since)``,
        oldest first. The bucket containing ``since`` is included whole."""

    async def tickets_received_since(self, since: datetime) -> list[Ticket]:
        """Return every ticket received at or after ``since``, whatever its status, oldest
        first, without thread or audit (empty tuples)."""

    async def incidents_since(self, since: datetime) -> list[Incident]:
        """Return the incidents started at or after ``since``, oldest first, each with its
        timeline."""


# -- checklists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistRun:
    """One run of the checklist: who ran it, when, and each item's latest state.

    Attributes:
        id: The run id (1, 2, …).
        operator: Who ran it.
        started_at: When it started.
        finished_at: When the operator finished it; None while open.
        results: Each recorded item's latest result, in the order first recorded.
    """

    id: int
    operator: str
    started_at: datetime
    finished_at: datetime | None
    results: tuple[ItemResult, ...]


class ChecklistStore(Protocol):
    """Persistence for checklist runs (guide §9).

    Every write is durable once it returns (it survives power loss). Run ids start at 1
    and are never reused.
    """

    async def start_checklist_run(self, operator: str, at: datetime) -> int:
        """Start a run by ``operator`` at ``at`` and return its id."""

    async def record_checklist_item(self, run_id: int, result: ItemResult, at: datetime) -> None:
        """Record an item's result in run ``run_id``, upserted by ``(run, key)``.

        The latest status, evidence, note and overdue flag win; ``at`` is when the item
        reached that state (the date :meth:`last_done_dates` reports).

        Raises:
            StoreError: when the run does not exist or the write fails.
        """

    async def finish_checklist_run(self, run_id: int, at: datetime) -> None:
        """Mark run ``run_id`` finished at ``at``.

        Raises:
            StoreError: when the run does not exist or the write fails.
        """

    async def checklist_runs(self, limit: int = 5) -> list[ChecklistRun]:
        """Return up to ``limit`` runs, latest start first, each with its results."""

    async def last_done_dates(self, *, tz: tzinfo = UTC) -> dict[str, date]:
        """Return item key -> the latest date (in ``tz``) it was recorded PASS or DONE.

        What :func:`~opsconsole.core.checklists.due_items` takes as ``last_done``.
        """

    async def first_run_since(self, since: datetime) -> ChecklistRun | None:
        """Return the first run started at or after ``since`` (e.g. the shift start),
        with its results, or None: the checklist opens by itself when there is none."""
