"""ResultWriter: probe results share transactions, and each caller returns once committed."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.result_writer import ResultWriter

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)


def result(n: int, probe: str = "api") -> ProbeResult:
    return ProbeResult(
        probe=probe,
        timestamp=NOW + timedelta(seconds=n),
        outcome=Outcome.OK if n % 3 else Outcome.TIMEOUT,
        latency_ms=float(n) if n % 3 else None,
        error=f"ack {n}",
    )


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(tmp_path / "ops.db") as s:
        yield s


async def test_concurrent_results_share_transactions_and_are_stored_on_return(
    store: SqliteStore, tmp_path: Path
) -> None:
    writer = ResultWriter(store, window=0.02)
    stored_on_return: list[bool] = []

    async def one(n: int) -> None:
        await writer.record(result(n, probe=f"p{n % 7}"))
        # What the engine publishes next must already be in the database.
        errors = rows(
            tmp_path / "ops.db", f"SELECT count(*) FROM probe_results WHERE error = 'ack {n}'"
        )
        stored_on_return.append(errors == [(1,)])

    await asyncio.gather(*(one(n) for n in range(200)))
    assert stored_on_return == [True] * 200
    assert 1 <= writer.batches < 20  # 200 results, a handful of transactions
    assert rows(tmp_path / "ops.db", "SELECT count(*) FROM probe_results") == [(200,)]
    # Rollups add up exactly as one transaction per result would have.
    total, ok = rows(tmp_path / "ops.db", "SELECT sum(total), sum(ok) FROM probe_rollups")[0]
    assert (total, ok) == (200, sum(1 for n in range(200) if n % 3))


class FailingOnce:
    """A store whose first batch fails (a locked or full disk), then recovers."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def record_probe_results(self, results: Sequence[ProbeResult]) -> None:
        self.calls.append(len(results))
        if len(self.calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_works() -> None:
    failing = FailingOnce()
    writer = ResultWriter(failing, window=0.01)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(writer.record(result(n)) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes)
    await writer.record(result(9))  # the writer is still alive
    assert failing.calls == [5, 1]


async def test_a_cancelled_caller_does_not_lose_the_others_results(
    store: SqliteStore, tmp_path: Path
) -> None:
    writer = ResultWriter(store, window=0.05)
    tasks = [asyncio.create_task(writer.record(result(n))) for n in range(4)]
    await asyncio.sleep(0)
    tasks[0].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert done[1:] == [None, None, None]
    await writer.close()
    # The cancelled caller's result was already queued: it is written too.
    assert rows(tmp_path / "ops.db", "SELECT count(*) FROM probe_results") == [(4,)]


async def test_close_writes_what_is_pending(store: SqliteStore, tmp_path: Path) -> None:
    writer = ResultWriter(store, window=0.05)
    task = asyncio.create_task(writer.record(result(1)))
    await asyncio.sleep(0)
    await writer.close()
    await task
    assert rows(tmp_path / "ops.db", "SELECT count(*) FROM probe_results") == [(1,)]
