"""A reply or escalation that went out while the database failed to record it.

Before, the error looked like "not done", the editor reopened with the text, and sending it
again mailed the customer twice. Now the service keeps the record and writes it on its next
call, and the console says the mail went out.
"""

from __future__ import annotations

import mailbox
from datetime import timedelta
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.tickets import Direction, Level, Status
from opsconsole.tickets.runtime import make_sender
from opsconsole.tickets.service import SentNotRecorded, TicketService

from fakes import FROZEN, BreakableStore, MutableClock
from ticket_fixtures import raw_mail, ticket_config


@pytest.fixture
async def parts(tmp_path: Path):
    config = ticket_config(tmp_path)
    inner = await SqliteStore.open(tmp_path / "i.db")
    store = BreakableStore(inner)
    clock = MutableClock()
    service = TicketService(store, config, clock=clock, sender=make_sender(config))
    await service.ingest(raw_mail("Dashboard blank", "blank", message_id="<d1@x.io>"), source="")
    yield service, store, inner, clock, tmp_path / "outbox"
    await inner.close()


def _sent(outbox: Path) -> list[str]:
    return [str(m["Subject"]) for m in mailbox.Maildir(str(outbox), create=False)]


async def test_a_reply_sent_while_the_database_fails_is_recorded_later(parts) -> None:
    service, store, inner, clock, outbox = parts
    store.only, store.broken = frozenset({"add_message"}), True
    with pytest.raises(SentNotRecorded, match="was sent, but it is not recorded yet"):
        await service.reply(101, "Re: Dashboard blank", "Looking into it.")
    assert _sent(outbox) == ["Re: Dashboard blank"]
    assert service.unrecorded == 1
    ticket = await inner.get_ticket(101)
    assert ticket.first_response_at is None  # not yet
    clock.advance(minutes=7)
    assert await service.flush_unrecorded() == 0  # still failing: kept
    store.broken = False
    await service.add_note(101, "called them")  # any later call writes it first
    ticket = await inner.get_ticket(101)
    directions = [m.direction for m in ticket.thread]
    assert directions == [Direction.INBOUND, Direction.OUTBOUND, Direction.NOTE]
    assert ticket.first_response_at == FROZEN  # the time it was sent, not written
    assert ticket.status is Status.OPEN
    assert service.unrecorded == 0
    assert _sent(outbox) == ["Re: Dashboard blank"]  # mailed once


async def test_an_escalation_sent_while_the_database_fails_is_recorded_later(parts) -> None:
    service, store, inner, clock, outbox = parts
    store.only, store.broken = frozenset({"add_message"}), True
    with pytest.raises(SentNotRecorded):
        await service.escalate(101, Level.L2, "[L2] #101", "info block")
    store.broken = False
    assert await service.flush_unrecorded() == 1
    ticket = await inner.get_ticket(101)
    assert ticket.level is Level.L2 and ticket.status is Status.ESCALATED
    assert ticket.thread[-1].body.startswith("Escalated to L2")
    assert clock() - ticket.thread[-1].at < timedelta(seconds=1)
    assert _sent(outbox) == ["[L2] #101"]  # mailed once
