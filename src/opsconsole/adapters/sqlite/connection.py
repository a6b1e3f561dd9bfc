"""The connection: opening, write transactions, read retries, checkpoints, text cleaning.

:class:`SqliteBase` owns the aiosqlite connection and the asyncio lock that keeps one
transaction at a time on it; the table mixins build on its ``_write``/``_query`` plumbing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, cast

import aiosqlite

from opsconsole.adapters.sqlite.common import _one_line, log
from opsconsole.adapters.sqlite.files import (
    _create_private,
    _refuse_network_filesystem,
    filesystem_type,
)
from opsconsole.adapters.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, _check_version
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.store import StoreError

BUSY_TIMEOUT_MS: Final = 5000
CHECKPOINT_WAIT_MS: Final = 200
"""How long :meth:`SqliteStore.checkpoint` waits for readers before giving up for now."""
WAL_AUTOCHECKPOINT_PAGES: Final = 1000
"""A PASSIVE checkpoint runs at a commit once the WAL holds this many pages (4 MB)."""
PRUNE_CHUNK_ROWS: Final = 5000


async def _stopped(connection: aiosqlite.Connection) -> None:
    """Wait for the worker thread of a connection that failed to open.

    aiosqlite queues its thread's stop but does not wait for it; if the event loop closes
    first (a CLI command exiting on the error), the thread dies with "Event loop is closed"
    and prints a traceback after the one-line error.
    """
    thread = getattr(connection, "_thread", None)
    if thread is not None and thread.is_alive():
        await asyncio.to_thread(thread.join, 5.0)


class SqliteBase:
    """The open connection and its transaction plumbing; the table mixins build on it.

    Open with :meth:`open` (or ``async with await SqliteStore.open(path)``) and always
    :meth:`close`: aiosqlite's worker thread is non-daemon and would hang interpreter exit.
    """

    path: Path
    clock: Clock
    prune_chunk_rows: int
    """How many rows one :meth:`prune` transaction deletes at most."""

    def __init__(self, db: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        """Wrap an already-configured connection; use :meth:`open` instead."""
        self._db: aiosqlite.Connection | None = db
        self._lock = asyncio.Lock()  # one transaction at a time on this shared connection
        self.path = path
        self.clock = clock
        self.prune_chunk_rows = PRUNE_CHUNK_ROWS

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = system_clock) -> Self:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises:
            StoreError: when the file is not a usable SQLite database or its schema is
                newer than this version of opsconsole understands.
        """
        path = Path(path)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:  # a parent that is a file, a read-only or full disk
                reason = exc.strerror or type(exc).__name__
                raise StoreError(f"cannot open {path}: {reason}: {path.parent}") from exc
            _refuse_network_filesystem(path, filesystem_type(path.parent))
            _create_private(path)
        connection = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            db = await connection
        except sqlite3.Error as exc:
            await _stopped(connection)
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

    # -- maintenance -------------------------------------------------------------------

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it, without stalling other work.

        First ``wal_checkpoint(PASSIVE)``, which copies every frame no reader still needs
        and never waits. Only when that copied the whole WAL does ``wal_checkpoint(TRUNCATE)``
        run, waiting at most :data:`CHECKPOINT_WAIT_MS` for readers, to reset the file to
        zero bytes. (A bare TRUNCATE waited the whole 5 s busy timeout whenever another
        connection held a read transaction, and this connection, reads included, stood
        still meanwhile.)

        Between these calls SQLite's auto-checkpoint (PASSIVE, every
        :data:`WAL_AUTOCHECKPOINT_PAGES` pages) keeps the WAL near 4 MB, also under a
        long-lived reader *connection* whose reads are short transactions, as all of
        opsconsole's are. A reader that holds one *transaction* open pins the WAL: no
        checkpoint mode can copy or reset past its snapshot, so the WAL grows until it
        ends (sqlite.org/wal.html §5, "checkpoint starvation"); the next call after that
        truncates it.

        Returns:
            True when the WAL was fully copied and truncated; False when a reader or a
            writer in another connection was in the way (the engine tries again later).
        """
        db = self._connection()
        async with self._lock:
            try:
                async with db.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
                    row = await cursor.fetchone()  # (busy, WAL frames, frames copied)
                if row is None or row[0] != 0 or row[1] != row[2]:
                    return False
                await db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                try:
                    async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                        row = await cursor.fetchone()
                finally:
                    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                raise StoreError(f"checkpoint failed: {_one_line(exc)}") from exc
        return row is not None and row[0] == 0

    # -- helpers -----------------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("store is closed")
        return self._db

    @asynccontextmanager
    async def _write(self, *, durable: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body in ``BEGIN IMMEDIATE`` … ``COMMIT``; ROLLBACK on any error.

        ``BEGIN IMMEDIATE`` takes the write lock up front, waiting up to the busy timeout,
        so no statement inside the transaction can fail with SQLITE_BUSY. The asyncio lock
        keeps tasks sharing this connection from nesting transactions.

        Args:
            durable: Commit with ``synchronous=FULL`` (the WAL is fsynced at COMMIT), so
                the transaction survives power loss too. SQLite ignores a change of
                ``synchronous`` inside a transaction, so it is set before ``BEGIN`` and put
                back to NORMAL after ``COMMIT``/``ROLLBACK``, all under the asyncio lock:
                no other write on this connection can run in between.
        """
        db = self._connection()
        async with self._lock:
            if durable:
                try:
                    await db.execute("PRAGMA synchronous = FULL")
                except sqlite3.Error as exc:
                    raise StoreError(f"cannot start a write: {_one_line(exc)}") from exc
            try:
                try:
                    await db.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise StoreError(f"cannot start a write: {_one_line(exc)}") from exc
                try:
                    yield _CleanConnection.wrap(db)
                    await db.execute("COMMIT")
                except BaseException as exc:
                    if db.in_transaction:
                        try:
                            await db.execute("ROLLBACK")
                        except sqlite3.Error as rollback_error:
                            # A COMMIT cancelled mid-flight still runs in aiosqlite's thread
                            # before this ROLLBACK; then there is nothing to roll back.
                            if "no transaction is active" not in str(rollback_error):
                                log.warning("rollback failed", exc_info=True)
                    if isinstance(exc, sqlite3.Error):
                        raise StoreError(f"write failed: {_one_line(exc)}") from exc
                    raise
            finally:
                if durable:
                    try:
                        await db.execute("PRAGMA synchronous = NORMAL")
                    except sqlite3.Error:
                        log.warning("cannot restore synchronous=NORMAL", exc_info=True)

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
                return list(await db.execute_fetchall(sql, _clean_params(params)))
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def _configure(self) -> None:
        db = self._connection()
        # Text that is not valid UTF-8 (written by another tool, or a flipped bit) is read
        # with U+FFFD instead of failing every query whose rows include it.
        db.text_factory = _decode_text
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Refuse a newer or foreign file before changing anything in it (journal mode).
        _check_version(int(await self._scalar("PRAGMA user_version")))
        await self._refuse_foreign()
        mode = await self._scalar("PRAGMA journal_mode")
        if str(mode).lower() != "wal":  # persistent: only a new or legacy file switches
            mode = await self._scalar("PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            log.warning("SQLite journal_mode is %s, not wal, for %s", mode, self.path)
        # Probe history accepts NORMAL's power-loss window (see module docstring).
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        await db.execute("PRAGMA foreign_keys = ON")

    async def _refuse_foreign(self) -> None:
        """Raise StoreError when the file is another application's SQLite database.

        An opsconsole file at ``user_version`` 0 has no tables (migrations set the version
        in the transaction that creates them); at version 1 or more it has
        ``probe_results``. Anything else belongs to someone else and is left alone.
        """
        # One statement, one snapshot: another process may be migrating the file right now.
        rows = await self._query(
            r"""
            SELECT (SELECT user_version FROM pragma_user_version),
                   (SELECT group_concat(name, char(10)) FROM sqlite_master
                    WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\')
            """
        )
        version = int(rows[0][0])
        tables = sorted(str(rows[0][1] or "").split("\n")) if rows[0][1] else []
        if (version == 0 and not tables) or (version > 0 and "probe_results" in tables):
            return
        shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
        raise StoreError(
            "not an opsconsole database "
            + (f"(it has other tables: {shown})" if tables else f"(user_version {version})")
            + "; use another --db file"
        )

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


def _decode_text(data: bytes) -> str:
    """The connection's ``text_factory``: UTF-8, with U+FFFD for bytes that are not."""
    return str(data, "utf-8", "replace")


def _clean_text(value: str) -> str:
    """``value`` encodable as UTF-8: surrogate pairs joined, lone surrogates as U+FFFD."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def _clean_params(params: Any) -> Any:
    """Bound parameters with every ``str`` made encodable (see :func:`_clean_text`)."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {k: _clean_text(v) if isinstance(v, str) else v for k, v in params.items()}
    return [_clean_text(v) if isinstance(v, str) else v for v in params]


class _CleanConnection:
    """The connection a write transaction works with: parameters pass :func:`_clean_params`.

    Everything else is the wrapped ``aiosqlite.Connection``'s own.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    def wrap(cls, db: aiosqlite.Connection) -> aiosqlite.Connection:
        return cast(aiosqlite.Connection, cls(db))

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        return self._db.execute(sql, _clean_params(parameters))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Any:
        return self._db.executemany(sql, (_clean_params(row) for row in parameters))

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        return self._db.execute_fetchall(sql, _clean_params(parameters))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
