"""Every ticket write goes through :class:`TicketService`.

It keeps the derived fields right on each change — the SLA pauses while a ticket is pending
on the customer, ``first_response_at`` at the first human reply, ``resolved_at``, and the
stored ``next_due`` the queue sorts by — and it records every change in the audit trail
(the store does that per field).

The service is built in layers, one module each, every one adding to the one below:
:class:`~opsconsole.tickets.service_base.TicketServiceBase` (state, reading),
:class:`~opsconsole.tickets.service_delivery.TicketDelivery` (sending mail and recording
it), :class:`~opsconsole.tickets.service_actions.TicketActions` (triage, notes, replies,
escalation) and :class:`~opsconsole.tickets.service_intake.TicketIntake` (mail intake).
"""

from __future__ import annotations

from opsconsole.tickets.service_base import MailSender, TicketListener
from opsconsole.tickets.service_delivery import SentNotRecorded
from opsconsole.tickets.service_intake import (
    ACK_LIMIT_PER_HOUR,
    ACK_PAUSE_AFTER_FAILURE,
    IntakeResult,
    Outcome,
    TicketIntake,
)

__all__ = [
    "ACK_LIMIT_PER_HOUR",
    "ACK_PAUSE_AFTER_FAILURE",
    "IntakeResult",
    "MailSender",
    "Outcome",
    "SentNotRecorded",
    "TicketListener",
    "TicketService",
]


class TicketService(TicketIntake):
    """Intake and triage operations on the ticket store."""
