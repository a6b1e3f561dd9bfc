"""Sending mail for a ticket, and recording what was sent even when the database fails
(:class:`SentNotRecorded`, :meth:`TicketDelivery.flush_unrecorded`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage

from opsconsole.core.store import StoreError
from opsconsole.core.tickets import Direction, ThreadMessage, Ticket
from opsconsole.tickets.service_base import TicketServiceBase

_MSG_ID = re.compile(r"<[^<>\s]{1,500}>")
_MAX_REFERENCES = 20
"""Message ids in a reply's References (the first, then the latest)."""
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")


class SentNotRecorded(Exception):
    """A mail (reply, escalation, acknowledgement) went out, but the database failed to
    record it. It is kept and written by the next service call; never send it again."""


class TicketDelivery(TicketServiceBase):
    """Mail to requesters and escalation addresses, recorded in the ticket's thread."""

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


def _references(earlier: Sequence[str | None], in_reply_to: str | None) -> list[str]:
    """``References`` for a reply: well-formed ids, each once, the first and the latest
    kept when there are many, ending with the message answered."""
    ids = [i for i in dict.fromkeys(earlier) if i and _MSG_ID.fullmatch(i) and i != in_reply_to]
    if len(ids) > _MAX_REFERENCES - 1:
        ids = [ids[0], *ids[-(_MAX_REFERENCES - 2) :]]
    return [*ids, in_reply_to] if in_reply_to else ids
