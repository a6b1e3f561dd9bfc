"""SqliteStore as an IncidentStore, against real SQLite files in tmp_path (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore, StoreError
from opsconsole.core.clock import frozen_clock
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.store import INCIDENT_FIELDS, IncidentStore, OutboundMessage

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
CANARY = "CANARYslackSecret7f3e9a"
WEBHOOK = f"https://hooks.slack.com/services/T0CANARY/B0CANARY/{CANARY}"


def incident(title: str = "API down", **kw: object) -> Incident:
    values: dict[str, object] = {
        "id": 0,
        "title": title,
        "component": "API",
        "severity": IncidentSeverity.CRITICAL,
        "status": IncidentStatus.INVESTIGATING,
        "started_at": NOW,
    }
    values.update(kw)
    return Incident(**values)  # type: ignore[arg-type]


def entry(
    text: str, at: datetime = NOW, kind: EntryKind = EntryKind.NOTE, **kw: object
) -> TimelineEntry:
    return TimelineEntry(at=at, kind=kind, text=text, **kw)  # type: ignore[arg-type]


def sql(path: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ops.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(db_path, clock=frozen_clock(NOW)) as s:
        yield s


async def resolve(store: SqliteStore, incident_id: int) -> Incident:
    return await store.update_incident(
        incident_id,
        {"status": IncidentStatus.RESOLVED, "resolved_at": NOW + timedelta(hours=1)},
        actor="ana",
        at=NOW + timedelta(hours=1),
    )


# -- create, ids, round trip ----------------------------------------------------------------


async def test_sqlite_store_is_an_incident_store(store: SqliteStore) -> None:
    incident_store: IncidentStore = store  # mypy checks the protocol
    assert await incident_store.active_incident() is None
    assert await incident_store.list_incidents() == []


async def test_create_assigns_ids_and_writes_a_declared_entry(store: SqliteStore) -> None:
    first = await store.create_incident(incident(id=77), actor="ana")
    assert first.id == 1
    (declared,) = first.timeline
    assert declared.kind is EntryKind.DECLARED
    assert declared.text == "Declared: API down (critical)"
    assert declared.at == NOW
    assert declared.actor == "ana"
    assert declared.id is not None
    await resolve(store, 1)
    second = await store.create_incident(
        incident("Slow dashboard", severity=IncidentSeverity.HIGH), actor="bo"
    )
    assert second.id == 2
    assert second.timeline[0].text == "Declared: Slow dashboard (high)"


async def test_create_keeps_given_entries_and_an_existing_declared_one(
    store: SqliteStore,
) -> None:
    earlier = entry("probe api down", NOW - timedelta(minutes=16), EntryKind.PROBE, id=999)
    declared = entry("Declared by script", NOW, EntryKind.DECLARED, actor="cron")
    created = await store.create_incident(incident(timeline=(declared, earlier)), actor="ignored")
    assert [(e.kind, e.text) for e in created.timeline] == [
        (EntryKind.PROBE, "probe api down"),
        (EntryKind.DECLARED, "Declared by script"),
    ]
    assert all(e.id is not None and e.id != 999 for e in created.timeline)
    # Without a DECLARED entry, one is added after the given ones (by time).
    await resolve(store, created.id)
    other = await store.create_incident(incident("B", timeline=(earlier,)), actor="ana")
    assert [e.kind for e in other.timeline] == [EntryKind.PROBE, EntryKind.DECLARED]


def full_incident() -> Incident:
    return Incident(
        id=0,
        title="Payments failing ‮ <b>[bold]</b> Zoë",
        component="Payments API",
        severity=IncidentSeverity.HIGH,
        status=IncidentStatus.MONITORING,
        started_at=datetime(2024, 5, 10, 13, 59, 58, 123456, tzinfo=PLUS_TWO),
        impact=Impact(customers=42, failing_percent=2.5, note="EU region only"),
        resolved_at=None,
        monitoring_since=NOW + timedelta(minutes=40),
        last_update_at=NOW + timedelta(minutes=15, microseconds=7),
        snoozed_until=NOW + timedelta(minutes=20),
        review_path="/tmp/review-1.md",
        review_due=NOW + timedelta(hours=25),
        review_done_at=NOW + timedelta(hours=26),
        playbook=frozenset({"1.confirm", "2.notify", "3.diagnose"}),
        playbook_times=(
            ("1.confirm", NOW + timedelta(minutes=1)),
            ("2.notify", NOW + timedelta(minutes=3)),
            ("1.confirm", NOW + timedelta(minutes=4)),
        ),
        root_cause="expired TLS cert on the DB proxy",
        fix="rotated the certificate",
        postmortem_url="https://wiki.example.com/pm/1",
        monitoring_override="customer-confirmed recovery",
    )


async def test_round_trip_of_every_field(store: SqliteStore, db_path: Path) -> None:
    original = full_incident()
    created = await store.create_incident(original, actor="ana")
    assert created == replace(original, id=1)
    assert created.started_at.tzinfo is UTC
    assert created.playbook_times == original.playbook_times  # order kept, repeats kept
    assert await store.get_incident(1) == created
    assert await store.active_incident() == created
    assert await store.list_incidents() == [created]
    (stored,) = await store.list_incidents()
    assert stored.timeline == created.timeline
    # and from a fresh connection
    async with await SqliteStore.open(db_path) as again:
        reread = await again.get_incident(1)
    assert reread == created
    assert reread is not None and reread.timeline == created.timeline


async def test_defaults_round_trip(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    assert created == replace(incident(), id=1)
    assert created.impact == Impact()
    assert created.playbook == frozenset()
    assert created.review_path is None


async def test_update_round_trips_every_field(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    target = replace(full_incident(), id=created.id)
    changes = {name: getattr(target, name) for name in INCIDENT_FIELDS}
    assert set(changes) == INCIDENT_FIELDS
    updated = await store.update_incident(created.id, changes, actor="bo", at=NOW)
    assert updated == target
    assert await store.get_incident(created.id) == target
    # the timeline is untouched: updates write no entries
    assert updated.timeline == created.timeline
    # and back to None/empty values
    cleared = await store.update_incident(
        created.id,
        {
            "monitoring_since": None,
            "impact": Impact(),
            "playbook": set(),
            "playbook_times": [],
            "review_path": "",
            "root_cause": "",
        },
        actor="bo",
        at=NOW,
    )
    assert cleared.monitoring_since is None
    assert cleared.impact == Impact()
    assert cleared.playbook == frozenset()
    assert cleared.playbook_times == ()
    assert cleared.review_path is None
    assert cleared.root_cause == ""


async def test_update_accepts_enum_values_and_lists(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    updated = await store.update_incident(
        created.id,
        {
            "status": "identified",
            "severity": "high",
            "playbook": ["a", "b", "a"],
            "playbook_times": [["a", NOW.astimezone(PLUS_TWO)]],
            "impact": Impact(customers=3, failing_percent=1),
        },
        actor="bo",
        at=NOW,
    )
    assert updated.status is IncidentStatus.IDENTIFIED
    assert updated.severity is IncidentSeverity.HIGH
    assert updated.playbook == frozenset({"a", "b"})
    assert updated.playbook_times == (("a", NOW),)
    assert updated.impact.failing_percent == 1.0


async def test_update_records_who_and_when_but_noop_writes_nothing(
    store: SqliteStore, db_path: Path
) -> None:
    created = await store.create_incident(incident(), actor="ana")
    later = NOW + timedelta(minutes=5)
    await store.update_incident(created.id, {"title": "API down"}, actor="bo", at=later)
    assert sql(db_path, "SELECT updated_by, updated_at FROM incidents") == [
        ("ana", NOW.timestamp())
    ]
    await store.update_incident(created.id, {"title": "API 500s"}, actor="bo", at=later)
    assert sql(db_path, "SELECT updated_by, updated_at FROM incidents") == [
        ("bo", later.timestamp())
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"id": 5},
        {"timeline": ()},
        {"nonsense": 1},
        {"status": "closed"},
        {"severity": "low"},
        {"title": None},
        {"started_at": None},
        {"started_at": datetime(2024, 5, 10, 12, 0)},  # naive
        {"resolved_at": "2024-05-10"},
        {"impact": {"customers": 3}},
        {"impact": Impact(customers="3")},  # type: ignore[arg-type]
        {"impact": Impact(customers=True)},
        {"playbook": "abc"},
        {"playbook": [1, 2]},
        {"playbook_times": [("a",)]},
        {"playbook_times": [("a", "yesterday")]},
        {"review_path": 5},
    ],
)
async def test_bad_updates_raise_store_error_and_write_nothing(
    store: SqliteStore, changes: dict[str, object]
) -> None:
    created = await store.create_incident(incident(), actor="ana")
    with pytest.raises(StoreError):
        await store.update_incident(created.id, changes, actor="bo", at=NOW)
    assert await store.get_incident(created.id) == created


async def test_unknown_incident(store: SqliteStore) -> None:
    assert await store.get_incident(1) is None
    with pytest.raises(StoreError, match="no incident #9"):
        await store.update_incident(9, {"title": "x"}, actor="a", at=NOW)
    with pytest.raises(StoreError, match="no incident #9"):
        await store.append_timeline(9, entry("x"))


async def test_list_is_newest_first_with_timelines_and_limit(store: SqliteStore) -> None:
    for i in range(3):
        created = await store.create_incident(
            incident(f"i{i}", started_at=NOW + timedelta(days=i)), actor="ana"
        )
        await store.append_timeline(created.id, entry(f"note {i}", NOW + timedelta(days=i)))
        await resolve(store, created.id)
    listed = await store.list_incidents()
    assert [i.title for i in listed] == ["i2", "i1", "i0"]
    assert [[e.text for e in i.timeline][-1] for i in listed] == ["note 2", "note 1", "note 0"]
    assert [i.title for i in await store.list_incidents(limit=2)] == ["i2", "i1"]
    assert await store.list_incidents(limit=0) == []


# -- one active incident ----------------------------------------------------------------------


async def test_only_one_active_incident(store: SqliteStore) -> None:
    first = await store.create_incident(incident("first"), actor="ana")
    with pytest.raises(StoreError, match=r"incident #1 is already active \(first\)"):
        await store.create_incident(incident("second"), actor="bo")
    assert [i.title for i in await store.list_incidents()] == ["first"]
    # recording an already-resolved incident is fine while one is active
    past = await store.create_incident(
        incident("past", status=IncidentStatus.RESOLVED, resolved_at=NOW), actor="bo"
    )
    assert (await store.active_incident()) == first
    # reopening it while "first" is active is refused
    with pytest.raises(StoreError, match="already active"):
        await store.update_incident(
            past.id, {"status": IncidentStatus.INVESTIGATING}, actor="bo", at=NOW
        )
    # a status change of the active incident itself is fine
    await store.update_incident(first.id, {"status": "monitoring"}, actor="ana", at=NOW)
    await resolve(store, first.id)
    assert await store.active_incident() is None
    reopened = await store.update_incident(past.id, {"status": "identified"}, actor="bo", at=NOW)
    assert (await store.active_incident()) == reopened
    third = await store.create_incident(
        incident("third", status=IncidentStatus.RESOLVED), actor="bo"
    )
    assert third.id == 3


async def test_the_database_itself_refuses_a_second_active_incident(
    store: SqliteStore, db_path: Path
) -> None:
    await store.create_incident(incident(), actor="ana")
    with (
        contextlib.closing(sqlite3.connect(db_path)) as conn,
        pytest.raises(sqlite3.IntegrityError),
    ):
        conn.execute(
            "INSERT INTO incidents (title, component, severity, status, started_at, "
            "created_at, created_by, updated_at, updated_by) "
            "VALUES ('x', 'y', 'high', 'monitoring', 0, 0, 'x', 0, 'x')"
        )


async def test_two_connections_racing_to_declare(db_path: Path) -> None:
    stores = [await SqliteStore.open(db_path) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(
                s.create_incident(incident(f"from {i}"), actor=f"c{i}")
                for i, s in enumerate(stores)
            ),
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, Incident)]
        refused = [r for r in results if isinstance(r, StoreError)]
        assert len(created) == 1 and len(refused) == 3
        assert all("already active" in str(e) for e in refused)
        for s in stores:
            assert await s.active_incident() == created[0]
    finally:
        for s in stores:
            await s.close()


async def test_two_connections_see_the_same_active_incident(db_path: Path) -> None:
    async with (
        await SqliteStore.open(db_path) as one,
        await SqliteStore.open(db_path) as two,
    ):
        created = await one.create_incident(incident(), actor="ana")
        seen = await two.active_incident()
        assert seen == created
        added = await two.append_timeline(created.id, entry("from console two"))
        await two.update_incident(created.id, {"status": "identified"}, actor="bo", at=NOW)
        again = await one.active_incident()
        assert again is not None
        assert again.status is IncidentStatus.IDENTIFIED
        assert again.timeline[-1] == added


async def test_resolve_incident_is_one_atomic_claim(db_path: Path) -> None:
    """Four connections resolving one incident at once: exactly one gets it back, with
    its all-clear entry; the others get None and change nothing (no second entry)."""
    stores = [await SqliteStore.open(db_path) for _ in range(4)]
    try:
        created = await stores[0].create_incident(incident(), actor="ana")
        later = NOW + timedelta(hours=1)
        results = await asyncio.gather(
            *(
                s.resolve_incident(
                    created.id,
                    {"root_cause": f"cause {i}", "review_path": f"/r/{i}.md"},
                    actor=f"c{i}",
                    at=later,
                    entry=entry(f"all clear {i}", later, EntryKind.ALL_CLEAR, actor=f"c{i}"),
                )
                for i, s in enumerate(stores)
            )
        )
        won = [(i, r) for i, r in enumerate(results) if r is not None]
        assert len(won) == 1 and results.count(None) == 3
        winner, resolved = won[0]
        assert resolved.status is IncidentStatus.RESOLVED and resolved.resolved_at == later
        assert resolved.root_cause == f"cause {winner}"
        assert resolved.review_path == f"/r/{winner}.md"
        stored = await stores[1].get_incident(created.id)
        assert stored == resolved and stored.timeline == resolved.timeline
        assert [(e.kind, e.text, e.actor) for e in stored.timeline][1:] == [
            (EntryKind.ALL_CLEAR, f"all clear {winner}", f"c{winner}")
        ]
        assert sql(db_path, "SELECT updated_by, updated_at FROM incidents") == [
            (f"c{winner}", later.timestamp())
        ]
    finally:
        for s in stores:
            await s.close()


async def test_resolve_incident_checks_its_arguments_and_reopened_incidents(
    store: SqliteStore,
) -> None:
    """Bad calls raise StoreError and write nothing; an incident reopened after its
    resolution (its old ``resolved_at`` kept) can be resolved again: status decides."""
    created = await store.create_incident(incident(), actor="ana")
    for changes, match in [
        ({"status": IncidentStatus.RESOLVED}, "sets status itself"),
        ({"resolved_at": NOW}, "sets resolved_at itself"),
        ({"nope": 1}, "cannot update incident field"),
        ({"root_cause": 3}, "bad root_cause"),
    ]:
        with pytest.raises(StoreError, match=match):
            await store.resolve_incident(created.id, changes, actor="bo", at=NOW)
    with pytest.raises(StoreError, match="no incident #9"):
        await store.resolve_incident(9, {}, actor="bo", at=NOW)
    with pytest.raises(StoreError, match="timezone-aware"):
        await store.resolve_incident(created.id, {}, actor="bo", at=NOW.replace(tzinfo=None))
    assert await store.active_incident() == created
    first = await store.resolve_incident(created.id, {}, actor="bo", at=NOW)
    assert first is not None and first.resolved_at == NOW and len(first.timeline) == 1
    assert await store.resolve_incident(created.id, {"fix": "x"}, actor="cy", at=NOW) is None
    reopened = await store.update_incident(created.id, {"status": "identified"}, actor="a", at=NOW)
    assert reopened.active and reopened.resolved_at == NOW
    later = NOW + timedelta(hours=2)
    again = await store.resolve_incident(created.id, {"fix": "x"}, actor="cy", at=later)
    assert again is not None and again.resolved_at == later and again.fix == "x"


# -- timeline ---------------------------------------------------------------------------------


async def test_timeline_is_ordered_by_time_then_append_order(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    a = await store.append_timeline(created.id, entry("a", NOW + timedelta(minutes=5)))
    b = await store.append_timeline(created.id, entry("b", NOW + timedelta(minutes=5)))
    c = await store.append_timeline(
        created.id, entry("probe down earlier", NOW - timedelta(minutes=1), EntryKind.PROBE)
    )
    assert a.id is not None and b.id is not None and c.id is not None
    assert a.id < b.id < c.id
    assert b == replace(entry("b", NOW + timedelta(minutes=5)), id=b.id)
    stored = await store.get_incident(created.id)
    assert stored is not None
    assert [e.text for e in stored.timeline] == [
        "probe down earlier",
        "Declared: API down (critical)",
        "a",
        "b",
    ]
    assert stored.timeline[-1] == b


async def test_timeline_entries_round_trip(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    original = entry(
        "Update sent ‮ [b]x[/b]\nline 2",
        datetime(2024, 5, 10, 15, 1, 2, 345678, tzinfo=PLUS_TWO),
        EntryKind.UPDATE,
        actor="Zoë",
        delivery="slack: queued",
    )
    stored = await store.append_timeline(created.id, original)
    assert stored == replace(original, id=stored.id)
    assert stored.at.tzinfo is UTC
    reread = await store.get_incident(created.id)
    assert reread is not None and reread.timeline[-1] == stored
    with pytest.raises(StoreError):
        await store.append_timeline(created.id, entry("naive", datetime(2024, 5, 10)))
    with pytest.raises(StoreError):
        await store.append_timeline(created.id, replace(original, kind="bogus"))  # type: ignore[arg-type]


async def test_timeline_is_append_only(store: SqliteStore, db_path: Path) -> None:
    created = await store.create_incident(incident(), actor="ana")
    stored = await store.append_timeline(created.id, entry("update", kind=EntryKind.UPDATE))
    assert stored.id is not None
    # the API has no way to change or remove an entry, except its delivery result
    names = {n for n, _ in inspect.getmembers(SqliteStore) if not n.startswith("_")}
    touching = {n for n in names if "entry" in n or "timeline" in n}
    assert touching == {"append_timeline", "set_entry_delivery"}
    # and SQLite refuses it too
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        for statement in (
            "DELETE FROM incident_timeline",
            "UPDATE incident_timeline SET text = 'rewritten'",
            "UPDATE incident_timeline SET at = 0",
            "UPDATE incident_timeline SET kind = 'note', actor = 'x'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    reread = await store.get_incident(created.id)
    assert reread is not None and reread.timeline[-1].text == "update"


async def test_set_entry_delivery_changes_only_the_delivery(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    stored = await store.append_timeline(
        created.id, entry("update", kind=EntryKind.UPDATE, delivery="slack: queued")
    )
    assert stored.id is not None
    await store.set_entry_delivery(stored.id, "slack: ok (after retry)")
    reread = await store.get_incident(created.id)
    assert reread is not None
    assert reread.timeline[-1] == replace(stored, delivery="slack: ok (after retry)")
    with pytest.raises(StoreError, match="no timeline entry 999"):
        await store.set_entry_delivery(999, "ok")


# -- outbox -----------------------------------------------------------------------------------


async def test_outbox_enqueue_pending_and_mark(store: SqliteStore) -> None:
    created = await store.create_incident(incident(), actor="ana")
    upd = await store.append_timeline(created.id, entry("u1", kind=EntryKind.UPDATE))
    first = await store.enqueue_outbound("slack", "update 1", entry_id=upd.id, at=NOW)
    second = await store.enqueue_outbound(
        "slack", "update 2", entry_id=None, at=NOW + timedelta(seconds=1)
    )
    assert second > first
    assert await store.pending_outbound(NOW - timedelta(seconds=1)) == []
    (due,) = await store.pending_outbound(NOW)
    assert due == OutboundMessage(
        id=first,
        channel="slack",
        payload="update 1",
        entry_id=upd.id,
        attempts=0,
        created_at=NOW,
        next_attempt_at=NOW,
        last_error=None,
    )
    assert [m.id for m in await store.pending_outbound(NOW + timedelta(seconds=5))] == [
        first,
        second,
    ]
    # a failed attempt: counted, not due before its next attempt
    retry_at = NOW + timedelta(seconds=30)
    await store.mark_outbound(
        first, delivered=False, error="Slack returned 500", next_attempt_at=retry_at, at=NOW
    )
    assert [m.id for m in await store.pending_outbound(NOW + timedelta(seconds=29))] == [second]
    (again, _) = await store.pending_outbound(retry_at)
    assert (again.id, again.attempts, again.last_error) == (first, 1, "Slack returned 500")
    assert again.next_attempt_at == retry_at
    await store.mark_outbound(
        first, delivered=False, error="timeout", next_attempt_at=retry_at, at=retry_at
    )
    # delivered: gone from the queue
    await store.mark_outbound(first, delivered=True, error=None, next_attempt_at=None, at=retry_at)
    assert [m.id for m in await store.pending_outbound(NOW + timedelta(days=1))] == [second]
    # given up (a permanent error): never pending again
    await store.mark_outbound(
        second, delivered=False, error="404 no_service", next_attempt_at=None, at=NOW
    )
    assert await store.pending_outbound(NOW + timedelta(days=1)) == []


async def test_outbox_attempts_and_states_are_stored(store: SqliteStore, db_path: Path) -> None:
    mid = await store.enqueue_outbound("slack", "x", entry_id=None, at=NOW)
    for _ in range(3):
        await store.mark_outbound(
            mid, delivered=False, error="e", next_attempt_at=NOW + timedelta(1), at=NOW
        )
    await store.mark_outbound(mid, delivered=True, error=None, next_attempt_at=None, at=NOW)
    # a late failure report (another console) does not undo the delivery
    await store.mark_outbound(mid, delivered=False, error="e", next_attempt_at=NOW, at=NOW)
    assert sql(db_path, "SELECT state, attempts, delivered_at FROM outbox") == [
        ("delivered", 5, NOW.timestamp())
    ]
    with pytest.raises(StoreError, match="no outbox message 99"):
        await store.mark_outbound(99, delivered=True, error=None, next_attempt_at=None, at=NOW)


async def test_outbox_claim_lets_one_console_take_a_message(
    store: SqliteStore, db_path: Path
) -> None:
    """Two consoles on one database: a due message is claimed by one of them only; a
    claim that is never settled (the console died) lapses, and the message is due again."""
    mid = await store.enqueue_outbound("slack", "update", entry_id=None, at=NOW)
    other = await SqliteStore.open(db_path)
    try:
        lease = NOW + timedelta(minutes=2)
        assert not await store.claim_outbound(mid, now=NOW - timedelta(seconds=1), until=lease)
        assert await store.claim_outbound(mid, now=NOW, until=lease)  # not due before: no
        assert not await other.claim_outbound(mid, now=NOW, until=lease)
        assert await other.pending_outbound(NOW + timedelta(minutes=1)) == []
        (again,) = await other.pending_outbound(lease)  # the claim lapsed: due again
        assert again.id == mid
        assert await other.claim_outbound(mid, now=lease, until=lease + timedelta(minutes=2))
        await other.mark_outbound(mid, delivered=True, error=None, next_attempt_at=None, at=lease)
        assert not await store.claim_outbound(mid, now=lease + timedelta(days=1), until=lease)
    finally:
        await other.close()


@pytest.mark.parametrize("channel", [WEBHOOK, "http://127.0.0.1:9/services/T/B/x", "", "  "])
async def test_outbox_channel_must_be_a_name(store: SqliteStore, channel: str) -> None:
    with pytest.raises(StoreError, match="not a URL"):
        await store.enqueue_outbound(channel, "x", entry_id=None, at=NOW)


async def test_outbox_unknown_entry(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no timeline entry 5"):
        await store.enqueue_outbound("slack", "x", entry_id=5, at=NOW)


async def test_webhook_url_never_reaches_the_database(store: SqliteStore, db_path: Path) -> None:
    """Canary: errors and delivery texts that quote the webhook URL are stored redacted."""
    created = await store.create_incident(incident(), actor="ana")
    upd = await store.append_timeline(
        created.id, entry("u", kind=EntryKind.UPDATE, delivery=f"slack: posting to {WEBHOOK}")
    )
    assert upd.id is not None
    mid = await store.enqueue_outbound("slack", "update", entry_id=upd.id, at=NOW)
    await store.mark_outbound(
        mid,
        delivered=False,
        error=f"POST {WEBHOOK} failed",
        next_attempt_at=NOW + timedelta(seconds=5),
        at=NOW,
    )
    await store.set_entry_delivery(upd.id, f"slack: failed: {WEBHOOK}")
    (pending,) = await store.pending_outbound(NOW + timedelta(seconds=5))
    assert pending.last_error is not None and CANARY not in pending.last_error
    await store.close()
    for path in db_path.parent.iterdir():
        if path.name.startswith(db_path.name):
            assert CANARY.encode() not in path.read_bytes(), path.name


# -- durability and persistence ---------------------------------------------------------------


async def test_incident_writes_are_durable(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags: list[bool] = []
    original = store._write

    def recording(*, durable: bool = False):  # type: ignore[no-untyped-def]
        flags.append(durable)
        return original(durable=durable)

    monkeypatch.setattr(store, "_write", recording)
    created = await store.create_incident(incident(), actor="ana")
    await store.update_incident(created.id, {"title": "x"}, actor="a", at=NOW)
    e = await store.append_timeline(created.id, entry("n"))
    assert e.id is not None
    await store.set_entry_delivery(e.id, "ok")
    mid = await store.enqueue_outbound("slack", "p", entry_id=e.id, at=NOW)
    await store.mark_outbound(mid, delivered=True, error=None, next_attempt_at=None, at=NOW)
    assert flags == [True] * 6


async def test_persistence_across_close_and_reopen(db_path: Path) -> None:
    async with await SqliteStore.open(db_path) as store:
        created = await store.create_incident(full_incident(), actor="ana")
        note = await store.append_timeline(created.id, entry("still broken"))
        mid = await store.enqueue_outbound("slack", "queued", entry_id=note.id, at=NOW)
        before = await store.active_incident()
    async with await SqliteStore.open(db_path) as store:
        after = await store.active_incident()
        assert after == before
        assert after is not None and before is not None
        assert after.timeline == before.timeline
        assert after.started_at == full_incident().started_at  # the timer continues
        assert [m.id for m in await store.pending_outbound(NOW)] == [mid]
        # ids keep growing after a restart
        again = await store.append_timeline(after.id, entry("later"))
        assert again.id is not None and note.id is not None and again.id > note.id


async def test_a_ticket_database_is_migrated_to_incidents(tmp_path: Path) -> None:
    """An existing file at schema 2 gains the incident tables in place."""
    from opsconsole.adapters.sqlite_store import MIGRATIONS

    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for steps in MIGRATIONS[:2]:
            for statement in steps:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
    async with await SqliteStore.open(path) as store:
        created = await store.create_incident(incident(), actor="ana")
        assert created.id == 1
    assert sql(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
