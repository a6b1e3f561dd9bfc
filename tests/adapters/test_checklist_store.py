"""SqliteStore as a ChecklistStore, against real SQLite files in tmp_path (no mocks)."""

from __future__ import annotations

import contextlib
import inspect
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsconsole.adapters.sqlite_store import MIGRATIONS, SqliteStore, StoreError
from opsconsole.core.checklists import (
    DAILY_ITEMS,
    WEEKLY_ITEMS,
    Cadence,
    Facts,
    ItemResult,
    ItemStatus,
    due_items,
    evaluate,
)
from opsconsole.core.clock import frozen_clock
from opsconsole.core.store import ChecklistRun, ChecklistStore

NOW = datetime(2025, 3, 14, 9, 5, tzinfo=UTC)  # a Friday
SHIFT = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
CANARY = "CANARYsentryToken5d1c"


def result(
    key: str = "check-status-page", status: ItemStatus = ItemStatus.PASS, **kw: object
) -> ItemResult:
    values: dict[str, object] = {
        "key": key,
        "text": f"text of {key}",
        "cadence": Cadence.DAILY,
        "status": status,
        "evidence": "status page: all operational",
    }
    values.update(kw)
    return ItemResult(**values)  # type: ignore[arg-type]


def sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ops.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(db_path, clock=frozen_clock(NOW)) as s:
        yield s


def test_sqlite_store_implements_the_protocol() -> None:
    for name, member in inspect.getmembers(ChecklistStore, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = getattr(SqliteStore, name)
        assert inspect.signature(ours) == inspect.signature(member), name


async def test_a_run_round_trips_with_its_results(store: SqliteStore) -> None:
    facts = Facts(now=NOW, since=SHIFT, critical_tickets_waiting=2)
    shown = due_items(
        DAILY_ITEMS[4:5] + WEEKLY_ITEMS[1:2],
        date(2025, 3, 17),
        weekly_day=4,
        monthly_day=1,
        last_done={},
    )
    results = [evaluate(item, facts) for item, _ in shown]
    run_id = await store.start_checklist_run("ana", NOW)
    assert run_id == 1
    for item in results:
        await store.record_checklist_item(run_id, item, NOW)
    [run] = await store.checklist_runs()
    assert run == ChecklistRun(
        id=1, operator="ana", started_at=NOW, finished_at=None, results=tuple(results)
    )
    assert run.results[0].status is ItemStatus.FAIL
    assert run.results[0].evidence == "2 critical tickets are waiting for a reply"
    await store.finish_checklist_run(run_id, NOW + timedelta(minutes=4))
    [run] = await store.checklist_runs()
    assert run.finished_at == NOW + timedelta(minutes=4)


async def test_record_upserts_by_run_and_key_keeping_the_order(store: SqliteStore) -> None:
    """Ticking an item again replaces its state in place: one row per item and run."""
    run_id = await store.start_checklist_run("ana", NOW)
    manual = result("check-backup-status", ItemStatus.MANUAL, evidence="", cadence="weekly")
    await store.record_checklist_item(run_id, manual, NOW)
    await store.record_checklist_item(run_id, result(), NOW)
    ticked = result(
        "check-backup-status",
        ItemStatus.DONE,
        evidence="",
        cadence=Cadence.WEEKLY,
        overdue=True,
        note="Neon snapshot 03:00 ok",
    )
    await store.record_checklist_item(run_id, ticked, NOW + timedelta(minutes=2))
    [run] = await store.checklist_runs()
    assert run.results == (ticked, result())
    assert run.results[0].cadence is Cadence.WEEKLY and run.results[0].overdue
    other = await store.start_checklist_run("bo", NOW + timedelta(hours=12))
    await store.record_checklist_item(other, result(status=ItemStatus.FAIL), NOW)
    assert [len(r.results) for r in await store.checklist_runs()] == [1, 2]


async def test_runs_newest_first_with_a_limit(store: SqliteStore) -> None:
    ids = [await store.start_checklist_run("ana", NOW + timedelta(days=d)) for d in range(7)]
    await store.record_checklist_item(ids[-1], result(), NOW)
    runs = await store.checklist_runs()
    assert [r.id for r in runs] == ids[::-1][:5]
    assert runs[0].results == (result(),) and runs[1].results == ()
    assert [r.id for r in await store.checklist_runs(limit=2)] == ids[::-1][:2]
    assert await store.checklist_runs(limit=0) == []


async def test_last_done_dates(store: SqliteStore) -> None:
    """Only PASS and DONE count, the latest date wins, and dates follow the given zone."""
    first = await store.start_checklist_run("ana", NOW - timedelta(days=7))
    await store.record_checklist_item(
        first, result("weekly-a", ItemStatus.DONE), NOW - timedelta(days=7)
    )
    await store.record_checklist_item(
        first, result("weekly-b", ItemStatus.DONE), NOW - timedelta(days=7)
    )
    await store.record_checklist_item(
        first, result("auto", ItemStatus.PASS), NOW - timedelta(days=7)
    )
    second = await store.start_checklist_run("bo", NOW)
    for key, status in [
        ("weekly-a", ItemStatus.DONE),
        ("weekly-b", ItemStatus.SKIPPED),
        ("auto", ItemStatus.FAIL),
        ("manual", ItemStatus.MANUAL),
        ("unknown", ItemStatus.UNKNOWN),
    ]:
        await store.record_checklist_item(second, result(key, status), NOW)
    late = datetime(2025, 3, 14, 23, 30, tzinfo=UTC)  # already Saturday in Auckland
    await store.record_checklist_item(second, result("late", ItemStatus.DONE), late)
    assert await store.last_done_dates() == {
        "weekly-a": date(2025, 3, 14),
        "weekly-b": date(2025, 3, 7),
        "auto": date(2025, 3, 7),
        "late": date(2025, 3, 14),
    }
    local = await store.last_done_dates(tz=ZoneInfo("Pacific/Auckland"))
    assert local["late"] == date(2025, 3, 15)


async def test_an_upsert_away_from_done_forgets_it(store: SqliteStore) -> None:
    """The latest state of an item in a run wins, also for last_done_dates."""
    run_id = await store.start_checklist_run("ana", NOW)
    await store.record_checklist_item(run_id, result("x", ItemStatus.DONE), NOW)
    await store.record_checklist_item(run_id, result("x", ItemStatus.SKIPPED), NOW)
    assert await store.last_done_dates() == {}


async def test_first_run_since_the_shift_start(store: SqliteStore) -> None:
    assert await store.first_run_since(SHIFT) is None
    night = await store.start_checklist_run("bo", SHIFT - timedelta(hours=12))
    assert await store.first_run_since(SHIFT) is None
    morning = await store.start_checklist_run("ana", SHIFT)  # exactly at the start counts
    await store.record_checklist_item(morning, result(), SHIFT)
    await store.start_checklist_run("ana", SHIFT + timedelta(hours=1))
    found = await store.first_run_since(SHIFT)
    assert found is not None
    assert (found.id, found.operator, found.results) == (morning, "ana", (result(),))
    older = await store.first_run_since(SHIFT - timedelta(days=1))
    assert older is not None and older.id == night


async def test_unknown_runs_and_bad_results_are_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no checklist run 9"):
        await store.record_checklist_item(9, result(), NOW)
    with pytest.raises(StoreError, match="no checklist run 9"):
        await store.finish_checklist_run(9, NOW)
    with pytest.raises(StoreError, match="operator"):
        await store.start_checklist_run("  ", NOW)
    run_id = await store.start_checklist_run("ana", NOW)
    with pytest.raises(StoreError, match="bad checklist result"):
        await store.record_checklist_item(run_id, result(status="great"), NOW)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="needs a key"):
        await store.record_checklist_item(run_id, result(""), NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.start_checklist_run("ana", NOW.replace(tzinfo=None))
    [run] = await store.checklist_runs()
    assert run.results == ()


async def test_evidence_is_redacted_before_storing(store: SqliteStore, db_path: Path) -> None:
    """A source error quoting a credential never reaches the database file."""
    leaky = result(
        "review-sentry",
        ItemStatus.UNKNOWN,
        evidence=f"Sentry: GET https://sentry.io/api/0/?token={CANARY} failed",
    )
    run_id = await store.start_checklist_run("ana", NOW)
    await store.record_checklist_item(run_id, leaky, NOW)
    [run] = await store.checklist_runs()
    assert CANARY not in run.results[0].evidence
    assert run.results[0].evidence.startswith("Sentry: GET https://sentry.io/api/0/?token=")
    await store.checkpoint()
    for path in db_path.parent.iterdir():
        if path.name.startswith(db_path.name):
            assert CANARY.encode() not in path.read_bytes(), path.name


async def test_checklist_writes_are_durable(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags: list[bool] = []
    original = store._write

    def recording(*, durable: bool = False):  # type: ignore[no-untyped-def]
        flags.append(durable)
        return original(durable=durable)

    monkeypatch.setattr(store, "_write", recording)
    run_id = await store.start_checklist_run("ana", NOW)
    await store.record_checklist_item(run_id, result(), NOW)
    await store.finish_checklist_run(run_id, NOW)
    assert flags == [True] * 3


async def test_persistence_across_close_and_reopen(db_path: Path) -> None:
    async with await SqliteStore.open(db_path) as store:
        run_id = await store.start_checklist_run("ana", NOW)
        await store.record_checklist_item(run_id, result(status=ItemStatus.DONE, note="ok"), NOW)
        await store.finish_checklist_run(run_id, NOW + timedelta(minutes=3))
        before = await store.checklist_runs()
    async with await SqliteStore.open(db_path) as store:
        assert await store.checklist_runs() == before
        assert await store.last_done_dates() == {"check-status-page": date(2025, 3, 14)}
        assert await store.first_run_since(SHIFT) == before[0]
        # ids keep growing after a restart
        assert await store.start_checklist_run("bo", NOW) == run_id + 1


async def test_an_incident_database_is_migrated_to_checklists(tmp_path: Path) -> None:
    """An existing file at schema 3 gains the checklist tables in place."""
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for steps in MIGRATIONS[:3]:
            for statement in steps:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 3")
        conn.commit()
    async with await SqliteStore.open(path) as store:
        assert await store.start_checklist_run("ana", NOW) == 1
    assert sql(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
