"""Runtime pieces of the ticket queue: the outgoing mail transport and the SLA watcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from opsconsole.config.schema import Config
from opsconsole.core.sla import SlaState
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.store import TicketQuery
from opsconsole.tickets.service import MailSender, TicketService

WATCH_LIMIT = 500


class LazySender:
    """A MailSender that builds the real one on the first send.

    The transport module pulls in smtplib, imaplib, ssl and mailbox (≈50 ms of imports),
    which the console does not need before its first frame.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._sender: MailSender | None = None

    async def send(self, message: EmailMessage) -> object:
        """Deliver ``message`` through SMTP or the outbox; raise on failure."""
        if self._sender is None:
            self._sender = make_sender(self._config)
        return await self._sender.send(message)


def make_sender(config: Config) -> MailSender:
    """SMTP when ``email.smtp`` is configured, else the outbox Maildir."""
    from opsconsole.adapters.mail_transport import OutboxWriter, SmtpSender, SmtpSettings
    from opsconsole.config.tickets import default_outbox

    email = config.email
    if email is not None and email.smtp is not None:
        smtp = email.smtp
        return SmtpSender(
            SmtpSettings(
                host=smtp.host,
                port=smtp.port,
                user=smtp.user,
                password=smtp.password.get_secret_value() if smtp.password else None,
                starttls=smtp.starttls,
                ssl=smtp.ssl,
                from_address=email.from_address,
                timeout=smtp.timeout.total_seconds(),
                deadline=smtp.deadline.total_seconds(),
            )
        )
    return OutboxWriter(email.outbox if email is not None else default_outbox())


def imap_settings(config: Config) -> object | None:
    """ImapSettings for ``email.imap`` (None when not configured)."""
    from opsconsole.adapters.mail_transport import ImapSettings

    email = config.email
    if email is None or email.imap is None:
        return None
    imap = email.imap
    return ImapSettings(
        host=imap.host,
        port=imap.port,
        user=imap.user,
        password=imap.password.get_secret_value(),
        folder=imap.folder,
        tls=imap.tls,
        timeout=imap.timeout.total_seconds(),
        deadline=imap.deadline.total_seconds(),
    )


@dataclass(frozen=True, slots=True)
class SlaAlert:
    """A ticket whose SLA just turned at risk or breached."""

    number: int
    subject: str
    state: SlaState
    label: str


@dataclass
class SlaWatcher:
    """Remembers each open ticket's SLA state and reports the ones that got worse."""

    service: TicketService
    known: dict[int, SlaState] = field(default_factory=dict)
    was_empty: bool = False
    """The last check found no open ticket: ``known`` is empty, yet the next check is not a
    first look (clearing ``known`` after a look at tickets makes the next check one)."""

    async def check(self, now: datetime | None = None) -> list[SlaAlert]:
        """Alerts for tickets that turned at risk or breached since the last check.

        The first check only records states (no alert storm at startup for tickets that
        were already late); tickets are read most-urgent first, so at-risk ones are in the
        first page.
        """
        now = now or self.service.clock()
        first = not self.known and not self.was_empty
        tickets = await self.service.store.list_tickets(
            TicketQuery(open_only=True, limit=WATCH_LIMIT)
        )
        self.was_empty = not tickets
        alerts: list[SlaAlert] = []
        for ticket in tickets:
            label, state = sla_clock(self.service.sla(ticket, now), ticket)
            before = self.known.get(ticket.number)
            self.known[ticket.number] = state
            worse = state in (SlaState.AT_RISK, SlaState.BREACHED) and before != state
            if worse and not first and before is not SlaState.BREACHED:
                alerts.append(SlaAlert(ticket.number, ticket.subject, state, label))
        return alerts
