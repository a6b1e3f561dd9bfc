"""The stored ``next_due`` follows the SLA policy in checks.yaml across restarts.

Tickets seeded under the guide's table, then the store reopened by a service whose ``sla:``
targets differ, on a real SQLite file (and the real console and CLI for the start-up wiring).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.schema import Config
from opsconsole.core.sla import next_deadline, policy_key
from opsconsole.core.store import TicketQuery
from opsconsole.core.tickets import Severity, Ticket
from opsconsole.tickets.service import TicketService

from fakes import FROZEN, MutableClock
from ticket_fixtures import seed_store, seeded_config, ticket_app, ticket_config

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
NEW_TARGETS = {"critical": {"response": "24h"}, "low": {"response": "11h"}}
"""Critical slower than the guide, low faster: the queue order changes (see SEED)."""
OLD_ORDER = [101, 102, 103, 105, 104, 106]
NEW_ORDER = [102, 104, 103, 106, 105, 101]


def _new_config(tmp_path: Path, **sla: object) -> Config:
    return ticket_config(tmp_path, sla={"targets": NEW_TARGETS, **sla})


async def _queue(store: SqliteStore) -> list[Ticket]:
    tickets: list[Ticket] = await store.list_tickets(TicketQuery(open_only=True))
    return tickets


def _data_version(path: Path) -> int:
    """SQLite's data_version as seen by a fresh connection (it moves on any other commit)."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _meta(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())


async def test_a_changed_policy_recomputes_next_due_and_the_queue_order(tmp_path: Path) -> None:
    """Regression: changing ``sla:`` targets and restarting left every open ticket's stored
    ``next_due`` (the queue's sort key and the at-risk selection) under the old targets until
    the ticket was touched. On start the service recomputes them for the new policy."""
    path = tmp_path / "t.db"
    old = ticket_config(tmp_path)
    clock = MutableClock()
    async with await SqliteStore.open(path) as store:
        await seed_store(store, old)
        # a resolved ticket keeps no deadline under any policy
        await TicketService(store, old, clock=clock).resolve(106)
        service = TicketService(store, old, clock=clock)
        assert await service.refresh_deadlines() == 0  # first start: key stored, all agree
        assert [t.number for t in await _queue(store)] == [101, 102, 103, 105, 104]

    new = _new_config(tmp_path)
    clock.advance(minutes=5)
    async with await SqliteStore.open(path) as store:
        service = TicketService(store, new, clock=clock)
        changed = await service.refresh_deadlines()
        assert changed == 2  # 101 critical, 104 low; 106 (low) is resolved: none
        queue = await _queue(store)
        assert [t.number for t in queue] == [102, 104, 103, 105, 101]
        for ticket in queue:
            assert ticket.next_due == next_deadline(ticket, service.policy, clock()), ticket
        critical = await store.get_ticket(101)
        assert critical is not None and critical.severity is Severity.CRITICAL
        assert critical.next_due == critical.received_at + timedelta(hours=24)
        assert [a.field for a in critical.audit] == ["created"]  # derived: not audited
        resolved = await store.get_ticket(106)
        assert resolved is not None and resolved.next_due is None
    assert _meta(path) == {"sla_policy": policy_key(new.sla.to_policy(new.tz))}


async def test_seeded_open_tickets_follow_the_new_policy_in_order(tmp_path: Path) -> None:
    """All six seeded open tickets: the due order is exactly the new policy's."""
    config = await seeded_config(tmp_path)
    async with await SqliteStore.open(tmp_path / "t.db") as store:
        assert [t.number for t in await _queue(store)] == OLD_ORDER
        await TicketService(store, config, clock=MutableClock()).refresh_deadlines()
        assert [t.number for t in await _queue(store)] == OLD_ORDER
        service = TicketService(store, _new_config(tmp_path), clock=MutableClock())
        assert await service.refresh_deadlines() == 3  # 101 critical, 104 and 106 low
        assert [t.number for t in await _queue(store)] == NEW_ORDER


async def test_an_unchanged_policy_writes_nothing(tmp_path: Path) -> None:
    """Restarting with the same ``sla:`` costs one read: no transaction commits. The
    at-risk fraction moves no deadline, so changing only it rewrites nothing either."""
    config = await seeded_config(tmp_path)
    path = tmp_path / "t.db"
    async with await SqliteStore.open(path) as store:
        assert await TicketService(store, config, clock=MutableClock()).refresh_deadlines() == 0
    before = _data_version(path)
    for again in (config, ticket_config(tmp_path, sla={"at_risk": 0.5})):
        async with await SqliteStore.open(path) as store:
            service = TicketService(store, again, clock=MutableClock())
            assert await service.refresh_deadlines() is None
    assert _data_version(path) == before


async def test_a_ticket_changed_during_the_recompute_keeps_its_writers_value(
    tmp_path: Path,
) -> None:
    """The recompute reads and computes outside the write lock; a ticket whose SLA inputs
    another process changed in between is not overwritten with a deadline computed from
    the old inputs."""
    await seeded_config(tmp_path)
    path = tmp_path / "t.db"
    new_policy = _new_config(tmp_path).sla.to_policy()
    changed_meanwhile = FROZEN + timedelta(days=30)
    calls = 0

    def deadline(ticket: Ticket) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # another process writes ticket #104 while this one computes
            with sqlite3.connect(path) as other:
                other.execute(
                    "UPDATE tickets SET severity = 'high', severity_rank = 1, next_due = ? "
                    "WHERE number = 104",
                    (changed_meanwhile.timestamp(),),
                )
        return next_deadline(ticket, new_policy, FROZEN)

    async with await SqliteStore.open(path) as store:
        assert await store.refresh_next_due("test-key", deadline) == 2  # 101 and 106
        kept = await store.get_ticket(104)
        assert kept is not None and kept.next_due == changed_meanwhile
        moved = await store.get_ticket(106)
        assert moved is not None and moved.next_due == moved.received_at + timedelta(hours=11)
        assert await store.refresh_next_due("test-key", deadline) is None
    assert calls == 6


async def test_the_console_recomputes_on_start(tmp_path: Path) -> None:
    """The console recomputes after its first frame, and its queue pane re-sorts."""
    import asyncio

    from textual.widgets import DataTable

    from opsconsole.widgets.ticket_queue_pane import TicketQueuePane

    await seeded_config(tmp_path)
    app = ticket_app(tmp_path, _new_config(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(TicketQueuePane).query_one(DataTable)
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = [table.get_row_at(row)[0].plain for row in range(table.row_count)]
            if shown == [f"#{n}" for n in NEW_ORDER]:
                break
            assert asyncio.get_running_loop().time() < deadline, shown
            await asyncio.sleep(0.02)


def test_tickets_list_recomputes_for_the_configured_policy(tmp_path: Path) -> None:
    """``opsconsole tickets list`` (and ``import``) recompute on start: run with a changed
    ``sla:`` in checks.yaml, the list's order is the new policy's."""
    from ticket_fixtures import first_message, seed_tickets

    db = tmp_path / "t.db"

    async def seed() -> None:
        # received now, so the deadlines are in the future for the real clock too
        shift = _now() - FROZEN
        async with await SqliteStore.open(db) as store:
            for n, ticket in enumerate(seed_tickets(ticket_config(tmp_path))):
                moved = _shifted(ticket, shift)
                await store.create_ticket(moved, first_message(moved, n), actor="seed")

    import asyncio

    asyncio.run(seed())
    config = tmp_path / "checks.yaml"

    def listed() -> list[int]:
        proc = subprocess.run(
            [
                str(OPSCONSOLE),
                "tickets",
                "list",
                "--json",
                "--db",
                str(db),
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        return [t["id"] for t in json.loads(proc.stdout)]

    config.write_text(yaml.safe_dump({"service": "AI Governance API"}), encoding="utf-8")
    assert listed() == OLD_ORDER
    config.write_text(
        yaml.safe_dump({"service": "AI Governance API", "sla": {"targets": NEW_TARGETS}}),
        encoding="utf-8",
    )
    assert listed() == NEW_ORDER


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _shifted(ticket: Ticket, by: timedelta) -> Ticket:
    from dataclasses import replace

    return replace(
        ticket,
        received_at=ticket.received_at + by,
        next_due=None if ticket.next_due is None else ticket.next_due + by,
    )


def test_list_still_works_when_the_deadlines_cannot_be_rewritten(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """A database that refuses the recompute's write (read-only media): `tickets list`
    warns in one line and lists in the stored order instead of failing."""
    from opsconsole.cli import main
    from opsconsole.core.store import StoreError
    from opsconsole.tickets.service import TicketService

    async def refuse(self: TicketService) -> int | None:
        raise StoreError("attempt to write a readonly database")

    monkeypatch.setattr(TicketService, "refresh_deadlines", refuse)
    config = tmp_path / "checks.yaml"
    config.write_text("service: Test\n")
    code = main(["tickets", "list", "--config", str(config), "--db", str(tmp_path / "t.db")])
    err = capsys.readouterr().err
    assert code == 0
    assert err.strip() == (
        "opsconsole: warning: SLA deadlines not recomputed: attempt to write a readonly database"
    )
