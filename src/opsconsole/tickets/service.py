"""Every ticket write goes through :class:`TicketService`.

It keeps the derived fields right on each change — the SLA pauses while a ticket is pending
on the customer, ``first_response_at`` at the first human reply, ``resolved_at``, and the
stored ``next_due`` the queue sorts by — and it records every change in the audit trail
(the store does that per field).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Literal, Protocol

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_duration
from opsconsole.core.runbooks import Runbook, match_runbook
from opsconsole.core.sla import SlaPolicy, SlaStatus, evaluate, next_deadline
from opsconsole.core.store import StoreError, TicketConflict, TicketQuery, TicketStore
from opsconsole.core.templates import (
    ACKNOWLEDGEMENT,
    TEMPLATES,
    Evidence,
    Operator,
    escalation_block,
    render,
    reply_subject,
)
from opsconsole.core.tickets import (
    Category,
    Direction,
    Level,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)
from opsconsole.core.triage import TriageRule, triage

if TYPE_CHECKING:
    from opsconsole.adapters.mail import ParsedMail

log = logging.getLogger(__name__)

Outcome = Literal["imported", "threaded", "duplicate", "rejected", "ignored"]
_TICKET_REF = re.compile(r"#(\d{1,9})\b")
_MSG_ID = re.compile(r"<[^<>\s]{1,500}>")
_MAX_REFERENCES = 20
"""Message ids in a reply's References (the first, then the latest)."""
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|antw|antwort|rif|odp|ynt|回复|回覆|答复)\s*(?:\[\d+\])?\s*[:：]", re.I
)
"""A reply's subject prefix (not a forward's: a forwarded mail is a new request)."""
_NO_REPLY = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply", "mailer", "forms"})
_VIA = re.compile(r"\s+via\s+.*$", re.IGNORECASE)
"""Google Groups' DMARC rewrite: From: "'Kim Park' via Support" <support@company.com>."""
ACK_PAUSE_AFTER_FAILURE = timedelta(minutes=5)
"""After the mail server fails an acknowledgement, intake sends none for this long."""
ACK_LIMIT_PER_HOUR = 10
"""No §3.1 acknowledgement to an address that already opened this many tickets in the last
hour: an autoresponder without auto-reply headers would otherwise loop with intake."""
_SLA_INPUTS = ("severity", "first_response_at", "resolved_at", "pauses")
"""The ticket fields the stored ``next_due`` is computed from (besides ``received_at``)."""
_RETRIES = 5
"""How often a derived write is recomputed after another process changed its inputs."""
_REOPENED_BY_A_REPLY = frozenset({Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED})
"""Statuses a customer's own (not automatic) reply moves back to open."""


class SentNotRecorded(Exception):
    """A mail (reply, escalation, acknowledgement) went out, but the database failed to
    record it. It is kept and written by the next service call; never send it again."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What happened to one message at intake (for the import report)."""

    outcome: Outcome
    source: str
    number: int | None = None
    reason: str = ""


class MailSender(Protocol):
    """SMTP or the outbox Maildir."""

    async def send(self, message: EmailMessage) -> object:
        """Deliver ``message``; raise on failure."""


TicketListener = Callable[[Ticket], None]


class TicketService:
    """Intake and triage operations on the ticket store."""

    def __init__(
        self,
        store: TicketStore,
        config: Config,
        *,
        clock: Clock = system_clock,
        sender: MailSender | None = None,
        listener: TicketListener | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.sender = sender
        self.listener = listener
        self.policy: SlaPolicy = config.sla.to_policy(config.tz)
        self.rules: tuple[TriageRule, ...] = config.triage.to_rules()
        self.runbooks: tuple[Runbook, ...] = config.runbooks.to_runbooks()
        self.operator: Operator = config.operator.to_operator()
        self._intake_lock = asyncio.Lock()
        self._ack_paused_until: datetime | None = None
        self._ack_pause_reason = ""
        self._unrecorded: list[Callable[[], Awaitable[Ticket]]] = []
        self._flush_lock = asyncio.Lock()  # one flush at a time: each record written once

    @property
    def actor(self) -> str:
        """Who the audit trail names for operator actions."""
        return self.operator.name

    # -- reading ----------------------------------------------------------------------

    def sla(self, ticket: Ticket, now: datetime | None = None) -> SlaStatus:
        """The ticket's SLA clocks at ``now``."""
        return evaluate(ticket, self.policy, now or self.clock())

    def ticket_url(self, number: int) -> str:
        """The ticket's link, from ``tickets.url``."""
        return self.config.tickets.ticket_url(number)

    def runbook_for(self, ticket: Ticket) -> Runbook | None:
        """The runbook matched at intake (or by subject now)."""
        for runbook in self.runbooks:
            if runbook.key == ticket.runbook:
                return runbook
        return None

    # -- intake -----------------------------------------------------------------------

    async def ingest(self, raw: bytes, *, source: str) -> IntakeResult:
        """Turn one raw message into a ticket, a thread reply, or a report line. Never raises
        for bad mail (a store failure does raise: nothing may be silently lost)."""
        from opsconsole.adapters.mail import MailRejected, parse_message
        from opsconsole.tickets.intake import max_message_bytes

        await self.flush_unrecorded()
        try:
            mail = await asyncio.to_thread(
                parse_message, raw, max_bytes=max_message_bytes(self.config)
            )
        except MailRejected as exc:
            return IntakeResult("rejected", source, reason=exc.reason)
        # One message at a time from the duplicate check to the write: the same mail
        # fetched twice at once (Maildir and IMAP, two polls) must not be taken for new twice.
        async with self._intake_lock:
            result, ticket = await self._ingest_parsed(mail, source)
        if ticket is not None:
            await self._acknowledge(ticket, mail.message_id, mail.references)
        return result

    async def _ingest_parsed(
        self, mail: ParsedMail, source: str
    ) -> tuple[IntakeResult, Ticket | None]:
        """Store one parsed message; the ticket is returned when a new one was created."""
        if await self.store.find_ticket_by_message_id(mail.message_id) is not None:
            return IntakeResult("duplicate", source, reason=mail.message_id), None
        now = self.clock()
        name, address = self._requester(mail)
        own = self._is_support_address(address)  # our own mail (a copy, a Cc), not relayed
        inbound = ThreadMessage(
            direction=Direction.INBOUND,
            at=now,
            author=address or name or "unknown sender",
            body=mail.body,
            subject=mail.subject,
            message_id=mail.message_id,
            attachments=mail.attachments,
            defects=mail.defects,
        )
        number = await self._thread_of(mail.in_reply_to, mail.references, mail.subject, address)
        if number is None and mail.bounced_message_id:  # a reply or acknowledgement bounced
            number = await self.store.find_ticket_by_message_id(mail.bounced_message_id)
        if number is not None:
            await self.store.add_message(number, inbound, actor="intake")
            ticket = await self.store.get_ticket(number)
            # An out-of-office answer to our reply is kept in the thread, but it is not the
            # customer answering: the ticket stays pending on them (or resolved).
            human = not mail.auto_submitted and not own
            if ticket is not None and human and ticket.status in _REOPENED_BY_A_REPLY:
                # The customer answered: back in the open queue, so it cannot go unseen
                # (a reply to a resolved ticket used to stay resolved, out of the queue).
                ticket = await self.set_status(number, Status.OPEN, actor="intake")
            elif ticket is not None:
                self._notify(ticket)
            return IntakeResult("threaded", source, number=number), None
        if mail.auto_submitted:
            return IntakeResult("ignored", source, reason="auto-reply or bounce"), None
        if own:  # email.support_address: "mail from it never becomes a ticket"
            return IntakeResult("ignored", source, reason="from the support address"), None
        result = triage(mail.subject, mail.body, self.rules)
        runbook = match_runbook(mail.subject, mail.body, self.runbooks)
        draft = Ticket(
            number=0,
            subject=mail.subject or "(no subject)",
            requester=Requester(name=name, address=address, company=_company(address)),
            received_at=now,
            category=result.category,
            severity=result.severity,
            triage_rule=result.rule,
            runbook=runbook.key if runbook else None,
            defects=mail.defects,
        )
        draft = replace(draft, next_due=next_deadline(draft, self.policy, now))
        ticket = await self.store.create_ticket(draft, inbound, actor="intake")
        self._notify(ticket)
        return IntakeResult("imported", source, number=ticket.number), ticket

    def _requester(self, mail: ParsedMail) -> tuple[str, str]:
        """Who wrote in: the From, or the Reply-To when the From is only a relay.

        A relay is our own address or domain (a Google Group or a web form sending as
        support@, with the customer in Reply-To), a no-reply sender, or no From at all.
        Replies and the acknowledgement then go to the customer, not back to the relay.
        """
        sender = mail.from_address
        relayed = bool(mail.reply_to) and mail.reply_to.casefold() != sender.casefold()
        if relayed and (
            not sender
            or self._is_support_address(sender, domain=True)
            or sender.rpartition("@")[0].casefold().replace("_", "-") in _NO_REPLY
        ):
            name = mail.reply_to_name or _VIA.sub("", mail.from_name).strip().strip("'\"")
            return name, mail.reply_to
        return mail.from_name, sender

    def _is_support_address(self, address: str, *, domain: bool = False) -> bool:
        """Whether ``address`` is ours (``email.support_address`` or the From of replies);
        with ``domain``, any address at their domains."""
        email = self.config.email
        if email is None or not address:
            return False
        ours = {email.support_address.casefold(), email.from_address.casefold()}
        address = address.casefold()
        if domain:
            return address.rpartition("@")[2] in {o.rpartition("@")[2] for o in ours}
        return address in ours

    async def _thread_of(
        self, in_reply_to: str | None, references: tuple[str, ...], subject: str, sender: str
    ) -> int | None:
        for message_id in (in_reply_to, *reversed(references)):
            if message_id:
                number = await self.store.find_ticket_by_message_id(message_id)
                if number is not None:
                    return number
        for match in _TICKET_REF.finditer(subject):
            number = int(match.group(1))
            ticket = await self.store.get_ticket(number)
            if ticket is not None and self._may_join(ticket, sender):
                return number
        return await self._thread_by_subject(subject, sender)

    async def _thread_by_subject(self, subject: str, sender: str) -> int | None:
        """A reply ("Re:", "AW:", "SV:", …) whose client dropped In-Reply-To/References joins
        the same sender's open ticket with the same subject (the newest one)."""
        if not sender or not _REPLY_PREFIX.match(subject):
            return None
        topic = reply_subject(subject).casefold()
        if not topic:
            return None
        query = TicketQuery(text=sender, open_only=True, sort="received", descending=True, limit=50)
        for ticket in await self.store.list_tickets(query):
            same_sender = ticket.requester.address.casefold() == sender.casefold()
            if same_sender and reply_subject(ticket.subject).casefold() == topic:
                return ticket.number
        return None

    def _may_join(self, ticket: Ticket, sender: str) -> bool:
        """Whether a mail naming ``#N`` in its subject (and nothing in its headers) joins
        ticket N: only from someone already on the ticket, a colleague at the requester's
        company domain, or our own team. A stranger's "Invoice #205" is not a reply to
        someone else's ticket #205 (and must not land in their thread)."""
        address = sender.strip().casefold()
        if not address:
            return False
        known = {ticket.requester.address.casefold()}
        known |= {m.author.casefold() for m in ticket.thread if m.direction is Direction.INBOUND}
        if address in known:
            return True
        domain = address.rpartition("@")[2]
        email = self.config.email
        ours = (email.from_address if email is not None else self.operator.email).casefold()
        company = ticket.requester.company.casefold()
        return bool(domain) and domain in {company, ours.rpartition("@")[2]}

    async def _acknowledge(
        self, ticket: Ticket, message_id: str, references: Sequence[str] = ()
    ) -> None:
        """The guide's §3.1 auto-reply; recorded in the thread, never blocking intake."""
        email = self.config.email
        if self.sender is None or email is None or email.smtp is None:
            return  # the acknowledgement goes out only when SMTP is configured (guide §3.1)
        recent = await self._recent_tickets_from(ticket)
        if recent >= ACK_LIMIT_PER_HOUR:
            # An autoresponder that sets none of the auto-reply headers answers every
            # acknowledgement with a new mail: stop the loop (the tickets are still made).
            note = (
                f"Auto-reply not sent: {recent} other tickets from {ticket.requester.address} "
                "in the last hour (mail loop protection)"
            )
            await self.add_note(ticket.number, note, actor="intake")
            return
        target = self.policy.target(ticket.severity).response
        window = format_duration(target) if target else "best effort"
        subject, body = render(
            ACKNOWLEDGEMENT,
            ticket,
            self.operator,
            ticket_url=self.ticket_url(ticket.number),
            response_window=window,
        )
        now = self.clock()
        if self._ack_paused_until is not None and now < self._ack_paused_until:
            # The mail server failed moments ago: waiting for its timeout again on every new
            # ticket would stall intake for minutes per message. Retried after the pause.
            until = self._ack_paused_until.astimezone(self.config.tz).strftime("%H:%M")
            note = f"Auto-reply not sent: {self._ack_pause_reason} (not retried before {until})"
            await self.add_note(ticket.number, note, actor="intake")
            return
        try:
            outbound = await self._deliver(
                ticket, subject, body, in_reply_to=message_id, references=references, auto=True
            )
        except Exception as exc:  # intake must go on; the note says what happened
            from opsconsole.adapters.mail_transport import MailRecipientError, MailTransportError

            if isinstance(exc, MailTransportError) and not isinstance(exc, MailRecipientError):
                self._ack_paused_until = now + ACK_PAUSE_AFTER_FAILURE
                self._ack_pause_reason = f"the mail server failed: {exc}"
            await self.add_note(ticket.number, f"Auto-reply not sent: {exc}", actor="intake")
        else:
            self._ack_paused_until = None
            number = ticket.number

            async def record() -> Ticket:
                await self.store.add_message(number, outbound, actor=outbound.author)
                return await self._get(number)

            with contextlib.suppress(SentNotRecorded):  # kept; written by a later call
                await self._record(record, f"the acknowledgement of #{number} was sent")

    async def _recent_tickets_from(self, ticket: Ticket) -> int:
        """Other tickets from the same address received in the hour before this one."""
        address = ticket.requester.address.casefold()
        if not address:
            return 0
        since = ticket.received_at - timedelta(hours=1)
        query = TicketQuery(
            text=address, sort="received", descending=True, limit=ACK_LIMIT_PER_HOUR + 1
        )
        found = await self.store.list_tickets(query)
        return sum(
            1
            for t in found
            if t.number != ticket.number
            and t.requester.address.casefold() == address
            and t.received_at >= since
        )

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
            if status is Status.PENDING_CUSTOMER and not open_pause:
                pauses.append((now, None))
            elif status is not Status.PENDING_CUSTOMER and open_pause:
                pauses[-1] = (pauses[-1][0], now)
            if tuple(pauses) != ticket.pauses:
                changes["pauses"] = tuple(pauses)
            if status in (Status.RESOLVED, Status.CLOSED) and ticket.resolved_at is None:
                changes["resolved_at"] = now
            elif status not in (Status.RESOLVED, Status.CLOSED) and ticket.resolved_at is not None:
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

    # -- helpers ----------------------------------------------------------------------

    async def _deliver(
        self,
        ticket: Ticket,
        subject: str,
        body: str,
        *,
        in_reply_to: str | None,
        references: Sequence[str | None] = (),
        auto: bool = False,
    ) -> ThreadMessage:
        """Send a mail to the requester; the caller records the returned thread message."""
        message = self._message(
            subject,
            body,
            to_name=ticket.requester.name,
            to_address=ticket.requester.address,
            in_reply_to=in_reply_to,
            references=references,
            auto=auto,
        )
        await self._send(message)
        outbound = ThreadMessage(
            direction=Direction.OUTBOUND,
            at=self.clock(),
            author="auto-reply" if auto else self.actor,
            subject=subject,
            body=body,
            message_id=str(message["Message-ID"]),
        )
        return outbound

    async def _record(self, record: Callable[[], Awaitable[Ticket]], what: str) -> Ticket:
        """Write what was just sent; if the database fails, keep it for a later write.

        Raises:
            SentNotRecorded: the mail went out but could not be recorded yet. Sending it
                again would mail it twice; it is written by :meth:`flush_unrecorded`.
        """
        try:
            return await record()
        except StoreError as exc:
            self._unrecorded.append(record)
            raise SentNotRecorded(
                f"{what}, but it is not recorded yet ({exc}); it will be once the database "
                "answers: do not send it again"
            ) from exc

    @property
    def unrecorded(self) -> int:
        """Sent mails waiting to be written to their tickets."""
        return len(self._unrecorded)

    async def flush_unrecorded(self) -> int:
        """Write sent mails a failing database could not take; returns how many were."""
        written = 0
        async with self._flush_lock:
            while self._unrecorded:
                try:
                    await self._unrecorded[0]()
                except StoreError:
                    break  # still failing: kept, in order, for the next call
                self._unrecorded.pop(0)
                written += 1
        return written

    def _message(
        self,
        subject: str,
        body: str,
        *,
        to_name: str,
        to_address: str,
        in_reply_to: str | None = None,
        references: Sequence[str | None] = (),
        auto: bool = False,
    ) -> EmailMessage:
        from opsconsole.adapters.mail_transport import build_reply

        email = self.config.email
        sender = email.from_address if email is not None else self.operator.email
        return build_reply(
            from_address=sender,
            to_name=_LINE_BREAKS.sub(" ", to_name).strip(),  # a name is one line, never a header
            to_address=to_address,
            subject=subject,
            body=body,
            in_reply_to=in_reply_to,
            references=_references(references, in_reply_to),
            message_id_domain=sender.rpartition("@")[2] or "opsconsole.local",
            auto=auto,
        )

    async def _send(self, message: EmailMessage) -> None:
        if self.sender is None:
            raise RuntimeError("no mail transport configured")
        await self.sender.send(message)

    async def _get(self, number: int) -> Ticket:
        ticket = await self.store.get_ticket(number)
        if ticket is None:
            raise KeyError(f"no ticket #{number}")
        return ticket

    def _notify(self, ticket: Ticket) -> None:
        if self.listener is not None:
            try:
                self.listener(ticket)
            except Exception:
                log.exception("ticket listener failed")


def _references(earlier: Sequence[str | None], in_reply_to: str | None) -> list[str]:
    """``References`` for a reply: well-formed ids, each once, the first and the latest
    kept when there are many, ending with the message answered."""
    ids = [i for i in dict.fromkeys(earlier) if i and _MSG_ID.fullmatch(i) and i != in_reply_to]
    if len(ids) > _MAX_REFERENCES - 1:
        ids = [ids[0], *ids[-(_MAX_REFERENCES - 2) :]]
    return [*ids, in_reply_to] if in_reply_to else ids


def _saw(seen: Ticket | None, field: str) -> dict[str, object] | None:
    """``expected`` for a single-field change: the value in the ticket the operator saw."""
    return None if seen is None else {field: getattr(seen, field)}


def _company(address: str) -> str:
    """A company guess from the sender's domain (``acme.io`` → ``acme.io``)."""
    domain = address.rpartition("@")[2].lower()
    free = {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"}
    return "" if not domain or domain in free else domain
