"""SqliteStore as a TicketStore, against real SQLite files in tmp_path (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import (
    MIGRATIONS,
    SqliteStore,
    StoreError,
    _ticket_order,
    _ticket_where,
)
from opsconsole.core.clock import frozen_clock
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.core.store import TicketQuery, TicketStore
from opsconsole.core.tickets import (
    Attachment,
    AuditEntry,
    Category,
    Direction,
    Level,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def ticket(
    subject: str = "Dashboard not loading",
    *,
    name: str = "Ada Lovelace",
    address: str = "ada@example.com",
    company: str = "Analytical Engines",
    received_at: datetime = NOW,
    category: Category = Category.BUG,
    severity: Severity = Severity.HIGH,
    **kw: object,
) -> Ticket:
    return Ticket(
        number=0,
        subject=subject,
        requester=Requester(name, address, company),
        received_at=received_at,
        category=category,
        severity=severity,
        **kw,  # type: ignore[arg-type]
    )


def message(
    message_id: str | None = "<m1@example.com>",
    direction: Direction = Direction.INBOUND,
    at: datetime = NOW,
    body: str = "It shows a blank page.",
) -> ThreadMessage:
    return ThreadMessage(
        direction=direction, at=at, author="ada@example.com", body=body, message_id=message_id
    )


def sql(path: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(tmp_path / "ops.db", clock=frozen_clock(NOW)) as s:
        yield s


async def create(store: TicketStore, t: Ticket | None = None, mid: str | None = None) -> Ticket:
    """Create ``t`` with a first message; a unique Message-ID unless ``mid`` is given."""
    t = t or ticket()
    mid = mid or f"<{t.subject}.{t.received_at.timestamp()}.{random.random()}@example.com>"
    return await store.create_ticket(t, message(mid, at=t.received_at), actor="intake")


# -- create, numbers, round trip -----------------------------------------------------------


async def test_sqlite_store_is_a_ticket_store(store: SqliteStore) -> None:
    ticket_store: TicketStore = store  # mypy checks the protocol
    assert await ticket_store.get_ticket(101) is None


async def test_create_assigns_numbers_from_101(store: SqliteStore) -> None:
    created = [await create(store, ticket(f"t{i}")) for i in range(3)]
    assert [t.number for t in created] == [101, 102, 103]
    first = created[0]
    assert first.subject == "t0"
    assert len(first.thread) == 1
    assert first.thread[0].id is not None
    assert first.audit == (AuditEntry(NOW, "intake", "created", None, "#101"),)


async def test_numbers_are_never_reused(store: SqliteStore, tmp_path: Path) -> None:
    """Even if the newest ticket's row disappeared, its number is not handed out again."""
    await create(store)
    last = await create(store)
    assert last.number == 102
    async with store._write() as db:
        await db.execute("DELETE FROM audit WHERE ticket = 102")
        await db.execute("DELETE FROM messages WHERE ticket = 102")
        await db.execute("DELETE FROM tickets WHERE number = 102")
    assert (await create(store)).number == 103


async def test_round_trip_of_every_field(store: SqliteStore) -> None:
    pause_start = datetime(2024, 5, 10, 13, 0, 0, 250000, tzinfo=PLUS_TWO)
    original = Ticket(
        number=0,
        subject="CRITICAL: production 500s ‮ <b>[bold]</b>",
        requester=Requester("Zoë O'Brien", "zoe@example.org", "Ünicode GmbH"),
        received_at=datetime(2024, 5, 10, 11, 59, 58, 123456, tzinfo=PLUS_TWO),
        category=Category.BILLING,
        severity=Severity.CRITICAL,
        status=Status.PENDING_CUSTOMER,
        assignee="bob",
        first_response_at=NOW + timedelta(minutes=12),
        resolved_at=NOW + timedelta(hours=5),
        level=Level.L3,
        tags=("vip", "prod", "ünï"),
        triage_rule="critical-prefix",
        runbook="api-down",
        pauses=((pause_start, NOW + timedelta(hours=1)), (NOW + timedelta(hours=2), None)),
        next_due=NOW + timedelta(hours=4, microseconds=7),
        defects=("CloseBoundaryNotFoundDefect", "charset unknown-8bit"),
    )
    first = ThreadMessage(
        direction=Direction.INBOUND,
        at=original.received_at,
        author="zoe@example.org",
        body="line 1\nline 2\x00 NUL kept",
        subject="CRITICAL: production 500s",
        message_id="<abc@mail.example.org>",
        attachments=(
            Attachment("trace.log", 12345, "text/plain"),
            Attachment("screen shot.png", 0),
        ),
        defects=("NoBoundaryInMultipartDefect",),
    )
    created = await store.create_ticket(original, first, actor="intake")
    reply = await store.add_message(
        created.number,
        ThreadMessage(Direction.OUTBOUND, NOW + timedelta(minutes=12), "bob", "On it."),
        actor="bob",
    )
    note = await store.add_message(
        created.number,
        ThreadMessage(Direction.NOTE, NOW + timedelta(minutes=5), "bob", "internal"),
        actor="bob",
    )

    got = await store.get_ticket(created.number)
    assert got is not None
    assert got == replace(original, number=101)  # every field but thread/audit
    assert got.received_at.tzinfo is UTC and got.received_at == original.received_at
    assert got.pauses[0][0] == pause_start and got.pauses[1][1] is None
    assert isinstance(got.tags, tuple) and isinstance(got.pauses[0], tuple)
    assert [m.direction for m in got.thread] == [
        Direction.INBOUND,
        Direction.NOTE,
        Direction.OUTBOUND,
    ]  # ordered by time, not insertion
    assert got.thread[0] == replace(first, id=got.thread[0].id)
    assert got.thread[1:] == (note, reply)
    assert got.thread == (*created.thread[:1], note, reply)
    assert [(a.field, a.actor, a.new) for a in got.audit] == [
        ("created", "intake", "#101"),
        ("message added", "bob", "outbound"),
        ("message added", "bob", "note"),
    ]
    assert all(a.at == NOW and a.at.tzinfo is UTC for a in got.audit)


async def test_defaults_and_nones_round_trip(store: SqliteStore) -> None:
    created = await create(store, ticket(company=""))
    got = await store.get_ticket(created.number)
    assert got == replace(ticket(company=""), number=created.number)
    assert got is not None
    assert (got.assignee, got.first_response_at, got.resolved_at, got.next_due) == (None,) * 4
    assert (got.tags, got.pauses, got.defects, got.runbook) == ((), (), (), None)


async def test_naive_datetimes_are_rejected(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        await create(store, ticket(received_at=datetime(2024, 5, 10, 12)))
    assert await store.count_tickets(TicketQuery()) == 0


async def test_get_unknown_ticket_is_none(store: SqliteStore) -> None:
    assert await store.get_ticket(999) is None


# -- Message-IDs ---------------------------------------------------------------------------


async def test_find_ticket_by_any_message_id(store: SqliteStore) -> None:
    a = await create(store, mid="<a1@x>")
    b = await create(store, mid="<b1@x>")
    await store.add_message(a.number, message("<a2@x>"), actor="intake")
    await store.add_message(b.number, message("<b2@x>"), actor="intake")
    assert await store.find_ticket_by_message_id("<a1@x>") == a.number
    assert await store.find_ticket_by_message_id("<a2@x>") == a.number
    assert await store.find_ticket_by_message_id("<b2@x>") == b.number
    assert await store.find_ticket_by_message_id("<nope@x>") is None


async def test_add_message_is_idempotent_by_message_id(store: SqliteStore) -> None:
    t = await create(store, mid="<first@x>")
    added = await store.add_message(t.number, message("<reply@x>"), actor="intake")
    again = await store.add_message(t.number, message("<reply@x>", body="other"), actor="intake")
    assert again == added and again.id is not None
    # the first message's id is idempotent too, even when aimed at another ticket
    other = await create(store)
    assert (await store.add_message(other.number, message("<first@x>"), actor="x")).id == (
        t.thread[0].id
    )
    # messages without a Message-ID (notes) are always appended
    for _ in range(2):
        await store.add_message(t.number, message(None, Direction.NOTE), actor="bob")
    got = await store.get_ticket(t.number)
    assert got is not None
    assert len(got.thread) == 4
    assert [a.field for a in got.audit].count("message added") == 3


async def test_add_message_to_unknown_ticket_fails(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no ticket #555"):
        await store.add_message(555, message("<x@y>"), actor="intake")
    assert await store.find_ticket_by_message_id("<x@y>") is None


async def test_create_with_a_known_message_id_returns_the_existing_ticket(
    store: SqliteStore,
) -> None:
    first = await create(store, ticket("original"), mid="<dup@x>")
    again = await create(store, ticket("re-import"), mid="<dup@x>")
    assert again.number == first.number and again.subject == "original"
    assert len(again.audit) == 1
    assert (await create(store)).number == 102  # the duplicate took no number


# -- update and audit ----------------------------------------------------------------------


async def test_update_audits_each_changed_field(store: SqliteStore, tmp_path: Path) -> None:
    t = await create(store, ticket(tags=("a",)))
    later = NOW + timedelta(minutes=3)
    pause = (NOW, None)
    updated = await store.update_ticket(
        t.number,
        {
            "severity": Severity.CRITICAL,
            "status": "open",  # enum values are accepted
            "assignee": "alice",
            "category": Category.BUG,  # unchanged: no audit entry
            "tags": ["a", "b"],
            "first_response_at": later.astimezone(PLUS_TWO),
            "level": Level.L2,
            "triage_rule": "manual",
            "runbook": "db-down",
            "pauses": [pause],
            "next_due": later,  # stored, not audited
        },
        actor="alice",
        at=later,
    )
    assert (updated.severity, updated.status, updated.assignee) == (
        Severity.CRITICAL,
        Status.OPEN,
        "alice",
    )
    assert updated.tags == ("a", "b") and updated.pauses == (pause,)
    assert updated.next_due == later and updated.first_response_at == later
    assert updated == await store.get_ticket(t.number)
    changes = {a.field: a for a in updated.audit[1:]}
    assert set(changes) == {
        "severity",
        "status",
        "assignee",
        "tags",
        "first_response_at",
        "level",
        "triage_rule",
        "runbook",
        "pauses",
    }
    assert all(a.actor == "alice" and a.at == later for a in changes.values())
    assert (changes["severity"].old, changes["severity"].new) == ("high", "critical")
    assert (changes["status"].old, changes["status"].new) == ("new", "open")
    assert (changes["assignee"].old, changes["assignee"].new) == (None, "alice")
    assert (changes["tags"].old, changes["tags"].new) == ("a", "a, b")
    assert changes["first_response_at"].new == "2024-05-10T12:33:00+00:00"
    assert changes["pauses"].new == "2024-05-10T12:30:00+00:00 – open"
    assert (changes["level"].old, changes["level"].new) == ("L1", "L2")
    # the severity rank used for sorting follows the severity
    assert sql(tmp_path / "ops.db", "SELECT severity_rank FROM tickets") == [(0,)]

    # back to unassigned: "" means nobody
    back = await store.update_ticket(t.number, {"assignee": ""}, actor="bob", at=later)
    assert back.assignee is None
    assert (back.audit[-1].field, back.audit[-1].old, back.audit[-1].new) == (
        "assignee",
        "alice",
        None,
    )


async def test_noop_update_writes_nothing(store: SqliteStore, tmp_path: Path) -> None:
    t = await create(store, ticket(assignee="bob", next_due=NOW))
    before = sql(tmp_path / "ops.db", "SELECT * FROM tickets")
    same = await store.update_ticket(
        t.number,
        {
            "assignee": "bob",
            "severity": "high",
            "next_due": NOW.astimezone(PLUS_TWO),  # same instant
            "tags": [],
            "pauses": (),
        },
        actor="bob",
        at=NOW + timedelta(hours=1),
    )
    assert same == t and len(same.audit) == 1
    assert sql(tmp_path / "ops.db", "SELECT * FROM tickets") == before
    assert sql(tmp_path / "ops.db", "SELECT count(*) FROM audit") == [(1,)]


async def test_next_due_change_is_stored_without_audit(store: SqliteStore) -> None:
    t = await create(store)
    got = await store.update_ticket(t.number, {"next_due": NOW}, actor="sla", at=NOW)
    assert got.next_due == NOW and len(got.audit) == 1


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"subject": "x"}, "subject"),
        ({"number": 5, "bogus": 1}, "bogus, number"),
        ({"severity": "urgent"}, "bad severity"),
        ({"status": None}, "bad status"),
        ({"assignee": 7}, "bad assignee"),
        ({"tags": "abc"}, "bad tags"),
        ({"resolved_at": datetime(2024, 5, 10)}, "timezone-aware"),
        ({"pauses": [(NOW,)]}, "bad pause"),
        ({"triage_rule": None}, "bad triage_rule"),
    ],
)
async def test_bad_updates_raise_store_error_and_write_nothing(
    store: SqliteStore, changes: dict[str, object], match: str
) -> None:
    t = await create(store)
    with pytest.raises(StoreError, match=match):
        await store.update_ticket(t.number, changes, actor="x", at=NOW)
    assert await store.get_ticket(t.number) == t


async def test_update_of_unknown_ticket_raises(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no ticket #404"):
        await store.update_ticket(404, {"assignee": "x"}, actor="x", at=NOW)


# -- list, count, sort, page ---------------------------------------------------------------


async def queue(store: SqliteStore) -> dict[str, int]:
    """Seven tickets covering filters and sorts; returns number by subject."""
    h = timedelta(hours=1)
    specs = [
        # subject, received offset, severity, status, assignee, next_due offset, requester
        ("Login broken", 0 * h, Severity.HIGH, Status.NEW, None, 5 * h, "Ada", "ACME Ltd"),
        ("Invoice wrong", 1 * h, Severity.LOW, Status.OPEN, "alice", 2 * h, "Bob", "Globex"),
        ("API 500s", 2 * h, Severity.CRITICAL, Status.ESCALATED, "bob", 2 * h, "Cyd", "Initech"),
        ("Feature idea", 3 * h, Severity.LOW, Status.PENDING_CUSTOMER, None, None, "Dee", "ACME"),
        ("Old bug", -5 * h, Severity.MEDIUM, Status.RESOLVED, "alice", None, "Eve", "Umbrella"),
        ("Slow p95", 4 * h, Severity.HIGH, Status.OPEN, "alice", 2 * h, "Fay", "Hooli"),
        ("ÄRGER mit Rechnung", 5 * h, Severity.MEDIUM, Status.CLOSED, None, None, "Gus", "Ü AG"),
    ]
    numbers = {}
    for subject, received, sev, status, assignee, due, name, company in specs:
        t = ticket(
            subject,
            name=name,
            address=f"{name.lower()}@{company.split()[0].lower()}.example",
            company=company,
            received_at=NOW + received,
            severity=sev,
            status=status,
            assignee=assignee,
            next_due=None if due is None else NOW + due,
        )
        numbers[subject] = (await create(store, t)).number
    return numbers


async def subjects(store: SqliteStore, **kw: object) -> list[str]:
    query = TicketQuery(**kw)  # type: ignore[arg-type]
    page = await store.list_tickets(query)
    assert await store.count_tickets(replace(query, limit=1000, offset=0)) >= len(page)
    assert all(t.thread == () and t.audit == () for t in page)
    return [t.subject for t in page]


async def test_filters(store: SqliteStore) -> None:
    n = await queue(store)
    everything = set(n)
    assert set(await subjects(store)) == everything
    assert await store.count_tickets(TicketQuery()) == 7
    # text: subject, requester name/address/company, case-insensitive (Unicode too)
    assert await subjects(store, text="invoice") == ["Invoice wrong"]
    assert await subjects(store, text="  acme ", sort="number") == ["Login broken", "Feature idea"]
    assert await subjects(store, text="cyd@initech") == ["API 500s"]
    assert await subjects(store, text="HOOLI") == ["Slow p95"]
    assert await subjects(store, text="ärger") == ["ÄRGER mit Rechnung"]
    assert await subjects(store, text="ü ag") == ["ÄRGER mit Rechnung"]
    assert await subjects(store, text="100%") == []  # no LIKE wildcards
    assert await subjects(store, text="_") == []
    assert await subjects(store, text="wrongAda") == []  # no match across fields
    # ticket numbers, with or without '#', plus any subject containing the digits
    assert await subjects(store, text=f"#{n['Invoice wrong']}") == ["Invoice wrong"]
    assert await subjects(store, text=str(n["Slow p95"])) == ["Slow p95"]
    assert await subjects(store, text="500", sort="number") == ["API 500s"]
    assert await subjects(store, text="95", sort="number") == ["Slow p95"]
    # severities, statuses, open_only
    assert set(await subjects(store, severities=frozenset({Severity.LOW}))) == {
        "Invoice wrong",
        "Feature idea",
    }
    assert set(
        await subjects(store, severities=frozenset({Severity.CRITICAL, Severity.MEDIUM}))
    ) == {"API 500s", "Old bug", "ÄRGER mit Rechnung"}
    assert set(await subjects(store, statuses=frozenset({Status.OPEN, Status.NEW}))) == {
        "Login broken",
        "Invoice wrong",
        "Slow p95",
    }
    assert set(await subjects(store, open_only=True)) == everything - {
        "Old bug",
        "ÄRGER mit Rechnung",
    }
    # assignee / unassigned, and combinations
    assert set(await subjects(store, assignee="alice")) == {"Invoice wrong", "Old bug", "Slow p95"}
    assert set(await subjects(store, assignee="alice", open_only=True)) == {
        "Invoice wrong",
        "Slow p95",
    }
    assert set(await subjects(store, unassigned=True)) == {
        "Login broken",
        "Feature idea",
        "ÄRGER mit Rechnung",
    }
    assert await subjects(store, unassigned=True, open_only=True, text="acme", sort="number") == [
        "Login broken",
        "Feature idea",
    ]
    assert await store.count_tickets(TicketQuery(assignee="alice", open_only=True)) == 2
    assert await store.count_tickets(TicketQuery(text="nothing matches")) == 0


async def test_sorts(store: SqliteStore) -> None:
    await queue(store)
    # due: earliest deadline first; ties by severity then received; no deadline last
    due = [
        "API 500s",  # +2h critical
        "Slow p95",  # +2h high
        "Invoice wrong",  # +2h low
        "Login broken",  # +5h
        "Old bug",  # no deadline: severity medium, received -5h
        "ÄRGER mit Rechnung",  # medium, +5h
        "Feature idea",  # low
    ]
    assert await subjects(store) == due
    assert await subjects(store, descending=True) == due[::-1]
    received = [
        "Old bug",
        "Login broken",
        "Invoice wrong",
        "API 500s",
        "Feature idea",
        "Slow p95",
        "ÄRGER mit Rechnung",
    ]
    assert await subjects(store, sort="received") == received
    assert await subjects(store, sort="received", descending=True) == received[::-1]
    severity = [
        "API 500s",
        "Login broken",
        "Slow p95",
        "Old bug",
        "ÄRGER mit Rechnung",
        "Invoice wrong",
        "Feature idea",
    ]
    assert await subjects(store, sort="severity") == severity
    assert await subjects(store, sort="severity", descending=True) == severity[::-1]
    by_number = await subjects(store, sort="number")
    assert by_number == [
        "Login broken",
        "Invoice wrong",
        "API 500s",
        "Feature idea",
        "Old bug",
        "Slow p95",
        "ÄRGER mit Rechnung",
    ]
    assert await subjects(store, sort="number", descending=True) == by_number[::-1]
    with pytest.raises(StoreError, match="unknown ticket sort"):
        await subjects(store, sort="colour")


async def test_sort_follows_updates(store: SqliteStore) -> None:
    n = await queue(store)
    await store.update_ticket(
        n["Feature idea"], {"next_due": NOW, "severity": "critical"}, actor="sla", at=NOW
    )
    assert (await subjects(store))[0] == "Feature idea"
    assert (await subjects(store, sort="severity"))[:2] == ["API 500s", "Feature idea"]


async def test_paging_is_stable_with_equal_sort_keys(store: SqliteStore) -> None:
    same = ticket(next_due=NOW)  # every sort key equal: the number breaks ties
    await store.bulk_insert_tickets([same] * 45)
    for sort in ("due", "received", "severity", "number"):
        for descending in (False, True):
            query = TicketQuery(sort=sort, descending=descending, limit=10)  # type: ignore[arg-type]
            pages = [await store.list_tickets(replace(query, offset=o)) for o in range(0, 50, 10)]
            numbers = [t.number for page in pages for t in page]
            assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
            assert numbers == sorted(numbers, reverse=descending)
            assert numbers == sorted(range(101, 146), reverse=descending)
    assert await store.list_tickets(TicketQuery(limit=0)) == []
    assert len(await store.list_tickets(TicketQuery(limit=5, offset=-3))) == 5
    assert await store.list_tickets(TicketQuery(offset=1000)) == []


async def test_queries_use_indexes(store: SqliteStore, tmp_path: Path) -> None:
    """Every unfiltered sort is an index walk (no temp B-tree over all tickets)."""
    await queue(store)
    for sort in ("due", "received", "severity", "number"):
        for descending in (False, True):
            order = _ticket_order(TicketQuery(sort=sort, descending=descending))  # type: ignore[arg-type]
            plan = sql(
                tmp_path / "ops.db",
                f"EXPLAIN QUERY PLAN SELECT * FROM tickets ORDER BY {order} LIMIT 200",
            )
            assert "TEMP B-TREE" not in " ".join(str(r[-1]) for r in plan), (sort, plan)
    plan = sql(
        tmp_path / "ops.db", "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE message_id='x'"
    )
    assert "USING INDEX" in str(plan)


async def test_filtered_pages_walk_the_sort_index_and_test_filters_there(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Open + severity pages walk the sort's index, which carries status and severity.

    So a filtered page tests each index entry without reading its row (migration 5).
    """
    await queue(store)
    path = tmp_path / "ops.db"
    query = TicketQuery(open_only=True, severities=frozenset({Severity.CRITICAL}))
    for sort in ("due", "received", "severity"):
        where, params = _ticket_where(replace(query, sort=sort))  # type: ignore[arg-type]
        order = _ticket_order(replace(query, sort=sort))  # type: ignore[arg-type]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT * FROM tickets{where} ORDER BY {order} LIMIT 100",
                    params,
                )
            )
            columns = [r[2] for r in conn.execute(f"PRAGMA index_info(tickets_{sort})")]
        assert f"USING INDEX tickets_{sort}" in plan, (sort, plan)
        assert "TEMP B-TREE" not in plan, (sort, plan)
        assert columns[-3:] == ["number", "status", "severity"], (sort, columns)


async def test_ticket_counts(store: SqliteStore) -> None:
    assert await store.ticket_counts() == {
        "new": 0,
        "open": 0,
        "pending_customer": 0,
        "escalated": 0,
        "resolved": 0,
        "closed": 0,
        "all_open": 0,
        "total": 0,
    }
    await queue(store)
    assert await store.ticket_counts() == {
        "new": 1,
        "open": 2,
        "pending_customer": 1,
        "escalated": 1,
        "resolved": 1,
        "closed": 1,
        "all_open": 5,
        "total": 7,
    }


# -- runbooks ------------------------------------------------------------------------------


async def test_runbook_steps_persist_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    async with await SqliteStore.open(path, clock=frozen_clock(NOW)) as store:
        t = await create(store)
        other = await create(store)
        assert await store.runbook_steps(t.number) == frozenset()
        for step in (1, 2, 4):
            await store.set_runbook_step(t.number, step, True, actor="bob", at=NOW)
        await store.set_runbook_step(t.number, 2, False, actor="bob", at=NOW + timedelta(1))
        await store.set_runbook_step(t.number, 4, True, actor="bob", at=NOW)  # no-op
        await store.set_runbook_step(other.number, 3, True, actor="amy", at=NOW)
        with pytest.raises(StoreError, match="no ticket"):
            await store.set_runbook_step(999, 1, True, actor="x", at=NOW)
    async with await SqliteStore.open(path) as store:
        assert await store.runbook_steps(t.number) == frozenset({1, 4})
        assert await store.runbook_steps(other.number) == frozenset({3})
        assert await store.runbook_steps(999) == frozenset()
        got = await store.get_ticket(t.number)
        assert got is not None
        assert [(a.field, a.old, a.new) for a in got.audit[1:]] == [
            ("runbook step 1", "not done", "done"),
            ("runbook step 2", "not done", "done"),
            ("runbook step 4", "not done", "done"),
            ("runbook step 2", "done", "not done"),
        ]
        assert got.audit[-1].at == NOW + timedelta(days=1)


async def test_a_probe_history_database_is_migrated_in_place(tmp_path: Path) -> None:
    """A schema-1 file (probe history only) gains the ticket tables and keeps its rows."""
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO probe_results (probe, ts, outcome, state) VALUES ('api', 1, 'ok', 'up')"
        )
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    async with await SqliteStore.open(path) as store:
        assert (await create(store)).number == 101
        assert list(await store.latest_results()) == ["api"]
    assert sql(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    tables = {n for (n,) in sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"tickets", "messages", "audit", "runbook_steps", "probe_results"} <= tables


# -- durability settings -------------------------------------------------------------------


async def synchronous(store: SqliteStore) -> int:
    async with store._connection().execute("PRAGMA synchronous") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_ticket_writes_use_synchronous_full_probe_writes_normal(
    store: SqliteStore,
) -> None:
    assert await synchronous(store) == 1  # NORMAL
    async with store._write(durable=True):
        assert await synchronous(store) == 2  # FULL for this transaction
    assert await synchronous(store) == 1
    with pytest.raises(RuntimeError):
        async with store._write(durable=True):
            raise RuntimeError("boom")
    assert await synchronous(store) == 1  # restored after a rollback too
    async with store._write():
        assert await synchronous(store) == 1
    t = await create(store)
    await store.update_ticket(t.number, {"assignee": "x"}, actor="x", at=NOW)
    assert await synchronous(store) == 1


async def test_concurrent_ticket_tasks_on_one_connection(store: SqliteStore) -> None:
    created = await asyncio.gather(*(create(store, ticket(f"t{i}")) for i in range(40)))
    assert sorted(t.number for t in created) == list(range(101, 141))
    await asyncio.gather(
        *(store.update_ticket(t.number, {"assignee": "a"}, actor="a", at=NOW) for t in created),
        *(
            store.record_probe_result(ProbeResult("api", NOW, Outcome.OK, latency_ms=1.0))
            for _ in range(40)
        ),
    )
    assert await store.count_tickets(TicketQuery(assignee="a")) == 40
    assert len(await store.recent_latencies("api", limit=100)) == 40
    assert await synchronous(store) == 1


async def test_bulk_insert_numbers_and_sequence(store: SqliteStore) -> None:
    await create(store)  # 101
    await store.bulk_insert_tickets(
        [
            replace(ticket("a"), thread=(message("<bulk@x>"),)),
            replace(ticket("b"), number=500),
            ticket("c"),
        ]
    )
    numbers = {t.subject: t.number for t in await store.list_tickets(TicketQuery(sort="number"))}
    # numbers without one follow the highest number so far, explicit ones included
    assert numbers == {"Dashboard not loading": 101, "a": 501, "b": 500, "c": 502}
    assert (await create(store)).number == 503
    assert await store.find_ticket_by_message_id("<bulk@x>") == 501
    with pytest.raises(StoreError, match="write failed"):
        await store.bulk_insert_tickets([replace(ticket(), number=500)])
    await store.bulk_insert_tickets([])


# -- crash safety across processes ---------------------------------------------------------

KILLS = 20


def _crash_writer(path: str, log: str, ready: object) -> None:
    """Child process: create (and update) tickets forever, logging each acknowledged one."""

    async def run() -> None:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        async with await SqliteStore.open(Path(path)) as store:
            for i in range(1_000_000):
                t = await store.create_ticket(
                    ticket(f"crash {os.getpid()} {i}"),
                    message(f"<{os.getpid()}.{i}@crash>"),
                    actor="child",
                )
                os.write(fd, f"{t.number}\n".encode())  # only after create returned
                if i == 0:
                    ready.set()  # type: ignore[attr-defined]
                await store.update_ticket(t.number, {"assignee": "child"}, actor="c", at=NOW)
                await store.add_message(t.number, message(None, Direction.NOTE), actor="c")

    asyncio.run(run())


def test_sigkill_during_ticket_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """SIGKILL the writer KILLS times at random points: integrity ok, no acknowledged loss."""
    path, log = tmp_path / "crash.db", tmp_path / "acknowledged.log"
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(4)
    for _ in range(KILLS):
        ready = ctx.Event()
        child = ctx.Process(target=_crash_writer, args=(str(path), str(log), ready))
        child.start()
        assert ready.wait(60), "writer did not start"
        time.sleep(rng.uniform(0, 0.2))
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
    acknowledged = [int(line) for line in log.read_text().split("\n") if line.strip()]
    assert len(acknowledged) >= KILLS
    assert sql(path, "PRAGMA integrity_check") == [("ok",)]
    stored = [n for (n,) in sql(path, "SELECT number FROM tickets ORDER BY number")]
    assert set(acknowledged) <= set(stored)
    # all or nothing: every stored ticket has its first message and "created" audit entry,
    # and numbers have no gaps (an interrupted create took no number)
    assert stored == list(range(101, 101 + len(stored)))
    assert sql(path, "SELECT count(*) FROM audit WHERE field = 'created'") == [(len(stored),)]
    assert sql(path, "SELECT count(*) FROM messages WHERE message_id IS NOT NULL") == [
        (len(stored),)
    ]
    print(f"\n{KILLS} SIGKILLs: {len(acknowledged)} acknowledged, {len(stored)} stored")


# -- several writer processes --------------------------------------------------------------

WRITERS = 4
CREATES_EACH = 100


def _ticket_writer(path: str, worker: int, barrier: object, errors: object) -> None:
    """Child process: CREATES_EACH × (create, update, add a note, list a page)."""

    async def run() -> list[str]:
        failures: list[str] = []
        barrier.wait()  # type: ignore[attr-defined]
        async with await SqliteStore.open(Path(path)) as store:
            for i in range(CREATES_EACH):
                try:
                    t = await create(store, ticket(f"w{worker} {i}"), mid=f"<{worker}.{i}@w>")
                    await store.update_ticket(
                        t.number,
                        {"status": Status.OPEN, "assignee": f"w{worker}"},
                        actor="w",
                        at=NOW,
                    )
                    await store.add_message(t.number, message(None, Direction.NOTE), actor="w")
                    if i % 20 == 0:
                        await store.list_tickets(TicketQuery(text="w", limit=20))
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
        return failures

    try:
        failures = asyncio.run(run())
    except Exception as exc:
        failures = [f"open: {type(exc).__name__}: {exc}"]
    errors.put((worker, failures))  # type: ignore[attr-defined]


def test_concurrent_ticket_writers_never_see_database_locked(tmp_path: Path) -> None:
    """4 processes × 100 creates+updates into one fresh file: no errors, numbers gapless."""
    path = tmp_path / "shared.db"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    errors = ctx.Queue()
    procs = [
        ctx.Process(target=_ticket_writer, args=(str(path), w, barrier, errors))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 180
    reports = [errors.get(timeout=max(1.0, deadline - time.monotonic())) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    errors.close()
    errors.join_thread()
    assert {w: f[:3] for w, f in reports if f} == {}
    total = WRITERS * CREATES_EACH
    numbers = [n for (n,) in sql(path, "SELECT number FROM tickets ORDER BY number")]
    assert numbers == list(range(101, 101 + total))
    assert sql(path, "SELECT count(*) FROM tickets WHERE status = 'open'") == [(total,)]
    assert sql(path, "SELECT count(*) FROM audit") == [(total * 4,)]  # created, 2 fields, note
    assert sql(path, "SELECT count(*) FROM messages") == [(total * 2,)]
    assert sql(path, "PRAGMA integrity_check") == [("ok",)]


# -- 100k tickets --------------------------------------------------------------------------

BIG = 100_000


def big_queue() -> list[Ticket]:
    rng = random.Random(100)
    words = ["dashboard", "slow", "login", "invoice", "api", "500", "policy", "key", "export"]
    tickets = []
    for i in range(BIG):
        status = rng.choice(list(Status))
        tickets.append(
            Ticket(
                number=0,
                subject=f"{rng.choice(words)} {rng.choice(words)} issue {i}",
                requester=Requester(f"User {i}", f"user{i}@c{i % 500}.example", f"Co {i % 500}"),
                received_at=NOW - timedelta(minutes=i),
                category=rng.choice(list(Category)),
                severity=rng.choice(list(Severity)),
                status=status,
                assignee=rng.choice([None, "alice", "bob", "carol"]),
                tags=("bulk",),
                next_due=(
                    None
                    if status in (Status.RESOLVED, Status.CLOSED, Status.PENDING_CUSTOMER)
                    else NOW + timedelta(minutes=rng.randint(-600, 10_000))
                ),
            )
        )
    return tickets


async def timed(label: str, coro: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = await coro  # type: ignore[misc]
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed * 1000:8.1f} ms")
    return elapsed, result


async def test_100k_tickets_page_and_filter_in_sql(tmp_path: Path) -> None:
    """Timings are printed (run with -s); only a 2 s sanity bound is asserted."""
    async with await SqliteStore.open(tmp_path / "big.db") as store:
        tickets = big_queue()
        print(f"\n{BIG} tickets:")
        await timed("bulk_insert_tickets", store.bulk_insert_tickets(tickets))
        checks = [
            ("first page, due", TicketQuery()),
            ("first page, due, open only", TicketQuery(open_only=True)),
            ("first page, severity", TicketQuery(sort="severity")),
            ("first page, received desc", TicketQuery(sort="received", descending=True)),
            ("page at offset 50,000, due", TicketQuery(offset=50_000)),
            ("text 'co 17' (~1% match)", TicketQuery(text="co 17")),
            ("text 'zzz' (no match)", TicketQuery(text="zzz")),
            ("text 'issue' (every ticket)", TicketQuery(text="issue")),
            ("text '#50123'", TicketQuery(text="#50123")),
            ("mine + open", TicketQuery(assignee="alice", open_only=True)),
            (
                "unassigned + critical",
                TicketQuery(unassigned=True, severities=frozenset({Severity.CRITICAL})),
            ),
        ]
        for label, query in checks:
            await store.list_tickets(query)  # warm the page cache
            elapsed, page = await timed(f"list {label}", store.list_tickets(query))
            assert elapsed < 2.0
            assert isinstance(page, list) and (page or query.text == "zzz")
            elapsed, count = await timed(f"count {label}", store.count_tickets(query))
            assert isinstance(count, int)
            assert elapsed < 2.0
        elapsed, counts = await timed("ticket_counts", store.ticket_counts())
        assert elapsed < 2.0 and counts["total"] == BIG  # type: ignore[index]

        first = await store.list_tickets(TicketQuery(limit=50))
        dues = [t.next_due for t in first]
        assert None not in dues and dues == sorted(dues)  # type: ignore[type-var]
        found = await store.list_tickets(TicketQuery(text="#50123"))
        assert [t.number for t in found] == [50123]
        assert await store.count_tickets(TicketQuery(text="co 17")) == BIG // 500 * 11
