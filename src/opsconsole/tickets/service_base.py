"""What every part of :class:`~opsconsole.tickets.service.TicketService` shares: its state,
the reading operations, and the ticket lookup and change notification."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.runbooks import Runbook
from opsconsole.core.sla import SlaPolicy, SlaStatus, evaluate
from opsconsole.core.store import TicketStore
from opsconsole.core.templates import Operator
from opsconsole.core.tickets import Ticket
from opsconsole.core.triage import TriageRule

PROCESS_TOKEN = secrets.token_hex(4)
"""Tells this process from an earlier one that had the same pid (see ``claimant``)."""

log = logging.getLogger("opsconsole.tickets.service")  # the name it always logged under


class MailSender(Protocol):
    """SMTP or the outbox Maildir."""

    async def send(self, message: EmailMessage) -> object:
        """Deliver ``message``; raise on failure."""


TicketListener = Callable[[Ticket], None]


class TicketServiceBase:
    """The service's state (one constructor for every part) and its read-only operations."""

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
        self.claimant = (
            f"{socket.gethostname()}:{os.getpid()}:{PROCESS_TOKEN}:{secrets.token_hex(4)}"
        )
        """Who this service is in an acknowledgement claim: host, pid, this process (an
        earlier process that had the same pid, as in a restarted container, has another
        token) and this instance."""
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

    # -- helpers ----------------------------------------------------------------------

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
