"""Intake end to end: parse → triage → store → thread → auto-reply, on a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.sla import SlaState
from opsconsole.core.tickets import Category, Direction, Severity, Status
from opsconsole.tickets.runtime import make_sender
from opsconsole.tickets.service import TicketService

from fakes import FROZEN, MutableClock
from ticket_fixtures import raw_mail, ticket_config

BUG_BODY = """What happened:
Every POST /v1/check returns 500 Internal Server Error since 02:10 UTC.

Expected behavior:
200 with a policy decision.

Environment:
- Timestamp: 2026-11-28 02:10 UTC
"""


@pytest.fixture
async def service(tmp_path: Path):
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "i.db")
    clock = MutableClock()
    yield TicketService(store, config, clock=clock, sender=make_sender(config))
    await store.close()


async def test_a_bug_report_becomes_a_triaged_ticket(service: TicketService) -> None:
    """Guide §1.1 bug report → #101, critical (production 500s), with the rule named."""
    result = await service.ingest(
        raw_mail("[BUG] API returning 500 errors", BUG_BODY), source="test"
    )
    assert (result.outcome, result.number) == ("imported", 101)
    ticket = await service.store.get_ticket(101)
    assert ticket.category is Category.BUG and ticket.severity is Severity.CRITICAL
    assert "critical" in ticket.triage_rule
    assert ticket.requester.address == "kim@globex.com" and ticket.requester.company == "globex.com"
    assert ticket.received_at == FROZEN
    assert ticket.next_due is not None
    assert service.sla(ticket).response.state is SlaState.OK


async def test_intake_is_idempotent_and_threads_replies(service: TicketService) -> None:
    first = raw_mail("Dashboard not loading", "Blank page.", message_id="<a1@globex.com>")
    assert (await service.ingest(first, source="a")).outcome == "imported"
    assert (await service.ingest(first, source="a")).outcome == "duplicate"
    reply = raw_mail(
        "Re: Dashboard not loading",
        "Still broken.",
        message_id="<a2@globex.com>",
        In_Reply_To="<a1@globex.com>",
    )
    result = await service.ingest(reply, source="b")
    assert (result.outcome, result.number) == ("threaded", 101)
    by_number = raw_mail("Update on #101", "Works now", message_id="<a3@globex.com>")
    assert (await service.ingest(by_number, source="c")).number == 101
    ticket = await service.store.get_ticket(101)
    assert [m.message_id for m in ticket.thread] == [
        "<a1@globex.com>",
        "<a2@globex.com>",
        "<a3@globex.com>",
    ]


async def test_a_customer_reply_ends_the_pending_pause(service: TicketService) -> None:
    await service.ingest(raw_mail("API key not working", "401", message_id="<k1@x.io>"), source="")
    await service.set_status(101, Status.PENDING_CUSTOMER)
    service.clock.advance(hours=2)
    reply = raw_mail(
        "Re: API key not working", "logs", message_id="<k2@x.io>", In_Reply_To="<k1@x.io>"
    )
    await service.ingest(reply, source="")
    ticket = await service.store.get_ticket(101)
    assert ticket.status is Status.OPEN
    assert len(ticket.pauses) == 1 and ticket.pauses[0][1] is not None


async def test_auto_replies_and_bounces_never_create_tickets(service: TicketService) -> None:
    auto = raw_mail("Out of office", "Away", message_id="<o1@x.io>", Auto_Submitted="auto-replied")
    daemon = raw_mail(
        "Undelivered Mail", "bounce", sender="MAILER-DAEMON@mx.x.io", message_id="<o2@x.io>"
    )
    for raw in (auto, daemon):
        assert (await service.ingest(raw, source="")).outcome == "ignored"
    assert await service.store.ticket_counts() and (await service.store.get_ticket(101)) is None


async def test_hostile_mail_is_reported_not_raised(service: TicketService) -> None:
    huge = b"Subject: x\r\n\r\n" + b"A" * (26 * 1024 * 1024)
    assert (await service.ingest(huge, source="big")).outcome == "rejected"
    evil = raw_mail("=?utf-8?b?G11SNTI7YzthR2s9Bw==?= [@click=app.quit]", "\x00body")
    result = await service.ingest(evil, source="evil")
    assert result.outcome == "imported"
    ticket = await service.store.get_ticket(result.number)
    assert "\x1b" not in ticket.subject and "\x00" not in ticket.thread[0].body
    assert "[@click=app.quit]" in ticket.subject  # markup kept as text


async def test_reply_goes_to_the_outbox_and_stops_the_response_clock(
    service: TicketService, tmp_path: Path
) -> None:
    import mailbox

    await service.ingest(
        raw_mail("How do I create a policy?", "Help", message_id="<q@x.io>"), source=""
    )
    ticket = await service.store.get_ticket(101)
    subject, body = service.draft_reply(ticket, "initial_response")
    assert "#101" in subject and "Kim Park" in body
    service.clock.advance(minutes=20)
    ticket = await service.reply(101, subject, body)
    assert ticket.first_response_at == FROZEN.replace(minute=20)
    assert service.sla(ticket).response.state is SlaState.MET
    assert ticket.thread[-1].direction is Direction.OUTBOUND
    sent = list(mailbox.Maildir(str(tmp_path / "outbox"), create=False))
    assert len(sent) == 1 and sent[0]["In-Reply-To"] == "<q@x.io>"


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
async def test_a_customer_reply_reopens_a_resolved_ticket(
    service: TicketService, status: Status
) -> None:
    """ "It's broken again" on a resolved ticket used to be appended while the ticket stayed
    resolved, out of the open queue, where nobody would see it."""
    await service.ingest(raw_mail("Dashboard blank", "blank", message_id="<r1@x.io>"), source="")
    await service.set_status(101, status)
    assert (await service.store.get_ticket(101)).resolved_at is not None
    service.clock.advance(hours=3)
    again = raw_mail(
        "Re: Dashboard blank", "broken again", message_id="<r2@x.io>", In_Reply_To="<r1@x.io>"
    )
    auto = raw_mail(
        "Re: Dashboard blank",
        "away",
        message_id="<r3@x.io>",
        In_Reply_To="<r1@x.io>",
        Auto_Submitted="auto-replied",
    )
    await service.ingest(auto, source="")
    assert (await service.store.get_ticket(101)).status is status  # an auto-reply does not
    await service.ingest(again, source="")
    ticket = await service.store.get_ticket(101)
    assert ticket.status is Status.OPEN and ticket.resolved_at is None
    assert ticket.thread[-1].message_id == "<r2@x.io>"
