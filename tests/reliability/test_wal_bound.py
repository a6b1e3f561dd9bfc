"""The -wal file stays bounded under a long-lived reader (issue 7 item 2, §A2 test 3).

Two kinds of long-lived reader, measured separately:

* A reader *connection* that reads all the time, as a second console does: every
  opsconsole read is its own short transaction (autocommit), so SQLite's auto-checkpoint
  and :meth:`SqliteStore.checkpoint` keep the WAL near 4 MB while 20k probe results are
  written.
* A reader that holds one read *transaction* open (a snapshot), e.g. ``sqlite3`` in a
  ``BEGIN``: no checkpoint mode can copy or reset the WAL past that snapshot, so it grows
  by ~17 KB per probe result until the reader ends (sqlite.org/wal.html §5; measured
  336 MB for 20k results). What opsconsole guarantees is that ``checkpoint()`` then
  gives up at once instead of stalling the connection for the 5 s busy timeout (it did:
  5.2 s per call, 20 calls turned a 12 s run into 120 s), and that the first call after
  the reader ends truncates the WAL to zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.models import Outcome, ProbeResult

WRITES = 20_000
CHECKPOINT_EVERY = 1_000
LIMIT = 64 * 2**20
START = datetime(2024, 1, 1, tzinfo=UTC)


def wal_size(path: Path) -> int:
    try:
        return os.path.getsize(f"{path}-wal")
    except FileNotFoundError:
        return 0


def result(i: int) -> ProbeResult:
    return ProbeResult(f"p{i % 50}", START + timedelta(seconds=i), Outcome.OK, 200, 12.5)


async def test_wal_stays_bounded_under_a_long_lived_reader_connection(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    done = asyncio.Event()
    reads = 0

    async def read_all_the_time(reader: SqliteStore) -> None:
        nonlocal reads
        while not done.is_set():
            await reader.latest_results()
            await reader.recent_latencies("p1")
            await reader.uptime("p1", START + timedelta(days=1))
            reads += 3
            await asyncio.sleep(0.01)  # a console refreshing its panes, over and over

    started = time.monotonic()
    async with await SqliteStore.open(path) as writer, await SqliteStore.open(path) as reader:
        task = asyncio.create_task(read_all_the_time(reader))
        largest, checkpoints, slowest = 0, 0, 0.0
        for i in range(WRITES):
            await writer.record_probe_result(result(i))
            if i % 100 == 0:
                largest = max(largest, wal_size(path))
            if i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1:
                began = time.monotonic()
                checkpoints += await writer.checkpoint()
                slowest = max(slowest, time.monotonic() - began)
        largest = max(largest, wal_size(path))
        done.set()
        await task
    elapsed = time.monotonic() - started
    print(
        f"\n{WRITES} probe results under a reader connection ({reads} reads) in {elapsed:.1f} s:"
        f" largest -wal {largest / 2**20:.1f} MiB, {checkpoints}/{WRITES // CHECKPOINT_EVERY}"
        f" checkpoints truncated, slowest {slowest * 1000:.0f} ms"
    )
    assert largest < LIMIT
    assert reads > 0


async def test_a_held_snapshot_pins_the_wal_but_checkpoint_never_stalls(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    writes, every = 3_000, 500
    async with await SqliteStore.open(path) as writer:
        await writer.record_probe_result(result(0))
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM probe_results").fetchall()  # snapshot taken
            slowest_write, slowest_checkpoint = 0.0, 0.0
            for i in range(1, writes + 1):
                began = time.monotonic()
                await writer.record_probe_result(result(i))
                slowest_write = max(slowest_write, time.monotonic() - began)
                if i % every == 0:
                    began = time.monotonic()
                    assert await writer.checkpoint() is False
                    slowest_checkpoint = max(slowest_checkpoint, time.monotonic() - began)
            pinned = wal_size(path)
            reader.execute("COMMIT")
        assert await writer.checkpoint() is True
        assert wal_size(path) == 0
    print(
        f"\n{writes} probe results under a held snapshot: -wal grew to {pinned / 2**20:.1f} "
        f"MiB ({pinned / writes / 1024:.1f} KiB per result); checkpoint() gave up in at most "
        f"{slowest_checkpoint * 1000:.0f} ms, slowest write {slowest_write * 1000:.0f} ms; "
        "truncated to 0 once the reader ended"
    )
    assert pinned > 4 * 2**20  # pinned: the auto-checkpoint could not reset it either
    assert slowest_checkpoint < 1.0  # not the 5 s busy timeout
    assert slowest_write < 1.0
