"""The checklist's ticket facts, counted in SQL over the whole queue: critical tickets
waiting for a first reply, and stale tickets (no activity for 7 days)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.tickets import Direction, Severity, ThreadMessage
from opsconsole.facts import gather_facts

from fakes import FROZEN, MutableClock
from ticket_fixtures import first_message, seed_tickets, ticket_config


async def test_stale_means_no_activity_for_seven_days_not_received_long_ago(
    tmp_path: Path,
) -> None:
    config = ticket_config(tmp_path)
    clock = MutableClock(FROZEN - timedelta(days=10))
    store = await SqliteStore.open(tmp_path / "t.db", clock=clock)
    try:
        seeded = seed_tickets(config)[:3]
        made = [
            await store.create_ticket(
                replace(t, received_at=clock.now), first_message(t, n), actor="intake"
            )
            for n, t in enumerate(seeded)
        ]
        clock.now = FROZEN - timedelta(days=1)  # the customer wrote again on one of them
        await store.add_message(
            made[0].number,
            ThreadMessage(
                direction=Direction.INBOUND,
                at=clock.now,
                author=made[0].requester.address,
                subject="Re: still broken",
                body="Any news?",
                message_id="<again@example.com>",
            ),
            actor="intake",
        )
        await store.update_ticket(
            made[1].number, {"assignee": "Sam Lee"}, actor="Alex Doe", at=clock.now
        )
        clock.now = FROZEN
        facts = await gather_facts(
            now=FROZEN, config=config, engine=None, sources={}, store=store, with_sla=False
        )
    finally:
        await store.close()
    assert facts.stale_tickets == 1  # only the third: received 10 days ago, untouched since


async def test_critical_tickets_waiting_are_counted_without_a_cap(tmp_path: Path) -> None:
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db", clock=MutableClock())
    try:
        critical = replace(seed_tickets(config)[0], severity=Severity.CRITICAL)
        await store.bulk_insert_tickets([critical] * 650)
        answered = replace(critical, first_response_at=FROZEN)
        await store.bulk_insert_tickets([answered] * 5)
        facts = await gather_facts(
            now=FROZEN, config=config, engine=None, sources={}, store=store, with_sla=False
        )
    finally:
        await store.close()
    assert facts.critical_tickets_waiting == 650
