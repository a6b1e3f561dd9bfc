"""Which SLA clock to show for a ticket, as one label and state."""

from __future__ import annotations

from opsconsole.core.sla import SlaState, SlaStatus
from opsconsole.core.tickets import Ticket


def sla_clock(sla: SlaStatus, ticket: Ticket) -> tuple[str, SlaState]:
    """The clock that matters now: response until the first reply, then resolution.

    A breached response clock stays visible until the ticket is answered.
    """
    reading = sla.response if ticket.first_response_at is None else sla.resolution
    prefix = "resp " if reading is sla.response else "res "
    return prefix + reading.label(), reading.state
