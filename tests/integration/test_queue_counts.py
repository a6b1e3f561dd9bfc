"""The dashboard's ticket pane counts breached and at-risk tickets over the whole queue,
not only the eight rows it shows; the store's next_due range filters behind it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.sla import DEFAULT_POLICY, at_risk_horizon, next_deadline
from opsconsole.core.store import TicketQuery
from opsconsole.core.tickets import Category, Requester, Severity, Status, Ticket
from opsconsole.widgets.ticket_queue_pane import TicketQueuePane
from pilot_wait import until

from fakes import FROZEN
from ticket_fixtures import first_message, ticket_app, ticket_config

# Critical: a 1-hour response target, at risk in its last 15 minutes (the default policy).
AGES = {"breached": (70, 12), "at_risk": (50, 10), "ok": (5, 8)}


def critical(minutes: int, n: int) -> Ticket:
    ticket = Ticket(
        number=0,
        subject=f"API down for customer {n}",
        requester=Requester(f"C{n}", f"c{n}@example.com", "example.com"),
        received_at=FROZEN - timedelta(minutes=minutes),
        category=Category.BUG,
        severity=Severity.CRITICAL,
        status=Status.NEW,
    )
    return replace(ticket, next_due=next_deadline(ticket, DEFAULT_POLICY, FROZEN))


async def seed(db: Path) -> None:
    store = await SqliteStore.open(db)
    n = 0
    for minutes, count in AGES.values():
        for _ in range(count):
            ticket = critical(minutes, n)
            await store.create_ticket(ticket, first_message(ticket, n), actor="seed")
            n += 1
    await store.close()


async def test_next_due_range_filters(tmp_path: Path) -> None:
    await seed(tmp_path / "t.db")
    store = await SqliteStore.open(tmp_path / "t.db")
    try:
        overdue = TicketQuery(open_only=True, due_before=FROZEN)
        assert await store.count_tickets(overdue) == 12
        horizon = at_risk_horizon(DEFAULT_POLICY, FROZEN)
        assert horizon == FROZEN + timedelta(days=7) * 0.25  # low's 7-day resolution
        near = TicketQuery(
            open_only=True, due_after=FROZEN, due_before=FROZEN + timedelta(minutes=15)
        )
        assert await store.count_tickets(near) == 10
        listed = await store.list_tickets(replace(near, limit=100))
        assert {t.received_at for t in listed} == {FROZEN - timedelta(minutes=50)}
    finally:
        await store.close()


async def test_the_pane_counts_the_whole_queue(tmp_path: Path) -> None:
    await seed(tmp_path / "t.db")
    app = ticket_app(tmp_path, ticket_config(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(TicketQueuePane)
        await until(pilot, lambda: "open" in str(pane.border_subtitle))
        await pane.reload()
        assert len(pane.rows) == 8  # the eight most urgent: all breached
        assert str(pane.border_subtitle) == "30 open · 10 at risk · 12 breached · t: all tickets"
