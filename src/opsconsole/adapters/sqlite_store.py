"""SQLite implementation of the :class:`~opsconsole.core.store.Store` protocol (aiosqlite).

Durability and concurrency choices (see RELIABILITY-AND-PERFORMANCE.md §A2):

* WAL journal, ``busy_timeout=5000``, and every write runs in ``BEGIN IMMEDIATE`` … ``COMMIT``
  (:meth:`SqliteStore._write`). A deferred ``BEGIN`` that later upgrades to a write can fail
  *instantly* with "database is locked"; ``BEGIN IMMEDIATE`` waits for the busy timeout
  instead, so several opsconsole processes can share one database file on the same host.
* ``synchronous=NORMAL``: every commit survives an application crash; a power loss or OS
  crash may roll back the last few commits. Probe history tolerates that window. Tables that
  must not lose acknowledged writes (tickets, incidents) will run their writes with
  ``synchronous=FULL``.
* Local disks only: WAL does not work over NFS/SMB.
* Timestamps are stored as Unix epoch seconds (REAL, UTC) and returned as aware UTC
  datetimes.
* Schema versions live in ``PRAGMA user_version``; append a step to :data:`MIGRATIONS` to
  evolve the schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import aiosqlite

from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState, Uptime
from opsconsole.core.store import StoreError
from opsconsole.core.uptime import HOUR_SECONDS, LONGEST_WINDOW, compute_uptime, first_hour

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore", "StoreError", "default_db_path"]

__all__ = ["MIGRATIONS", "SqliteStore", "StoreError", "default_db_path"]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final = 5000
PRUNE_CHUNK_ROWS: Final = 5000

Migration = Sequence[str]
"""One schema step: SQL statements run in order inside the migration transaction."""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    # 1: probe history and its hourly rollups.
    (
        """
        CREATE TABLE probe_results (
            id              INTEGER PRIMARY KEY,
            probe           TEXT    NOT NULL,
            ts              REAL    NOT NULL,  -- Unix epoch seconds, UTC
            outcome         TEXT    NOT NULL,  -- Outcome value
            state           TEXT    NOT NULL,  -- ProbeState value
            status          INTEGER,
            latency_ms      REAL,
            error           TEXT,
            conditions_json TEXT    NOT NULL DEFAULT '[]'
        )
        """,
        "CREATE INDEX probe_results_probe_ts ON probe_results (probe, ts)",
        "CREATE INDEX probe_results_ts ON probe_results (ts)",  # prune across probes
        """
        CREATE TABLE probe_rollups (
            probe         TEXT    NOT NULL,
            hour          INTEGER NOT NULL,  -- epoch second of the UTC hour start
            total         INTEGER NOT NULL,
            ok            INTEGER NOT NULL,  -- outcome OK or degraded
            latency_sum   REAL    NOT NULL DEFAULT 0,
            latency_max   REAL,              -- NULL until a latency is recorded
            latency_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (probe, hour)
        )
        """,
    ),
)
"""Schema steps; ``PRAGMA user_version`` is the number applied. Only ever append."""

SCHEMA_VERSION: Final = len(MIGRATIONS)

_RESULT_COLUMNS = "probe, ts, outcome, state, status, latency_ms, error, conditions_json"


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME/opsconsole/opsconsole.db`` (default ``~/.local/share``).

    A relative or empty ``XDG_DATA_HOME`` is ignored, as the XDG spec requires.
    """
    environ = os.environ if env is None else env
    data_home = environ.get("XDG_DATA_HOME", "")
    if data_home and Path(data_home).is_absolute():
        base = Path(data_home)
    else:
        home = environ.get("HOME")
        base = (Path(home) if home else Path.home()) / ".local" / "share"
    return base / "opsconsole" / "opsconsole.db"


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("SqliteStore needs timezone-aware datetimes")
    return moment.timestamp()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class SqliteStore:
    """Probe history in one SQLite file; safe for several processes on one host.

    Open with :meth:`open` (or ``async with await SqliteStore.open(path)``) and always
    :meth:`close`: aiosqlite's worker thread is non-daemon and would hang interpreter exit.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        """Wrap an already-configured connection; use :meth:`open` instead."""
        self._db: aiosqlite.Connection | None = db
        self._lock = asyncio.Lock()  # one transaction at a time on this shared connection
        self.path = path
        self.clock = clock
        self.prune_chunk_rows = PRUNE_CHUNK_ROWS

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = system_clock) -> SqliteStore:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises:
            StoreError: when the file is not a usable SQLite database or its schema is
                newer than this version of opsconsole understands.
        """
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            db = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {_one_line(exc)}") from exc
        store = cls(db, path, clock)
        try:
            await store._configure()
            await store._migrate()
        except BaseException as exc:
            await store.close()
            if isinstance(exc, sqlite3.Error | StoreError):
                raise StoreError(f"cannot open {path}: {_one_line(exc)}") from exc
            raise
        return store

    async def close(self) -> None:
        """Wait for a running write, then close the connection. Idempotent."""
        db, self._db = self._db, None
        if db is None:
            return
        async with self._lock:
            await db.close()

    async def __aenter__(self) -> Self:
        """Return the open store."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    # -- Store protocol ----------------------------------------------------------------

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Insert ``result`` and upsert its hourly rollup in one transaction.

        The rollup counts the result as ok when its outcome is OK or it is only degraded
        (latency conditions failed): a slow-but-up service is up for uptime purposes.
        """
        ts = _epoch(result.timestamp)
        hour = int(ts // HOUR_SECONDS) * HOUR_SECONDS
        conditions = json.dumps(
            [
                {
                    "condition": c.condition,
                    "ok": c.ok,
                    "resolved": c.resolved,
                    "latency_only": c.latency_only,
                }
                for c in result.conditions
            ]
        )
        up = 1 if (result.ok or result.degraded) else 0
        latency = result.latency_ms
        async with self._write() as db:
            await db.execute(
                f"INSERT INTO probe_results ({_RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result.probe,
                    ts,
                    result.outcome.value,
                    result.state.value,
                    result.status,
                    latency,
                    result.error,
                    conditions,
                ),
            )
            # Two-argument max() is NULL if either side is; coalesce keeps the known one.
            await db.execute(
                """
                INSERT INTO probe_rollups
                    (probe, hour, total, ok, latency_sum, latency_max, latency_count)
                VALUES (?, ?, 1, ?, ?, ?, ?)
                ON CONFLICT (probe, hour) DO UPDATE SET
                    total = total + 1,
                    ok = ok + excluded.ok,
                    latency_sum = latency_sum + excluded.latency_sum,
                    latency_max = max(
                        coalesce(latency_max, excluded.latency_max),
                        coalesce(excluded.latency_max, latency_max)
                    ),
                    latency_count = latency_count + excluded.latency_count
                """,
                (
                    result.probe,
                    hour,
                    up,
                    latency or 0.0,
                    latency,
                    0 if latency is None else 1,
                ),
            )

    async def latest_results(self) -> dict[str, ProbeResult]:
        """Return the newest result (by timestamp) of every probe.

        Walks the distinct probes through the ``(probe, ts)`` index (a recursive skip
        scan) and picks each probe's newest row from the same index, so the cost grows
        with the number of probes, not the number of stored results.
        """
        rows = await self._fetchall(
            f"""
            WITH RECURSIVE probes(name) AS (
                SELECT min(probe) FROM probe_results
                UNION ALL
                SELECT (SELECT min(probe) FROM probe_results WHERE probe > name)
                FROM probes WHERE name IS NOT NULL
            )
            SELECT {_RESULT_COLUMNS} FROM probes JOIN probe_results r
              ON r.id = (
                SELECT id FROM probe_results
                WHERE probe = probes.name ORDER BY ts DESC, id DESC LIMIT 1
              )
            WHERE probes.name IS NOT NULL
            """
        )
        return {row[0]: _row_to_result(row) for row in rows}

    async def recent_latencies(self, probe: str, limit: int = 30) -> list[float]:
        """Return up to ``limit`` latest latencies (ms) of ``probe``, oldest first.

        Results without a latency (e.g. DNS failures) are skipped.
        """
        if limit <= 0:
            return []
        rows = await self._fetchall(
            """
            SELECT latency_ms FROM probe_results
            WHERE probe = ? AND latency_ms IS NOT NULL
            ORDER BY ts DESC, id DESC LIMIT ?
            """,
            (probe, limit),
        )
        return [float(row[0]) for row in reversed(rows)]

    async def uptime(self, probe: str, now: datetime) -> Uptime:
        """Return uptime over 24 h, 7 d and 30 d, read from hourly rollups only."""
        _epoch(now)
        rows = await self._fetchall(
            "SELECT hour, total, ok FROM probe_rollups WHERE probe = ? AND hour >= ?",
            (probe, first_hour(now, LONGEST_WINDOW)),
        )
        return compute_uptime(((int(h), int(t), int(o)) for h, t, o in rows), now)

    async def prune(self, older_than: datetime) -> int:
        """Delete results before ``older_than`` and rollups of hours ending by then.

        Deletes in chunks of :attr:`prune_chunk_rows`, one short transaction each, so other
        writers are never blocked for long. Returns the number of results deleted.
        """
        cutoff = _epoch(older_than)
        deleted = await self._delete_in_chunks(
            "SELECT id FROM probe_results WHERE ts < ? LIMIT ?",
            "DELETE FROM probe_results WHERE id IN ({select})",
            cutoff,
        )
        # A rollup hour is removed only once it lies entirely before the cutoff.
        await self._delete_in_chunks(
            f"SELECT rowid FROM probe_rollups WHERE hour + {HOUR_SECONDS} <= ? LIMIT ?",
            "DELETE FROM probe_rollups WHERE rowid IN ({select})",
            cutoff,
        )
        return deleted

    # -- maintenance -------------------------------------------------------------------

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it (``wal_checkpoint(TRUNCATE)``).

        Returns:
            True when the checkpoint completed; False when a reader or writer in another
            connection blocked it (the engine simply tries again later).
        """
        db = self._connection()
        async with self._lock:
            try:
                async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                    row = await cursor.fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"checkpoint failed: {_one_line(exc)}") from exc
        return row is not None and row[0] == 0

    # -- helpers -----------------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("store is closed")
        return self._db

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body in ``BEGIN IMMEDIATE`` … ``COMMIT``; ROLLBACK on any error.

        ``BEGIN IMMEDIATE`` takes the write lock up front, waiting up to the busy timeout,
        so no statement inside the transaction can fail with SQLITE_BUSY. The asyncio lock
        keeps tasks sharing this connection from nesting transactions.
        """
        db = self._connection()
        async with self._lock:
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a write: {_one_line(exc)}") from exc
            try:
                yield db
                await db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    try:
                        await db.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.warning("rollback failed", exc_info=True)
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"write failed: {_one_line(exc)}") from exc
                raise

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return await self._query(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc

    async def _scalar(self, sql: str) -> Any:
        rows = await self._query(sql)
        return rows[0][0] if rows else None

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read, retrying while SQLite answers BUSY/LOCKED *without* waiting.

        The busy timeout does not cover every case: switching a fresh file to WAL while
        another process does the same, or reading during WAL recovery or while the last
        connection cleans up (sqlite.org/wal.html §8), can fail instantly.
        """
        db = self._connection()
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                return list(await db.execute_fetchall(sql, params))
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def _configure(self) -> None:
        db = self._connection()
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = await self._scalar("PRAGMA journal_mode")
        if str(mode).lower() != "wal":  # persistent: only a new or legacy file switches
            mode = await self._scalar("PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            log.warning("SQLite journal_mode is %s, not wal, for %s", mode, self.path)
        # Probe history accepts NORMAL's power-loss window (see module docstring).
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")

    async def _migrate(self) -> None:
        version = int(await self._scalar("PRAGMA user_version"))
        _check_version(version)
        if version == SCHEMA_VERSION:
            return
        async with self._write() as db:
            # Re-read under the write lock: another process may have migrated meanwhile.
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            _check_version(version)
            for number, steps in enumerate(MIGRATIONS[version:], start=version + 1):
                log.info("migrating %s to schema version %d", self.path, number)
                # One execute() per statement: executescript() would COMMIT our transaction.
                for statement in steps:
                    await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def _delete_in_chunks(self, select: str, delete: str, cutoff: float) -> int:
        total = 0
        while True:
            async with (
                self._write() as db,
                db.execute(delete.format(select=select), (cutoff, self.prune_chunk_rows)) as cur,
            ):
                count = cur.rowcount
            total += count
            if count < self.prune_chunk_rows:
                return total
            await asyncio.sleep(0)  # let other tasks on this connection in between chunks


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"schema version {version} is newer than this opsconsole supports "
            f"({SCHEMA_VERSION}); upgrade opsconsole or use another database file"
        )


def _row_to_result(row: Iterable[Any]) -> ProbeResult:
    probe, ts, outcome, state, status, latency, error, conditions_json = row
    conditions = tuple(
        ConditionResult(
            condition=c["condition"],
            ok=bool(c["ok"]),
            resolved=c["resolved"],
            latency_only=bool(c.get("latency_only", False)),
        )
        for c in json.loads(conditions_json or "[]")
    )
    return ProbeResult(
        probe=probe,
        timestamp=datetime.fromtimestamp(ts, UTC),
        outcome=Outcome(outcome),
        status=status,
        latency_ms=latency,
        error=error,
        conditions=conditions,
        state=ProbeState(state),
    )
