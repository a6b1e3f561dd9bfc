"""SqliteStore against real SQLite files in tmp_path (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import (
    MIGRATIONS,
    SqliteStore,
    StoreError,
    default_db_path,
)
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState, Uptime

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)

SLOW = ConditionResult("[RESPONSE_TIME] < 500", ok=False, resolved="(812) < 500", latency_only=True)
STATUS_OK = ConditionResult("[STATUS] == 200", ok=True, resolved="(200) == 200")
STATUS_BAD = ConditionResult("[STATUS] == 200", ok=False, resolved="(503) == 200")


def result(
    probe: str = "api",
    at: datetime = NOW,
    outcome: Outcome = Outcome.OK,
    latency: float | None = 12.5,
    conditions: tuple[ConditionResult, ...] = (),
    **kw: object,
) -> ProbeResult:
    return ProbeResult(
        probe=probe,
        timestamp=at,
        outcome=outcome,
        latency_ms=latency,
        conditions=conditions,
        **kw,  # type: ignore[arg-type]
    )


def sql(path: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(tmp_path / "ops.db") as s:
        yield s


# -- round trips ---------------------------------------------------------------------------


async def test_record_and_latest_round_trip_all_fields(store: SqliteStore) -> None:
    original = ProbeResult(
        probe="api",
        timestamp=datetime(2024, 5, 10, 12, 30, 1, 123456, tzinfo=UTC),
        outcome=Outcome.FAILED_CONDITIONS,
        status=200,
        latency_ms=812.25,
        error="slow",
        conditions=(STATUS_OK, SLOW),
        state=ProbeState.DEGRADED,
    )
    await store.record_probe_result(original)
    latest = await store.latest_results()
    assert latest == {"api": original}
    got = latest["api"]
    assert got.timestamp.tzinfo is UTC
    assert got.outcome is Outcome.FAILED_CONDITIONS
    assert got.state is ProbeState.DEGRADED
    assert isinstance(got.conditions, tuple)
    assert got.degraded


async def test_round_trip_of_nones_and_non_utc_input(store: SqliteStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    original = ProbeResult(
        probe="dns",
        timestamp=NOW.astimezone(plus_two),
        outcome=Outcome.DNS_FAILURE,
        error="NXDOMAIN",
    )
    await store.record_probe_result(original)
    got = (await store.latest_results())["dns"]
    assert got == original  # same instant
    assert got.timestamp.utcoffset() == timedelta(0)
    assert (got.status, got.latency_ms, got.conditions) == (None, None, ())
    assert got.state is ProbeState.UNKNOWN


async def test_naive_datetimes_are_rejected(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        await store.record_probe_result(result(at=datetime(2024, 5, 10, 12)))
    with pytest.raises(ValueError):
        await store.uptime("api", datetime(2024, 5, 10, 12))


async def test_latest_per_probe_picks_newest_timestamp(store: SqliteStore) -> None:
    """Newest by timestamp, even when an older result was written last."""
    await store.record_probe_result(result("a", NOW, Outcome.OK))
    await store.record_probe_result(result("b", NOW - timedelta(minutes=5), Outcome.TIMEOUT))
    await store.record_probe_result(result("a", NOW + timedelta(seconds=30), Outcome.ERROR))
    await store.record_probe_result(result("a", NOW - timedelta(minutes=1), Outcome.OK))
    await store.record_probe_result(result("b", NOW - timedelta(minutes=10), Outcome.OK))
    latest = await store.latest_results()
    assert sorted(latest) == ["a", "b"]
    assert latest["a"].outcome is Outcome.ERROR
    assert latest["a"].timestamp == NOW + timedelta(seconds=30)
    assert latest["b"].outcome is Outcome.TIMEOUT


async def test_latest_results_empty(store: SqliteStore) -> None:
    assert await store.latest_results() == {}


async def test_latest_results_uses_the_index(store: SqliteStore, tmp_path: Path) -> None:
    await store.record_probe_result(result())
    plan = sql(
        tmp_path / "ops.db",
        "EXPLAIN QUERY PLAN SELECT id FROM probe_results WHERE probe = 'x' "
        "ORDER BY ts DESC, id DESC LIMIT 1",
    )
    details = " ".join(str(r[-1]) for r in plan)
    assert "probe_results_probe_ts" in details
    assert "TEMP B-TREE" not in details


async def test_recent_latencies_oldest_first_limited_and_skipping_none(
    store: SqliteStore,
) -> None:
    for i, latency in enumerate([10.0, None, 20.0, 30.0, None, 40.0]):
        await store.record_probe_result(result("api", NOW + timedelta(seconds=i), latency=latency))
    await store.record_probe_result(result("other", NOW, latency=999.0))
    assert await store.recent_latencies("api") == [10.0, 20.0, 30.0, 40.0]
    assert await store.recent_latencies("api", limit=2) == [30.0, 40.0]
    assert await store.recent_latencies("api", limit=0) == []
    assert await store.recent_latencies("missing") == []


# -- rollups and uptime --------------------------------------------------------------------


async def test_rollup_upsert_and_uptime_windows(store: SqliteStore, tmp_path: Path) -> None:
    """Degraded (latency-only failures) counts as up; failures do not."""
    current = NOW.replace(minute=5)
    records = [
        # current hour: 3 ok + 1 failed condition
        result(at=current, latency=10.0),
        result(at=current + timedelta(minutes=1), latency=30.0),
        result(at=current + timedelta(minutes=2), latency=None),
        result(
            at=current + timedelta(minutes=3),
            outcome=Outcome.FAILED_CONDITIONS,
            conditions=(STATUS_BAD,),
            latency=20.0,
        ),
        # 5 h ago: 1 degraded (up) + 1 timeout (down)
        result(
            at=current - timedelta(hours=5),
            outcome=Outcome.FAILED_CONDITIONS,
            conditions=(STATUS_OK, SLOW),
            latency=812.0,
        ),
        result(at=current - timedelta(hours=5, minutes=-1), outcome=Outcome.TIMEOUT, latency=None),
        # 2 days ago: 4 ok
        *(result(at=current - timedelta(days=2, minutes=i)) for i in range(4)),
        # 10 days ago: 2 refused
        *(
            result(at=current - timedelta(days=10, minutes=i), outcome=Outcome.CONNECTION_REFUSED)
            for i in range(2)
        ),
        # 40 days ago: outside every window
        *(
            result(at=current - timedelta(days=40, minutes=i), outcome=Outcome.ERROR)
            for i in range(5)
        ),
        # another probe must not leak in
        result("other", current, outcome=Outcome.ERROR),
    ]
    for r in records:
        await store.record_probe_result(r)

    hour = int(NOW.replace(minute=0).timestamp())
    assert sql(
        tmp_path / "ops.db",
        "SELECT total, ok, latency_sum, latency_max, latency_count FROM probe_rollups "
        "WHERE probe = 'api' AND hour = ?",
        (hour,),
    ) == [(4, 3, 60.0, 30.0, 3)]
    assert sql(
        tmp_path / "ops.db",
        "SELECT total, ok, latency_max, latency_count FROM probe_rollups "
        "WHERE probe = 'api' AND hour = ?",
        (hour - 5 * 3600,),
    ) == [(2, 1, 812.0, 1)]

    up = await store.uptime("api", NOW)
    assert up.day == pytest.approx(100 * 4 / 6)
    assert up.week == pytest.approx(100 * 8 / 10)
    assert up.month == pytest.approx(100 * 8 / 12)
    assert await store.uptime("other", NOW) == Uptime(0.0, 0.0, 0.0)


async def test_uptime_none_without_samples(store: SqliteStore) -> None:
    assert await store.uptime("nothing", NOW) == Uptime(None, None, None)
    await store.record_probe_result(result("old", NOW - timedelta(days=45)))
    assert await store.uptime("old", NOW) == Uptime(None, None, None)
    await store.record_probe_result(result("weekly", NOW - timedelta(days=3)))
    assert await store.uptime("weekly", NOW) == Uptime(None, 100.0, 100.0)


async def test_uptime_reads_rollups_not_results(store: SqliteStore, tmp_path: Path) -> None:
    """Uptime must come from rollups only (no scan of probe_results)."""
    await store.record_probe_result(result(at=NOW))
    with contextlib.closing(sqlite3.connect(tmp_path / "ops.db")) as conn:
        conn.execute("DELETE FROM probe_results")
        conn.commit()
    assert await store.uptime("api", NOW) == Uptime(100.0, 100.0, 100.0)


# -- prune ---------------------------------------------------------------------------------


async def test_prune_removes_only_old_rows_and_returns_count(
    store: SqliteStore, tmp_path: Path
) -> None:
    cutoff = NOW - timedelta(days=30)
    for days in (40, 35, 31):
        await store.record_probe_result(result(at=NOW - timedelta(days=days)))
    await store.record_probe_result(result(at=cutoff - timedelta(minutes=1)))  # just before
    await store.record_probe_result(result(at=cutoff))  # at the cutoff: kept
    await store.record_probe_result(result(at=NOW))
    await store.record_probe_result(result("other", NOW - timedelta(days=90)))

    assert await store.prune(cutoff) == 5
    remaining = sql(tmp_path / "ops.db", "SELECT ts FROM probe_results ORDER BY ts")
    assert [r[0] for r in remaining] == [cutoff.timestamp(), NOW.timestamp()]
    hours = sql(tmp_path / "ops.db", "SELECT probe, hour FROM probe_rollups ORDER BY hour")
    # the hour holding the cutoff is only partly old, so its rollup stays
    assert hours == [
        ("api", int(cutoff.replace(minute=0).timestamp())),
        ("api", int(NOW.replace(minute=0).timestamp())),
    ]
    assert await store.prune(cutoff) == 0
    assert (await store.latest_results())["api"].timestamp == NOW


async def test_prune_works_in_chunks(store: SqliteStore, tmp_path: Path) -> None:
    store.prune_chunk_rows = 4
    for i in range(23):
        await store.record_probe_result(result(at=NOW - timedelta(days=40, hours=i)))
    await store.record_probe_result(result(at=NOW))
    assert await store.prune(NOW - timedelta(days=1)) == 23
    assert sql(tmp_path / "ops.db", "SELECT count(*) FROM probe_results") == [(1,)]
    assert sql(tmp_path / "ops.db", "SELECT count(*) FROM probe_rollups") == [(1,)]


# -- schema, pragmas, lifecycle ------------------------------------------------------------


async def test_open_creates_parent_dirs_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ops.db"
    async with await SqliteStore.open(path) as store:
        await store.record_probe_result(result())
    for _ in range(2):
        async with await SqliteStore.open(path) as store:
            assert list(await store.latest_results()) == ["api"]
    assert sql(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    tables = sql(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert {("probe_results",), ("probe_rollups",)} <= set(tables)


async def test_newer_schema_gives_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    async with await SqliteStore.open(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 7}")
    with pytest.raises(StoreError) as excinfo:
        await SqliteStore.open(path)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"schema version {len(MIGRATIONS) + 7}" in message
    assert "newer" in message


async def test_not_a_database_gives_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        await SqliteStore.open(path)


async def test_wal_and_connection_pragmas(store: SqliteStore, tmp_path: Path) -> None:
    assert sql(tmp_path / "ops.db", "PRAGMA journal_mode") == [("wal",)]
    db = store._connection()
    pragmas = {}
    for name in ("busy_timeout", "synchronous", "foreign_keys"):
        async with db.execute(f"PRAGMA {name}") as cursor:
            pragmas[name] = (await cursor.fetchone())[0]  # type: ignore[index]
    assert pragmas == {"busy_timeout": 5000, "synchronous": 1, "foreign_keys": 1}


async def test_checkpoint_truncates_the_wal(store: SqliteStore, tmp_path: Path) -> None:
    for i in range(50):
        await store.record_probe_result(result(at=NOW + timedelta(seconds=i)))
    wal = tmp_path / "ops.db-wal"
    assert wal.stat().st_size > 0
    assert await store.checkpoint() is True
    assert wal.stat().st_size == 0
    assert len(await store.recent_latencies("api", limit=100)) == 50


async def test_failed_write_rolls_back_and_store_stays_usable(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        async with store._write() as db:
            await db.execute(
                "INSERT INTO probe_results (probe, ts, outcome, state) VALUES ('x', 0, 'ok', 'up')"
            )
            raise RuntimeError("boom")
    with pytest.raises(StoreError, match="write failed"):
        async with store._write() as db:
            await db.execute("INSERT INTO no_such_table VALUES (1)")
    await store.record_probe_result(result())
    assert list(await store.latest_results()) == ["api"]


async def test_concurrent_tasks_share_one_connection(store: SqliteStore) -> None:
    await asyncio.gather(
        *(
            store.record_probe_result(result(f"p{i % 5}", NOW + timedelta(seconds=i)))
            for i in range(100)
        )
    )
    assert len(await store.latest_results()) == 5


async def test_close_twice_and_use_after_close(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "ops.db")
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.latest_results()
    with pytest.raises(StoreError, match="closed"):
        await store.record_probe_result(result())


def test_default_db_path_honours_xdg_data_home(tmp_path: Path) -> None:
    xdg = tmp_path / "data"
    assert default_db_path({"XDG_DATA_HOME": str(xdg)}) == xdg / "opsconsole" / "opsconsole.db"
    home = tmp_path / "home"
    expected = home / ".local" / "share" / "opsconsole" / "opsconsole.db"
    assert default_db_path({"HOME": str(home)}) == expected
    assert default_db_path({"HOME": str(home), "XDG_DATA_HOME": ""}) == expected
    assert default_db_path({"HOME": str(home), "XDG_DATA_HOME": "rel/dir"}) == expected


def test_default_db_path_reads_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "opsconsole" / "opsconsole.db"


# -- several processes ---------------------------------------------------------------------

WRITERS = 4
WRITES_EACH = 200


def _writer(path: str, worker: int, mode: str, barrier: object, errors: object) -> None:
    """Child process: open the shared DB and write WRITES_EACH times.

    ``record``: record_probe_result calls; ``counter``: read-then-write transactions
    through ``_write()`` (the pattern that fails instantly under a deferred BEGIN).
    """

    async def run() -> list[str]:
        failures: list[str] = []
        barrier.wait()  # type: ignore[attr-defined]
        async with await SqliteStore.open(Path(path)) as store:
            for i in range(WRITES_EACH):
                try:
                    if mode == "record":
                        await store.record_probe_result(
                            result(f"w{worker}", NOW + timedelta(milliseconds=i), latency=float(i))
                        )
                        if i % 50 == 0:
                            await store.latest_results()
                    else:
                        async with store._write() as db:
                            async with db.execute("SELECT n FROM counter") as cursor:
                                (n,) = await cursor.fetchone()  # type: ignore[misc]
                            await db.execute("UPDATE counter SET n = ?", (n + 1,))
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
        return failures

    try:
        failures = asyncio.run(run())
    except Exception as exc:
        failures = [f"open: {type(exc).__name__}: {exc}"]
    errors.put((worker, failures))  # type: ignore[attr-defined]


def _run_writers(path: Path, mode: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    errors = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(str(path), w, mode, barrier, errors))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 120
    reports = [errors.get(timeout=max(1.0, deadline - time.monotonic())) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    errors.close()
    errors.join_thread()
    assert {w: f[:3] for w, f in reports if f} == {}


def test_concurrent_writer_processes_never_see_database_locked(tmp_path: Path) -> None:
    """4 processes × 200 writes into one fresh file: no 'database is locked', 800 rows."""
    path = tmp_path / "shared.db"  # not created beforehand: open and migration race too
    _run_writers(path, "record")
    assert sql(path, "SELECT count(*) FROM probe_results") == [(WRITERS * WRITES_EACH,)]
    assert sql(path, "SELECT sum(total) FROM probe_rollups") == [(WRITERS * WRITES_EACH,)]
    assert sql(path, "PRAGMA integrity_check") == [("ok",)]


async def test_read_then_write_transactions_across_processes(tmp_path: Path) -> None:
    """_write() uses BEGIN IMMEDIATE: read-modify-write never fails and loses no update."""
    path = tmp_path / "shared.db"
    async with await SqliteStore.open(path) as store, store._write() as db:
        await db.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        await db.execute("INSERT INTO counter VALUES (0)")
    await asyncio.to_thread(_run_writers, path, "counter")
    assert sql(path, "SELECT n FROM counter") == [(WRITERS * WRITES_EACH,)]
