"""Operator actions on a ticket: triage changes (kept consistent with the SLA clocks),
notes, replies and escalations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opsconsole.core.durations import format_duration
from opsconsole.core.sla import next_deadline, policy_key
from opsconsole.core.store import TicketConflict
from opsconsole.core.templates import TEMPLATES, Evidence, escalation_block, render
from opsconsole.core.tickets import (
    CLOSED_STATUSES,
    Category,
    Direction,
    Level,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)
from opsconsole.tickets.service_delivery import TicketDelivery

_SLA_INPUTS = ("severity", "first_response_at", "resolved_at", "pauses")
"""The ticket fields the stored ``next_due`` is computed from (besides ``received_at``)."""
_RETRIES = 5
"""How often a derived write is recomputed after another process changed its inputs."""


class TicketActions(TicketDelivery):
    """Triage, notes, replies and escalation: what the operator does to a ticket."""

    # -- triage -----------------------------------------------------------------------

    async def update(
        self,
        number: int,
        changes: Mapping[str, object],
        *,
        actor: str | None = None,
        expected: Mapping[str, object] | None = None,
    ) -> Ticket:
        """Apply ``changes`` (audited), then refresh the stored next deadline.

        ``expected`` holds the values the operator saw; when another operator changed one
        of them meanwhile, nothing is written and
        :class:`~opsconsole.core.store.TicketConflict` is raised (see
        :meth:`~opsconsole.core.store.TicketStore.update_ticket`). Only the fields in
        ``changes`` are written, so concurrent changes of other fields merge.

        Raises:
            TicketConflict: when a field in ``expected`` changed meanwhile.
        """
        now = self.clock()
        who = actor or self.actor
        ticket = await self.store.update_ticket(
            number, changes, actor=who, at=now, expected=expected
        )
        ticket = await self._store_next_due(ticket, who, now)
        self._notify(ticket)
        return ticket

    async def _store_next_due(self, ticket: Ticket, actor: str, now: datetime) -> Ticket:
        """Store ``next_due`` as computed from ``ticket``, unless another process changed the
        SLA inputs since: then recompute from the fresh ticket, so a stale deadline never
        overwrites a newer one."""
        for _ in range(_RETRIES):
            due = next_deadline(ticket, self.policy, now)
            if due == ticket.next_due:
                return ticket
            inputs = {name: getattr(ticket, name) for name in _SLA_INPUTS}
            try:
                return await self.store.update_ticket(
                    ticket.number, {"next_due": due}, actor=actor, at=now, expected=inputs
                )
            except TicketConflict:
                ticket = await self._get(ticket.number)
        return ticket

    async def refresh_deadlines(self) -> int | None:
        """Recompute the stored ``next_due`` of open tickets if the SLA policy changed.

        Call it on start, before the queue is read: the queue sorts, and the at-risk count
        selects, by the stored value, which an edited ``sla:`` would otherwise leave as it
        was until each ticket changed. An unchanged policy costs one read and writes
        nothing.

        Returns:
            How many tickets' deadline changed; None when the policy had not.
        """
        policy, now = self.policy, self.clock()
        return await self.store.refresh_next_due(
            policy_key(policy), lambda ticket: next_deadline(ticket, policy, now)
        )

    async def set_severity(
        self, number: int, severity: Severity, *, seen: Ticket | None = None
    ) -> Ticket:
        """Override the triaged severity (kept in the audit trail).

        With ``seen`` (the ticket as the operator saw it), raise
        :class:`~opsconsole.core.store.TicketConflict` instead of overwriting a severity
        someone else changed meanwhile.
        """
        return await self.update(number, {"severity": severity}, expected=_saw(seen, "severity"))

    async def set_category(
        self, number: int, category: Category, *, seen: Ticket | None = None
    ) -> Ticket:
        """Override the triaged category (``seen``: as in :meth:`set_severity`)."""
        return await self.update(number, {"category": category}, expected=_saw(seen, "category"))

    async def assign(
        self, number: int, assignee: str | None, *, seen: Ticket | None = None
    ) -> Ticket:
        """Assign to someone (None unassigns; ``seen``: as in :meth:`set_severity`)."""
        return await self.update(number, {"assignee": assignee}, expected=_saw(seen, "assignee"))

    async def set_status(
        self,
        number: int,
        status: Status,
        *,
        actor: str | None = None,
        seen: Ticket | None = None,
    ) -> Ticket:
        """Change status, keeping SLA pauses and resolution time consistent.

        The pauses and resolution time are derived from the stored ticket and written
        only if it has not changed meanwhile (else they are recomputed). With ``seen``, a
        status someone else changed since the operator looked raises
        :class:`~opsconsole.core.store.TicketConflict` instead.
        """
        for attempt in range(_RETRIES):
            ticket = await self._get(number)
            now = self.clock()
            changes: dict[str, object] = {"status": status}
            pauses = list(ticket.pauses)
            open_pause = bool(pauses) and pauses[-1][1] is None
            reopened = ticket.resolved_at if status not in CLOSED_STATUSES else None
            if reopened is not None and not open_pause:
                # As Zendesk's requester wait time: the time spent solved is not counted,
                # so a reopened ticket's clocks go on from where they stood at resolution.
                pauses.append((reopened, now))
            if status is Status.PENDING_CUSTOMER and not open_pause:
                pauses.append((now, None))
            elif status is not Status.PENDING_CUSTOMER and open_pause:
                pauses[-1] = (pauses[-1][0], now)
            if tuple(pauses) != ticket.pauses:
                changes["pauses"] = tuple(pauses)
            if status in CLOSED_STATUSES and ticket.resolved_at is None:
                changes["resolved_at"] = now
            elif reopened is not None:
                changes["resolved_at"] = None  # reopened: the resolution clock runs again
            expected: dict[str, object] = {
                "status": ticket.status if seen is None else seen.status,
                "pauses": ticket.pauses,
                "resolved_at": ticket.resolved_at,
            }
            try:
                return await self.update(number, changes, actor=actor, expected=expected)
            except TicketConflict as exc:
                if (seen is not None and "status" in exc.fields) or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def resolve(self, number: int) -> Ticket:
        """Mark resolved (stops the resolution clock)."""
        return await self.set_status(number, Status.RESOLVED)

    async def add_note(self, number: int, body: str, *, actor: str | None = None) -> Ticket:
        """Append an internal note to the thread."""
        await self.flush_unrecorded()
        note = ThreadMessage(
            direction=Direction.NOTE, at=self.clock(), author=actor or self.actor, body=body
        )
        await self.store.add_message(number, note, actor=actor or self.actor)
        ticket = await self._get(number)
        self._notify(ticket)
        return ticket

    async def set_runbook_step(self, number: int, step: int, done: bool) -> frozenset[int]:
        """Tick or untick a runbook step; returns the ticked steps."""
        await self.store.set_runbook_step(number, step, done, actor=self.actor, at=self.clock())
        return await self.store.runbook_steps(number)

    # -- replies and escalation -------------------------------------------------------

    def draft_reply(self, ticket: Ticket, template_key: str) -> tuple[str, str]:
        """Subject and body of a guide §6 template filled from the ticket and operator."""
        target = self.policy.target(ticket.severity).response
        return render(
            TEMPLATES[template_key],
            ticket,
            self.operator,
            ticket_url=self.ticket_url(ticket.number),
            response_window=format_duration(target) if target else "best effort",
        )

    async def reply(self, number: int, subject: str, body: str) -> Ticket:
        """Send a reply (SMTP or outbox), record it, and stop the response clock."""
        ticket = await self._get(number)
        mails = [m for m in ticket.thread if m.direction is not Direction.NOTE and m.message_id]
        inbound = [i for i, m in enumerate(mails) if m.direction is Direction.INBOUND]
        last = mails[inbound[-1]].message_id if inbound else None
        # References: the thread up to the message answered (RFC 5322 §3.6.4), so mail
        # clients keep the whole conversation together, not just the last two messages.
        earlier = [m.message_id for m in mails[: inbound[-1]]] if inbound else []
        await self.flush_unrecorded()
        outbound = await self._deliver(ticket, subject, body, in_reply_to=last, references=earlier)
        sent_at = outbound.at

        async def record() -> Ticket:
            await self.store.add_message(number, outbound, actor=outbound.author)
            current = await self._get(number)
            changes: dict[str, object] = {}
            if current.first_response_at is None:
                changes["first_response_at"] = sent_at  # the response clock stops at the send
            if current.status is Status.NEW:
                changes["status"] = Status.OPEN
            if changes:
                return await self.update(number, changes)
            self._notify(current)
            return current

        return await self._record(record, f"the reply to #{number} was sent")

    def draft_escalation(self, ticket: Ticket, level: Level, evidence: Evidence) -> tuple[str, str]:
        """The guide §5 info block for L2 engineering or L3 on-call."""
        subject = (
            f"[{level.value}] #{ticket.number} {ticket.severity.value.title()}: {ticket.subject}"
        )
        return subject, escalation_block(ticket, level, evidence)

    async def escalate(self, number: int, level: Level, subject: str, body: str) -> Ticket:
        """Deliver the escalation, note it in the thread, raise the level."""
        await self._get(number)  # KeyError before anything is sent
        await self.flush_unrecorded()
        address = self.escalation_address(level)
        message = self._message(subject, body, to_name=level.value, to_address=address)
        await self._send(message)
        note = ThreadMessage(
            direction=Direction.NOTE,
            at=self.clock(),
            author=self.actor,
            subject=subject,
            body=f"Escalated to {level.value} ({address}):\n\n{body}",
            message_id=str(message["Message-ID"]),
        )

        async def record() -> Ticket:
            await self.store.add_message(number, note, actor=note.author)
            await self.update(number, {"level": level})
            # through set_status: a ticket that was pending on the customer has its SLA
            # pause ended (it stayed open, and the escalated ticket's clocks stood still)
            return await self.set_status(number, Status.ESCALATED)

        return await self._record(record, f"the escalation of #{number} to {address} was sent")

    def escalation_address(self, level: Level) -> str:
        """Where an escalation to ``level`` goes (``email.escalation``)."""
        email = self.config.email
        fallback = {"L2": "engineering@company.com", "L3": "oncall@company.com"}[level.value]
        configured = getattr(email.escalation, level.value) if email is not None else None
        return str(configured or fallback)


def _saw(seen: Ticket | None, field: str) -> dict[str, object] | None:
    """``expected`` for a single-field change: the value in the ticket the operator saw."""
    return None if seen is None else {field: getattr(seen, field)}
