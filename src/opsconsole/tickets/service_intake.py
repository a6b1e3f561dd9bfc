"""Mail intake: a raw message becomes a ticket or joins a thread, and a new ticket is
acknowledged (guide §3.1)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from opsconsole.core.durations import format_duration
from opsconsole.core.runbooks import match_runbook
from opsconsole.core.sla import next_deadline
from opsconsole.core.store import AckClaim, TicketQuery
from opsconsole.core.templates import ACKNOWLEDGEMENT, render, reply_subject
from opsconsole.core.tickets import Direction, Requester, Status, ThreadMessage, Ticket
from opsconsole.core.triage import triage
from opsconsole.tickets.service_actions import TicketActions
from opsconsole.tickets.service_base import PROCESS_TOKEN
from opsconsole.tickets.service_delivery import SentNotRecorded

if TYPE_CHECKING:
    from opsconsole.adapters.mail import ParsedMail

Outcome = Literal["imported", "threaded", "duplicate", "rejected", "ignored"]
_TICKET_REF = re.compile(r"#(\d{1,9})\b")
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
ACK_CLAIM_LEASE = timedelta(hours=1)
"""An acknowledgement claimed but never finished for this long is taken over when its mail
comes in again, even if the claiming process still seems to run (guide §3.1: within 1 hour)."""
_REOPENED_BY_A_REPLY = frozenset({Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED})
"""Statuses a customer's own (not automatic) reply moves back to open."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What happened to one message at intake (for the import report)."""

    outcome: Outcome
    source: str
    number: int | None = None
    reason: str = ""


class TicketIntake(TicketActions):
    """Mail intake: new tickets, thread replies, the acknowledgement, support-address checks."""

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
        elif result.outcome == "duplicate":
            await self._retry_acknowledgement(mail)
        return result

    async def _ingest_parsed(
        self, mail: ParsedMail, source: str
    ) -> tuple[IntakeResult, Ticket | None]:
        """Store one parsed message; the ticket is returned when a new one was created."""
        known = await self.store.find_ticket_by_message_id(mail.message_id)
        if known is not None and await self._reused_message_id(known, mail):
            # A sender that gives every mail one fixed Message-ID (a web form, a script):
            # this is another mail, not the same one read again, so it gets its own id.
            digest = hashlib.sha256(f"{mail.message_id}\n{mail.subject}\n{mail.body}".encode())
            reused = f"<{digest.hexdigest()[:40]}@reused-id.opsconsole.invalid>"
            note = f"Message-ID {mail.message_id[:200]} was already used by another mail"
            mail = replace(mail, message_id=reused, defects=(*mail.defects, note))
            known = await self.store.find_ticket_by_message_id(mail.message_id)
        if known is not None:
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

    async def _reused_message_id(self, number: int, mail: ParsedMail) -> bool:
        """Whether the customer mail stored under ``mail``'s Message-ID is another mail
        (another sender, subject or start of the body), not this one read again. Only the
        body's start is compared, whitespace collapsed: a later parser that renders more of
        a mail (an attachment, HTML) must not turn a re-import into new tickets."""
        ticket = await self.store.get_ticket(number)
        name, address = self._requester(mail)
        mine = (address or name or "unknown sender", mail.subject, _gist(mail.body))
        for message in ticket.thread if ticket is not None else ():
            if message.message_id == mail.message_id:
                stored = (message.author, message.subject, _gist(message.body))
                return message.direction is Direction.INBOUND and stored != mine
        return False

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

    def _acknowledges(self) -> bool:
        """The acknowledgement goes out only when SMTP is configured (guide §3.1)."""
        email = self.config.email
        return self.sender is not None and email is not None and email.smtp is not None

    async def _acknowledge(
        self,
        ticket: Ticket,
        message_id: str,
        references: Sequence[str] = (),
        *,
        replacing: AckClaim | None = None,
    ) -> None:
        """The guide's §3.1 auto-reply; recorded in the thread, never blocking intake.

        It is claimed in the database first: two processes importing the same new mail at
        once both get its ticket back from the store, but only the one whose claim succeeds
        decides, sends and writes any note. The claim then ends as ``sent`` or ``not sent``.
        """
        if not self._acknowledges():
            return
        number = ticket.number
        # In flight from before the claim: the same mail read again meanwhile (a second
        # poll) must not see this process's fresh claim as one it dropped.
        key = (self.claimant, number)
        _IN_FLIGHT.add(key)
        outcome: AckOutcome | None = None
        try:
            claimed = await self.store.claim_acknowledgement(
                number, claimant=self.claimant, at=self.clock(), replacing=replacing
            )
            if not claimed:
                return  # another process (or an intake of this mail a moment ago) has it
            outcome = await self._send_acknowledgement(ticket, message_id, references)
            if outcome == "not sent":
                await self.store.finish_acknowledgement(number, "not sent", at=self.clock())
        finally:
            # An exception leaves the claim unfinished and the mail unread: when the mail
            # is read again, this process takes its own claim over (see _abandoned). One
            # sent but not recorded yet stays "in flight" until its record is written.
            if outcome != "sent, not recorded":
                _IN_FLIGHT.discard(key)

    async def _retry_acknowledgement(self, mail: ParsedMail) -> None:
        """Send an acknowledgement whose claimant did not finish it (see :func:`_abandoned`).

        A mail stays in Maildir ``new/`` (or unseen on IMAP) until its intake returns, so
        after a crash, or a send that raised, it comes back here as a duplicate. Only an
        abandoned unfinished claim is taken over, and only for the mail that opened the
        ticket. A ticket whose acknowledgement was never claimed
        (made before claims existed, or without SMTP) gets none.
        """
        if not self._acknowledges():
            return
        number = await self.store.find_ticket_by_message_id(mail.message_id)
        if number is None:
            return
        claim = await self.store.acknowledgement_claim(number)
        if (
            claim is None
            or claim.outcome is not None
            or not _abandoned(claim, number, self.clock())
        ):
            return
        ticket = await self.store.get_ticket(number)
        if ticket is None or not ticket.thread or ticket.thread[0].message_id != mail.message_id:
            return
        await self._acknowledge(ticket, mail.message_id, mail.references, replacing=claim)

    async def _send_acknowledgement(
        self, ticket: Ticket, message_id: str, references: Sequence[str]
    ) -> AckOutcome:
        """Send the claimed acknowledgement; ``not sent`` comes with a note why."""
        recent = await self._recent_tickets_from(ticket)
        if recent >= ACK_LIMIT_PER_HOUR:
            # An autoresponder that sets none of the auto-reply headers answers every
            # acknowledgement with a new mail: stop the loop (the tickets are still made).
            note = (
                f"Auto-reply not sent: {recent} other tickets from {ticket.requester.address} "
                "in the last hour (mail loop protection)"
            )
            await self.add_note(ticket.number, note, actor="intake")
            return "not sent"
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
            # ticket would stall intake for minutes per message. This ticket gets none; the
            # tickets after the pause do.
            until = self._ack_paused_until.astimezone(self.config.tz).strftime("%H:%M")
            note = (
                f"Auto-reply not sent: {self._ack_pause_reason} (auto-replies resume for new "
                f"tickets at {until}; reply by hand)"
            )
            await self.add_note(ticket.number, note, actor="intake")
            return "not sent"
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
            return "not sent"
        self._ack_paused_until = None
        number = ticket.number

        async def record() -> Ticket:
            await self.store.add_message(number, outbound, actor=outbound.author)
            await self.store.finish_acknowledgement(number, "sent", at=outbound.at)
            return await self._get(number)

        try:
            await self._record(record, f"the acknowledgement of #{number} was sent")
        except SentNotRecorded:  # kept; written by a later call
            return "sent, not recorded"
        return "sent"

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


AckOutcome = Literal["sent", "sent, not recorded", "not sent"]

_IN_FLIGHT: set[tuple[str, int]] = set()
"""(claimant, ticket) of the acknowledgements this process is sending right now."""


def _abandoned(claim: AckClaim, number: int, now: datetime) -> bool:
    """Whether an unfinished acknowledgement claim's sender is gone.

    The database is on a local disk (network filesystems are refused), so every claimant
    runs on this host: its pid tells whether it still runs. A claim of this very process
    is abandoned unless it is being sent right now (sending it raised, e.g. the database
    failed mid-way); one made under this pid by an earlier process (a restarted
    container's PID 1) is abandoned. A claim older than :data:`ACK_CLAIM_LEASE` counts as
    abandoned too (a reused pid, another host's name).
    """
    if now - claim.claimed_at > ACK_CLAIM_LEASE:
        return True
    host, pid, process = [*claim.claimant.split(":"), "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        if process != PROCESS_TOKEN:
            return True
        return (claim.claimant, number) not in _IN_FLIGHT
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # e.g. EPERM: it runs, as another user
    return False


def _gist(body: str) -> str:
    """The start of a body, whitespace collapsed (see ``_reused_message_id``)."""
    return " ".join(body[:400].split())[:200]


def _company(address: str) -> str:
    """A company guess from the sender's domain (``acme.io`` → ``acme.io``)."""
    domain = address.rpartition("@")[2].lower()
    free = {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"}
    return "" if not domain or domain in free else domain
