"""SQLite implementation of the :class:`~opsconsole.core.store.Store`,
:class:`~opsconsole.core.store.TicketStore`, :class:`~opsconsole.core.store.IncidentStore`
and :class:`~opsconsole.core.store.ReportStore` protocols (aiosqlite).

Durability and concurrency choices (see RELIABILITY-AND-PERFORMANCE.md §A2):

* WAL journal, ``busy_timeout=5000``, and every write runs in ``BEGIN IMMEDIATE`` … ``COMMIT``
  (:meth:`SqliteStore._write`). A deferred ``BEGIN`` that later upgrades to a write can fail
  *instantly* with "database is locked"; ``BEGIN IMMEDIATE`` waits for the busy timeout
  instead, so several opsconsole processes can share one database file on the same host.
* ``synchronous=NORMAL``: every commit survives an application crash; a power loss or OS
  crash may roll back the last few commits. Probe history tolerates that window. Ticket
  writes must not lose acknowledged data, so they run through ``_write(durable=True)``:
  ``PRAGMA synchronous=FULL`` before ``BEGIN IMMEDIATE`` (SQLite ignores the pragma inside a
  transaction) and back to NORMAL after ``COMMIT``, under the connection's asyncio lock, so
  a ticket write is fsynced at commit while probe results keep NORMAL's cheap commits.
* Local disks only: WAL does not work over NFS/SMB. :meth:`SqliteStore.open` refuses a
  file on a network filesystem (NFS, SMB/CIFS, AFS, 9p, sshfs…, read from
  ``/proc/self/mountinfo``) unless ``OPSCONSOLE_ALLOW_NETWORK_DB=1``.
* Timestamps are stored as Unix epoch seconds (REAL, UTC) and returned as aware UTC
  datetimes.
* Tickets (:class:`~opsconsole.core.store.TicketStore`): numbers come from an AUTOINCREMENT
  sequence seeded at 100 (first ticket #101, never reused, no gaps from rolled-back writes).
  Queue pages are LIMIT/OFFSET queries whose ORDER BY matches an index exactly; the ``/``
  text filter scans a casefolded ``search`` column with ``instr`` (25-35 ms at 100k tickets,
  independent of selectivity). FTS5 (trigram) is available but was not needed: it would add
  triggers and index size, and cannot serve queries shorter than three characters.
* Incidents (:class:`~opsconsole.core.store.IncidentStore`): every incident, timeline and
  outbox write is durable (``synchronous=FULL``). "At most one active incident" is checked
  inside ``BEGIN IMMEDIATE`` and backed by a partial unique index, so two consoles on one
  file can never both declare. The timeline is append-only down to SQLite: triggers abort
  any DELETE, and any UPDATE but of ``delivery``. The outbox stores a channel *name*
  (``slack``), never a webhook URL; error and delivery texts are redacted before storing.
* Checklists (:class:`~opsconsole.core.store.ChecklistStore`): a run row per checklist
  run and one row per (run, item), upserted so the latest tick wins; every write is
  durable. ``last_done_dates`` walks a partial index of the PASS/DONE rows.
* Schema versions live in ``PRAGMA user_version``; append a step to :data:`MIGRATIONS` to
  evolve the schema. A file whose schema is newer than :data:`SCHEMA_VERSION` is refused
  before anything in it changes (its journal mode included), and so is a SQLite file of
  another application (tables but no opsconsole schema): opsconsole never adds its tables
  to someone else's database.
* Text is stored as UTF-8. A ``str`` holding lone surrogates (a JSON ``"\\ud800"`` escape,
  ``surrogateescape``d bytes from argv or a file name) cannot be encoded; every bound
  parameter is cleaned first (surrogate pairs joined, lone ones stored as U+FFFD), so such
  text is stored instead of failing the write with ``UnicodeEncodeError``. Stored text that
  is not valid UTF-8 (another tool wrote it) is read with U+FFFD, so one such row cannot
  make every page of the queue fail to load.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, cast

import aiosqlite

from opsconsole.core.checklists import Cadence, ItemResult, ItemStatus
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState, Uptime
from opsconsole.core.redact import redact_text
from opsconsole.core.store import (
    INCIDENT_FIELDS,
    TICKET_FIELDS,
    UNAUDITED_FIELDS,
    ChecklistRun,
    OutboundMessage,
    StoreError,
    TicketConflict,
    TicketQuery,
)
from opsconsole.core.tickets import (
    CLOSED_STATUSES,
    SEVERITY_RANK,
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
from opsconsole.core.uptime import (
    HOUR_SECONDS,
    LONGEST_WINDOW,
    RollupRow,
    compute_uptime,
    first_hour,
    hour_start,
)

__all__ = [
    "ALLOW_NETWORK_DB_ENV",
    "MIGRATIONS",
    "NETWORK_FILESYSTEMS",
    "SCHEMA_VERSION",
    "SqliteStore",
    "StoreError",
    "TicketConflict",
    "default_db_path",
    "filesystem_type",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final = 5000
CHECKPOINT_WAIT_MS: Final = 200
"""How long :meth:`SqliteStore.checkpoint` waits for readers before giving up for now."""
WAL_AUTOCHECKPOINT_PAGES: Final = 1000
"""A PASSIVE checkpoint runs at a commit once the WAL holds this many pages (4 MB)."""
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
    # 2: support tickets, their threads, audit trail and runbook ticks.
    (
        """
        CREATE TABLE tickets (
            number            INTEGER PRIMARY KEY AUTOINCREMENT,  -- #101…, never reused
            subject           TEXT    NOT NULL,
            requester_name    TEXT    NOT NULL,
            requester_address TEXT    NOT NULL,
            requester_company TEXT    NOT NULL DEFAULT '',
            received_at       REAL    NOT NULL,
            category          TEXT    NOT NULL,  -- Category value
            severity          TEXT    NOT NULL,  -- Severity value
            severity_rank     INTEGER NOT NULL,  -- 0 critical … 3 low
            status            TEXT    NOT NULL,  -- Status value
            assignee          TEXT,
            first_response_at REAL,
            resolved_at       REAL,
            level             TEXT    NOT NULL,  -- Level value
            tags              TEXT    NOT NULL DEFAULT '[]',  -- JSON list of str
            triage_rule       TEXT    NOT NULL DEFAULT '',
            runbook           TEXT,
            pauses            TEXT    NOT NULL DEFAULT '[]',  -- JSON [[start, end|null], …]
            next_due          REAL,              -- NULL: no unmet deadline, or paused
            defects           TEXT    NOT NULL DEFAULT '[]',  -- JSON list of str
            updated_at        REAL    NOT NULL,
            search            TEXT    NOT NULL   -- casefolded subject + requester, for '/'
        )
        """,
        # AUTOINCREMENT keeps numbers from ever being reused; the first one is 101.
        "INSERT INTO sqlite_sequence (name, seq) VALUES ('tickets', 100)",
        # Each index matches one ORDER BY of _TICKET_SORTS exactly (the rowid, i.e. the
        # number, is the implicit last column), so a page is an index walk plus LIMIT.
        # (Migration 5 rebuilds them with the filter columns added.)
        """
        CREATE INDEX tickets_due
            ON tickets (next_due IS NULL, next_due, severity_rank, received_at)
        """,
        "CREATE INDEX tickets_severity ON tickets (severity_rank, received_at)",
        "CREATE INDEX tickets_received ON tickets (received_at)",
        "CREATE INDEX tickets_status ON tickets (status)",
        "CREATE INDEX tickets_assignee ON tickets (assignee)",
        """
        CREATE TABLE messages (
            id          INTEGER PRIMARY KEY,
            ticket      INTEGER NOT NULL REFERENCES tickets (number),
            direction   TEXT    NOT NULL,  -- Direction value
            at          REAL    NOT NULL,
            author      TEXT    NOT NULL,
            subject     TEXT    NOT NULL DEFAULT '',
            body        TEXT    NOT NULL,
            message_id  TEXT    UNIQUE,    -- NULL for notes and messages without one
            attachments TEXT    NOT NULL DEFAULT '[]',  -- JSON [{name, size, content_type}]
            defects     TEXT    NOT NULL DEFAULT '[]'
        )
        """,
        "CREATE INDEX messages_ticket ON messages (ticket, at)",
        """
        CREATE TABLE audit (
            id     INTEGER PRIMARY KEY,
            ticket INTEGER NOT NULL REFERENCES tickets (number),
            at     REAL    NOT NULL,
            actor  TEXT    NOT NULL,
            field  TEXT    NOT NULL,
            old    TEXT,
            new    TEXT
        )
        """,
        "CREATE INDEX audit_ticket ON audit (ticket)",
        """
        CREATE TABLE runbook_steps (
            ticket INTEGER NOT NULL REFERENCES tickets (number),
            step   INTEGER NOT NULL,
            done   INTEGER NOT NULL,
            PRIMARY KEY (ticket, step)
        ) WITHOUT ROWID
        """,
    ),
    # 3: incidents, their append-only timelines, and the outbox of messages to deliver.
    (
        """
        CREATE TABLE incidents (
            id                  INTEGER PRIMARY KEY AUTOINCREMENT,  -- 1, 2, …, never reused
            title               TEXT    NOT NULL,
            component           TEXT    NOT NULL,
            severity            TEXT    NOT NULL,  -- IncidentSeverity value
            status              TEXT    NOT NULL,  -- IncidentStatus value
            started_at          REAL    NOT NULL,
            customers           INTEGER,           -- Impact.customers
            failing_percent     REAL,              -- Impact.failing_percent
            impact_note         TEXT    NOT NULL DEFAULT '',
            resolved_at         REAL,
            monitoring_since    REAL,
            last_update_at      REAL,
            snoozed_until       REAL,
            review_path         TEXT,
            review_due          REAL,
            review_done_at      REAL,
            playbook            TEXT    NOT NULL DEFAULT '[]',  -- JSON sorted list of keys
            playbook_times      TEXT    NOT NULL DEFAULT '[]',  -- JSON [[key, epoch], …]
            root_cause          TEXT    NOT NULL DEFAULT '',
            fix                 TEXT    NOT NULL DEFAULT '',
            postmortem_url      TEXT    NOT NULL DEFAULT '',
            monitoring_override TEXT    NOT NULL DEFAULT '',
            created_at          REAL    NOT NULL,
            created_by          TEXT    NOT NULL,
            updated_at          REAL    NOT NULL,
            updated_by          TEXT    NOT NULL
        )
        """,
        # At most one active incident, whichever process declares it: every unresolved
        # row has the same key (0) in this partial unique index.
        """
        CREATE UNIQUE INDEX incidents_one_active
            ON incidents ((status = 'resolved')) WHERE status != 'resolved'
        """,
        "CREATE INDEX incidents_started ON incidents (started_at)",
        """
        CREATE TABLE incident_timeline (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            incident INTEGER NOT NULL REFERENCES incidents (id),
            at       REAL    NOT NULL,
            kind     TEXT    NOT NULL,  -- EntryKind value
            text     TEXT    NOT NULL,
            actor    TEXT    NOT NULL DEFAULT '',
            delivery TEXT               -- the only column that may change
        )
        """,
        "CREATE INDEX incident_timeline_incident ON incident_timeline (incident, at)",
        # Append-only, enforced by SQLite itself: no DELETE, no UPDATE but of delivery.
        """
        CREATE TRIGGER incident_timeline_no_delete BEFORE DELETE ON incident_timeline
        BEGIN SELECT RAISE(ABORT, 'the incident timeline is append-only'); END
        """,
        """
        CREATE TRIGGER incident_timeline_no_update
            BEFORE UPDATE OF id, incident, at, kind, text, actor ON incident_timeline
        BEGIN SELECT RAISE(ABORT, 'the incident timeline is append-only'); END
        """,
        """
        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            channel         TEXT    NOT NULL,  -- a name such as 'slack', never a URL
            payload         TEXT    NOT NULL,
            entry_id        INTEGER REFERENCES incident_timeline (id),
            state           TEXT    NOT NULL DEFAULT 'pending',  -- pending|delivered|failed
            attempts        INTEGER NOT NULL DEFAULT 0,
            created_at      REAL    NOT NULL,
            next_attempt_at REAL    NOT NULL,
            last_attempt_at REAL,
            last_error      TEXT,
            delivered_at    REAL
        )
        """,
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'",
    ),
    # 4: checklist runs (guide §9) and the latest result of each item in a run.
    (
        """
        CREATE TABLE checklist_runs (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- 1, 2, …, never reused
            operator    TEXT    NOT NULL,
            started_at  REAL    NOT NULL,
            finished_at REAL
        )
        """,
        "CREATE INDEX checklist_runs_started ON checklist_runs (started_at)",
        """
        CREATE TABLE checklist_items (
            id       INTEGER PRIMARY KEY,  -- first-recorded order; kept by the upsert
            run      INTEGER NOT NULL REFERENCES checklist_runs (id),
            key      TEXT    NOT NULL,
            text     TEXT    NOT NULL,
            cadence  TEXT    NOT NULL,  -- Cadence value
            status   TEXT    NOT NULL,  -- ItemStatus value
            evidence TEXT    NOT NULL DEFAULT '',
            overdue  INTEGER NOT NULL DEFAULT 0,
            note     TEXT    NOT NULL DEFAULT '',
            at       REAL    NOT NULL,  -- when the item reached this state
            UNIQUE (run, key)
        )
        """,
        """
        CREATE INDEX checklist_items_done
            ON checklist_items (key, at) WHERE status IN ('pass', 'done')
        """,
    ),
    # 5: the ticket sort indexes also carry the filter columns. A filtered page (open
    # tickets, a severity) then tests each index entry without reading its row: at 100k
    # tickets, "open, critical, by due" went from 150-190 ms to 12 ms, and a deep page of
    # open tickets by received time from 80-150 ms to 11 ms. ``number`` is spelled out
    # before them so the index order is still exactly the ORDER BY.
    (
        "DROP INDEX tickets_due",
        "DROP INDEX tickets_severity",
        "DROP INDEX tickets_received",
        """
        CREATE INDEX tickets_due ON tickets
            (next_due IS NULL, next_due, severity_rank, received_at, number, status, severity)
        """,
        """
        CREATE INDEX tickets_severity
            ON tickets (severity_rank, received_at, number, status, severity)
        """,
        "CREATE INDEX tickets_received ON tickets (received_at, number, status, severity)",
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


ALLOW_NETWORK_DB_ENV: Final = "OPSCONSOLE_ALLOW_NETWORK_DB"
"""Set to 1 to open a database on a network filesystem anyway (at your own risk)."""

NETWORK_FILESYSTEMS: Final = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",  # WSL's Windows drives, VM shares
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "davfs",
        "fuse.davfs2",
        "glusterfs",
        "fuse.glusterfs",
        "ceph",
        "fuse.ceph",
        "lustre",
    }
)
"""Filesystem types whose locking or shared memory SQLite's WAL cannot rely on."""

_MOUNTINFO = Path("/proc/self/mountinfo")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem that holds ``path`` (an existing directory or file).

    Read from ``mountinfo`` (the text of ``/proc/self/mountinfo``; read when None). None
    when it cannot be told (not Linux, no ``/proc``).
    """
    if mountinfo is None:
        try:
            mountinfo = _MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        separator = fields.index("-", 6)
        if len(fields) <= separator + 1:
            continue
        point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):  # later mounts win ties
            best = (len(point), fields[separator + 1])
    return None if best is None else best[1]


def _refuse_network_filesystem(path: Path, fstype: str | None) -> None:
    if fstype is None or fstype.lower() not in NETWORK_FILESYSTEMS:
        return
    if os.environ.get(ALLOW_NETWORK_DB_ENV, "") == "1":
        log.warning("%s is on a network filesystem (%s); WAL may corrupt it", path, fstype)
        return
    raise StoreError(
        f"cannot open {path}: it is on a network filesystem ({fstype}), where SQLite's WAL "
        f"can corrupt it; use --db with a path on a local disk "
        f"(or set {ALLOW_NETWORK_DB_ENV}=1)"
    )


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("SqliteStore needs timezone-aware datetimes")
    return moment.timestamp()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def _stopped(connection: aiosqlite.Connection) -> None:
    """Wait for the worker thread of a connection that failed to open.

    aiosqlite queues its thread's stop but does not wait for it; if the event loop closes
    first (a CLI command exiting on the error), the thread dies with "Event loop is closed"
    and prints a traceback after the one-line error.
    """
    thread = getattr(connection, "_thread", None)
    if thread is not None and thread.is_alive():
        await asyncio.to_thread(thread.join, 5.0)


class SqliteStore:
    """Probe history and support tickets in one SQLite file; safe for several processes.

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

    # -- Store protocol ----------------------------------------------------------------

    async def record_probe_result(self, result: ProbeResult) -> None:
        """Insert ``result`` and upsert its hourly rollup in one transaction."""
        await self.record_probe_results((result,))

    async def record_probe_results(self, results: Sequence[ProbeResult]) -> None:
        """Insert ``results`` and upsert their hourly rollups, all in one transaction.

        The rollup counts a result as ok when its outcome is OK or it is only degraded
        (latency conditions failed): a slow-but-up service is up for uptime purposes.
        """
        if not results:
            return
        rows = []
        rollups = []
        for result in results:
            ts = _epoch(result.timestamp)
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
            latency = result.latency_ms
            rows.append(
                (
                    result.probe,
                    ts,
                    result.outcome.value,
                    result.state.value,
                    result.status,
                    latency,
                    result.error,
                    conditions,
                )
            )
            rollups.append(
                (
                    result.probe,
                    int(ts // HOUR_SECONDS) * HOUR_SECONDS,
                    1 if (result.ok or result.degraded) else 0,
                    latency or 0.0,
                    latency,
                    0 if latency is None else 1,
                )
            )
        async with self._write() as db:
            await db.executemany(
                f"INSERT INTO probe_results ({_RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # Two-argument max() is NULL if either side is; coalesce keeps the known one.
            await db.executemany(
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
                rollups,
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

    async def state_since(self, probe: str, state: ProbeState) -> datetime | None:
        """When ``probe``'s current run of results in ``state`` began (None if its newest
        stored result is in another state, or it has none).

        The run starts after the newest result in any other state; both ends are read
        through the ``(probe, ts)`` index.
        """
        rows = await self._fetchall(
            """
            SELECT min(ts), (SELECT state FROM probe_results WHERE probe = ?1
                             ORDER BY ts DESC, id DESC LIMIT 1)
            FROM probe_results
            WHERE probe = ?1 AND ts > coalesce(
                (SELECT max(ts) FROM probe_results WHERE probe = ?1 AND state != ?2), -1e18)
            """,
            (probe, state.value),
        )
        first, newest = rows[0] if rows else (None, None)
        if first is None or newest != state.value:
            return None
        return datetime.fromtimestamp(first, UTC)

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

    # -- TicketStore protocol ----------------------------------------------------------

    async def create_ticket(
        self, ticket: Ticket, first_message: ThreadMessage, *, actor: str
    ) -> Ticket:
        """Store a new ticket with its first message and a ``created`` audit entry.

        The number comes from the ``tickets`` AUTOINCREMENT sequence inside the write
        transaction: 101 first, strictly increasing, never reused, and without gaps
        (a rolled-back transaction takes no number). ``ticket.number``, ``thread`` and
        ``audit`` are ignored. When ``first_message.message_id`` is already stored, nothing
        is written and the ticket holding that message is returned.

        Raises:
            StoreError: when the write fails.
            ValueError: for naive datetimes.
        """
        created = self.clock()
        row = _ticket_row(ticket, created)
        message = _message_row(first_message)
        now = _epoch(created)
        async with self._write(durable=True) as db:
            existing = await _ticket_of_message(db, first_message.message_id)
            if existing is not None:
                number = existing
            else:
                async with db.execute(
                    f"INSERT INTO tickets ({_TICKET_INSERT_COLUMNS}) "
                    f"VALUES ({_placeholders(len(row))})",
                    row,
                ) as cursor:
                    number = _lastrowid(cursor)
                await _insert_message(db, number, message)
                await _insert_audit(db, number, now, actor, "created", None, f"#{number}")
            stored = await _load_ticket(db, number, full=True)
        assert stored is not None
        return stored

    async def find_ticket_by_message_id(self, message_id: str) -> int | None:
        """Return the number of the ticket whose thread holds ``message_id``, if any."""
        rows = await self._fetchall(
            "SELECT ticket FROM messages WHERE message_id = ?", (message_id,)
        )
        return int(rows[0][0]) if rows else None

    async def add_message(
        self, number: int, message: ThreadMessage, *, actor: str
    ) -> ThreadMessage:
        """Append ``message`` to ticket ``number``'s thread, audited as ``message added``.

        Idempotent by ``message.message_id`` (unique over all threads): when it is already
        stored, nothing is written and the stored message is returned, whichever ticket
        holds it.

        Returns:
            The stored message, with its ``id``.

        Raises:
            StoreError: when ticket ``number`` does not exist or the write fails.
        """
        row = _message_row(message)
        now = _epoch(self.clock())
        async with self._write(durable=True) as db:
            if message.message_id is not None:
                rows = await db.execute_fetchall(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id = ?",
                    (message.message_id,),
                )
                if rows:
                    return _row_to_message(next(iter(rows)))
            await _require_ticket(db, number)
            message_id = await _insert_message(db, number, row)
            await _insert_audit(
                db, number, now, actor, "message added", None, message.direction.value
            )
            await db.execute("UPDATE tickets SET updated_at = ? WHERE number = ?", (now, number))
        return replace(message, id=message_id)

    async def update_ticket(
        self,
        number: int,
        changes: Mapping[str, object],
        *,
        actor: str,
        at: datetime,
        expected: Mapping[str, object] | None = None,
    ) -> Ticket:
        """Change fields of ticket ``number``; one audit entry per field that changes.

        Values are checked and normalised first (enums from their values, ``""`` assignee
        or runbook as None, datetimes as aware UTC, tags and pauses as tuples). The current row is
        read inside the write transaction, so concurrent updates never audit a stale
        ``old`` value. ``next_due`` is stored but not audited. When no value changes,
        nothing is written (``updated_at`` included). Only the columns of fields that
        change are written, so concurrent changes of other fields merge.

        ``expected`` (normalised like ``changes``) is compared with that same in-transaction
        row: the ``BEGIN IMMEDIATE`` write lock makes the compare and the write atomic
        across processes, so of two operators who saw the same value, the second gets
        :class:`~opsconsole.core.store.TicketConflict` instead of overwriting the first.

        Returns:
            The ticket after the change, with thread and audit trail.

        Raises:
            TicketConflict: when a field in ``expected`` no longer has the value given.
            StoreError: for an unknown ticket or field, or a value of the wrong type.
        """
        unknown = sorted((set(changes) | set(expected or ())) - TICKET_FIELDS)
        if unknown:
            raise StoreError(f"cannot update ticket field(s): {', '.join(unknown)}")
        when = _epoch(at)
        wanted = {name: _coerce_field(name, value) for name, value in changes.items()}
        seen = {name: _coerce_field(name, value) for name, value in (expected or {}).items()}
        async with self._write(durable=True) as db:
            current = await _load_ticket(db, number, full=False)
            if current is None:
                raise StoreError(f"no ticket #{number}")
            stale = [name for name, value in seen.items() if getattr(current, name) != value]
            if stale:
                raise TicketConflict(
                    f"ticket #{number} changed meanwhile: "
                    + "; ".join(
                        f"{name} is now {_shown(getattr(current, name))} "
                        f"(you saw {_shown(seen[name])})"
                        for name in stale
                    ),
                    number=number,
                    fields=tuple(stale),
                )
            changed = {
                name: value for name, value in wanted.items() if getattr(current, name) != value
            }
            if changed:
                columns: dict[str, object] = {}
                for name, value in changed.items():
                    columns.update(_field_columns(name, value))
                columns["updated_at"] = when
                assignments = ", ".join(f"{column} = ?" for column in columns)
                await db.execute(
                    f"UPDATE tickets SET {assignments} WHERE number = ?",
                    (*columns.values(), number),
                )
                for name, value in changed.items():
                    if name not in UNAUDITED_FIELDS:
                        old = _render(getattr(current, name))
                        await _insert_audit(db, number, when, actor, name, old, _render(value))
            stored = await _load_ticket(db, number, full=True)
        assert stored is not None
        return stored

    async def get_ticket(self, number: int) -> Ticket | None:
        """Return ticket ``number`` with its thread (by time) and audit trail (as recorded)."""
        try:
            rows = await self._query(
                f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE number = ?", (number,)
            )
            if not rows:
                return None
            thread = await self._query(_THREAD_SQL, (number,))
            audit = await self._query(_AUDIT_SQL, (number,))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return replace(
            _row_to_ticket(rows[0]),
            thread=tuple(_row_to_message(r) for r in thread),
            audit=tuple(_row_to_audit(r) for r in audit),
        )

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Return one page of tickets (LIMIT/OFFSET in SQL), without thread or audit.

        Every sort order ends with the ticket number and has a matching index, so pages
        are stable and an unfiltered page is an index walk. The text filter is a scan of
        the casefolded ``search`` column (``instr``, so no LIKE wildcards to escape).

        Raises:
            StoreError: for an unknown sort or a failed read.
        """
        if query.limit <= 0:
            return []
        where, params = _ticket_where(query)
        order = _ticket_order(query)
        # With a text filter, walking a sort index and testing each row costs one random
        # row read per ticket until the page is full: 0.5 ms for a common word but 130 ms
        # at 100k tickets for a rare one. NOT INDEXED scans the table in order and sorts
        # only the matches (top-N sorter): 25-35 ms whatever the selectivity.
        source = "tickets NOT INDEXED" if query.text.strip() else "tickets"
        rows = await self._fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM {source}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, query.limit, max(query.offset, 0)),
        )
        return [_row_to_ticket(row) for row in rows]

    async def count_tickets(self, query: TicketQuery) -> int:
        """Return how many tickets match ``query``'s filters (sort and page ignored)."""
        where, params = _ticket_where(query)
        rows = await self._fetchall(f"SELECT count(*) FROM tickets{where}", params)
        return int(rows[0][0])

    async def ticket_counts(self) -> dict[str, int]:
        """Return the number of tickets per status value, zeros included, plus two totals.

        ``"all_open"`` counts every ticket that is neither resolved nor closed and
        ``"total"`` every ticket. (The aggregate cannot be called ``"open"``: that key is
        already the count of tickets whose status is :attr:`Status.OPEN`.)
        """
        rows = await self._fetchall("SELECT status, count(*) FROM tickets GROUP BY status")
        counts = {status.value: 0 for status in Status}
        for status, count in rows:
            counts[str(status)] = int(count)
        closed = {s.value for s in CLOSED_STATUSES}
        counts["all_open"] = sum(n for s, n in counts.items() if s in _STATUS_VALUES - closed)
        counts["total"] = sum(n for s, n in counts.items() if s in _STATUS_VALUES)
        return counts

    async def set_runbook_step(
        self, number: int, step: int, done: bool, *, actor: str, at: datetime
    ) -> None:
        """Tick or untick runbook step ``step`` of ticket ``number``, with an audit entry.

        The audit field is ``runbook step N`` with ``done``/``not done`` as values.
        Setting a step to the state it already has writes nothing.

        Raises:
            StoreError: when ticket ``number`` does not exist or the write fails.
        """
        when = _epoch(at)
        async with self._write(durable=True) as db:
            await _require_ticket(db, number)
            rows = list(
                await db.execute_fetchall(
                    "SELECT done FROM runbook_steps WHERE ticket = ? AND step = ?",
                    (number, step),
                )
            )
            if bool(rows and rows[0][0]) == done:
                return
            await db.execute(
                "INSERT INTO runbook_steps (ticket, step, done) VALUES (?, ?, ?) "
                "ON CONFLICT (ticket, step) DO UPDATE SET done = excluded.done",
                (number, step, int(done)),
            )
            await _insert_audit(
                db,
                number,
                when,
                actor,
                f"runbook step {step}",
                _step_state(not done),
                _step_state(done),
            )
            await db.execute("UPDATE tickets SET updated_at = ? WHERE number = ?", (when, number))

    async def runbook_steps(self, number: int) -> frozenset[int]:
        """Return the ticked runbook steps of ticket ``number`` (empty when none or unknown)."""
        rows = await self._fetchall(
            "SELECT step FROM runbook_steps WHERE ticket = ? AND done = 1", (number,)
        )
        return frozenset(int(row[0]) for row in rows)

    # -- IncidentStore protocol --------------------------------------------------------

    async def create_incident(self, incident: Incident, *, actor: str) -> Incident:
        """Store a new incident with its timeline; the id comes from an AUTOINCREMENT.

        Ids are 1, 2, … and never reused. ``incident.id`` and the entries' ids are
        ignored. A ``DECLARED`` entry ``"Declared: <title> (<severity>)"`` at
        ``started_at`` by ``actor`` is added unless ``incident.timeline`` has one. The
        check for an active incident runs inside the ``BEGIN IMMEDIATE`` transaction
        (and a partial unique index backs it up), so two consoles on one database can
        never both declare.

        Raises:
            StoreError: when another incident is active, a value is invalid, or the
                write fails.
        """
        values = {name: _coerce_incident_field(name, getattr(incident, name)) for name in _ORDER}
        entries = [_coerce_entry(entry) for entry in incident.timeline]
        if not any(entry.kind is EntryKind.DECLARED for entry in entries):
            severity = values["severity"]
            assert isinstance(severity, IncidentSeverity)
            declared = TimelineEntry(
                at=_aware("started_at", values["started_at"]),
                kind=EntryKind.DECLARED,
                text=f"Declared: {values['title']} ({severity.value})",
                actor=actor,
            )
            entries.append(declared)
        now = _epoch(self.clock())
        columns: dict[str, object] = {}
        for name, value in values.items():
            columns.update(_incident_columns(name, value))
        columns.update(created_at=now, created_by=actor, updated_at=now, updated_by=actor)
        async with self._write(durable=True) as db:
            if values["status"] is not IncidentStatus.RESOLVED:
                await _refuse_second_active(db, None)
            async with db.execute(
                f"INSERT INTO incidents ({', '.join(columns)}) "
                f"VALUES ({_placeholders(len(columns))})",
                tuple(columns.values()),
            ) as cursor:
                incident_id = _lastrowid(cursor)
            for entry in sorted(entries, key=lambda e: e.at):
                await _insert_entry(db, incident_id, entry)
            stored = await _load_incident(db, incident_id)
        assert stored is not None
        return stored

    async def active_incident(self) -> Incident | None:
        """Return the unresolved incident with its timeline, or None."""
        return await self._read_incident(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE status != 'resolved' "
            "ORDER BY id DESC LIMIT 1",
            (),
        )

    async def get_incident(self, incident_id: int) -> Incident | None:
        """Return incident ``incident_id`` with its timeline (time order), or None."""
        return await self._read_incident(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )

    async def _with_timelines(self, rows: Sequence[sqlite3.Row]) -> list[Incident]:
        """Incidents from ``rows``, each with its timeline (one query for all of them)."""
        ids = [int(row[0]) for row in rows]
        try:
            entries = (
                await self._query(
                    f"SELECT incident, {_ENTRY_COLUMNS} FROM incident_timeline "
                    f"WHERE incident IN ({_placeholders(len(ids))}) ORDER BY at, id",
                    ids,
                )
                if ids
                else []
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        timelines: dict[int, list[TimelineEntry]] = {i: [] for i in ids}
        for row in entries:
            timelines[int(row[0])].append(_row_to_entry(row[1:]))
        return [
            replace(_row_to_incident(row), timeline=tuple(timelines[int(row[0])])) for row in rows
        ]

    async def list_incidents(self, limit: int = 100) -> list[Incident]:
        """Return up to ``limit`` incidents, latest start first, each with its timeline."""
        if limit <= 0:
            return []
        try:
            rows = await self._query(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents "
                "ORDER BY started_at DESC, id DESC LIMIT ?",
                (limit,),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return await self._with_timelines(rows)

    async def update_incident(
        self, incident_id: int, changes: Mapping[str, object], *, actor: str, at: datetime
    ) -> Incident:
        """Change fields of an incident (see :data:`~opsconsole.core.store.INCIDENT_FIELDS`).

        Values are checked and normalised first: enums from their values, datetimes as
        aware UTC, ``playbook`` from any collection of keys, ``playbook_times`` as a tuple
        of ``(key, datetime)`` pairs, ``impact`` as an :class:`Impact`, ``""`` review path
        as None. Only fields whose value really changes are written (with ``at`` and
        ``actor`` as the row's last change); no timeline entry is written.

        Returns:
            The incident after the change, with its timeline.

        Raises:
            StoreError: for an unknown incident or field, a value of the wrong type, or
                reopening a resolved incident while another one is active.
        """
        unknown = sorted(set(changes) - INCIDENT_FIELDS)
        if unknown:
            raise StoreError(f"cannot update incident field(s): {', '.join(unknown)}")
        when = _epoch(at)
        wanted = {name: _coerce_incident_field(name, value) for name, value in changes.items()}
        async with self._write(durable=True) as db:
            current = await _load_incident(db, incident_id, timeline=False)
            if current is None:
                raise StoreError(f"no incident #{incident_id}")
            changed = {
                name: value for name, value in wanted.items() if getattr(current, name) != value
            }
            if changed:
                reopening = (
                    changed.get("status", IncidentStatus.RESOLVED) is not IncidentStatus.RESOLVED
                    and current.status is IncidentStatus.RESOLVED
                )
                if reopening:
                    await _refuse_second_active(db, incident_id)
                columns: dict[str, object] = {}
                for name, value in changed.items():
                    columns.update(_incident_columns(name, value))
                columns.update(updated_at=when, updated_by=actor)
                assignments = ", ".join(f"{column} = ?" for column in columns)
                await db.execute(
                    f"UPDATE incidents SET {assignments} WHERE id = ?",
                    (*columns.values(), incident_id),
                )
            stored = await _load_incident(db, incident_id)
        assert stored is not None
        return stored

    async def append_timeline(self, incident_id: int, entry: TimelineEntry) -> TimelineEntry:
        """Append ``entry`` to incident ``incident_id``'s timeline (its ``id`` is ignored).

        The timeline is append-only: SQLite triggers refuse any DELETE, and any UPDATE
        but of ``delivery`` (see :meth:`set_entry_delivery`).

        Returns:
            The stored entry, with its ``id`` (and ``at`` as aware UTC).

        Raises:
            StoreError: when the incident does not exist, a value is invalid, or the
                write fails.
        """
        entry = _coerce_entry(entry)
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
            )
            if not rows:
                raise StoreError(f"no incident #{incident_id}")
            entry_id = await _insert_entry(db, incident_id, entry)
        return replace(entry, id=entry_id)

    async def set_entry_delivery(self, entry_id: int, delivery: str) -> None:
        """Record the delivery result of timeline entry ``entry_id``.

        The only change a timeline entry ever sees (e.g. ``slack: queued`` →
        ``slack: ok``). The text is redacted (:func:`~opsconsole.core.redact.redact_text`)
        so a webhook URL in an error message never reaches the database.

        Raises:
            StoreError: when the entry does not exist or the write fails.
        """
        if not isinstance(delivery, str):
            raise StoreError(f"bad delivery: {delivery!r}")
        async with (
            self._write(durable=True) as db,
            db.execute(
                "UPDATE incident_timeline SET delivery = ? WHERE id = ?",
                (redact_text(delivery), entry_id),
            ) as cursor,
        ):
            if cursor.rowcount == 0:
                raise StoreError(f"no timeline entry {entry_id}")

    async def enqueue_outbound(
        self, channel: str, payload: str, *, entry_id: int | None, at: datetime
    ) -> int:
        """Queue ``payload`` for ``channel``, due at ``at``; return the message id.

        ``channel`` is a destination *name* (``"slack"``): a value that looks like a URL
        is refused, so webhook URLs never land in the database.

        Raises:
            StoreError: for a URL-like or blank channel, an unknown ``entry_id``, or a
                failed write.
        """
        if not isinstance(channel, str) or not channel.strip() or _URL_LIKE.search(channel):
            raise StoreError("outbox channel must be a name such as 'slack', not a URL")
        if not isinstance(payload, str):
            raise StoreError(f"bad outbox payload: {type(payload).__name__}")
        when = _epoch(at)
        async with self._write(durable=True) as db:
            if entry_id is not None:
                rows = list(
                    await db.execute_fetchall(
                        "SELECT 1 FROM incident_timeline WHERE id = ?", (entry_id,)
                    )
                )
                if not rows:
                    raise StoreError(f"no timeline entry {entry_id}")
            async with db.execute(
                "INSERT INTO outbox (channel, payload, entry_id, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel, payload, entry_id, when, when),
            ) as cursor:
                return _lastrowid(cursor)

    async def pending_outbound(self, now: datetime) -> list[OutboundMessage]:
        """Return undelivered, not given-up messages with ``next_attempt_at <= now``,
        oldest (first queued) first."""
        rows = await self._fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox "
            "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id",
            (_epoch(now),),
        )
        return [_row_to_outbound(row) for row in rows]

    async def claim_outbound(self, message_id: int, *, now: datetime, until: datetime) -> bool:
        """Take a due, pending message for one attempt (see :class:`Store`): one UPDATE,
        so two consoles sharing the database never both post it."""
        async with self._write(durable=True) as db:
            cursor = await db.execute(
                "UPDATE outbox SET next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?",
                (_epoch(until), message_id, _epoch(now)),
            )
            return cursor.rowcount == 1

    async def mark_outbound(
        self,
        message_id: int,
        *,
        delivered: bool,
        error: str | None,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        """Record one delivery attempt of outbox message ``message_id`` (``attempts`` + 1).

        * ``delivered=True``: it leaves the queue (``error`` and ``next_attempt_at`` are
          ignored).
        * ``delivered=False`` with ``next_attempt_at``: ``error`` (redacted) becomes
          ``last_error`` and the message is due again then.
        * ``delivered=False`` without ``next_attempt_at``: given up (a permanent error);
          kept with its ``last_error`` but never pending again.

        A message already delivered stays delivered (two consoles may both have sent it).

        Raises:
            StoreError: when the message does not exist or the write fails.
        """
        when = _epoch(at)
        retry_at = _opt_epoch(next_attempt_at)
        reason = None if error is None else redact_text(error)
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT state FROM outbox WHERE id = ?", (message_id,))
            )
            if not rows:
                raise StoreError(f"no outbox message {message_id}")
            if delivered:
                await db.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, "
                    "last_attempt_at = ?, delivered_at = coalesce(delivered_at, ?) "
                    "WHERE id = ?",
                    (when, when, message_id),
                )
            elif rows[0][0] == "delivered":
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?",
                    (when, message_id),
                )
            else:
                await db.execute(
                    "UPDATE outbox SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
                    "last_error = ?, next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                    (
                        "pending" if retry_at is not None else "failed",
                        when,
                        reason,
                        retry_at,
                        message_id,
                    ),
                )

    async def _read_incident(self, sql: str, params: Sequence[Any]) -> Incident | None:
        try:
            rows = await self._query(sql, params)
            if not rows:
                return None
            entries = await self._query(_TIMELINE_SQL, (int(rows[0][0]),))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return replace(_row_to_incident(rows[0]), timeline=tuple(_row_to_entry(r) for r in entries))

    # -- ReportStore protocol ----------------------------------------------------------

    async def rollups_since(self, since: datetime) -> dict[str, list[RollupRow]]:
        """Return probe -> hourly rollups from the hour containing ``since`` on, oldest first.

        Read from ``probe_rollups`` only (its primary key serves the per-probe order).
        """
        rows = await self._fetchall(
            "SELECT probe, hour, total, ok FROM probe_rollups WHERE hour >= ? ORDER BY probe, hour",
            (hour_start(since),),
        )
        rollups: dict[str, list[RollupRow]] = {}
        for probe, hour, total, ok in rows:
            rollups.setdefault(probe, []).append(RollupRow(int(hour), int(total), int(ok)))
        return rollups

    async def tickets_received_since(self, since: datetime) -> list[Ticket]:
        """Return every ticket received at or after ``since`` (any status), oldest first.

        Without thread or audit; walks the ``tickets_received`` index.
        """
        rows = await self._fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE received_at >= ? "
            "ORDER BY received_at, number",
            (_epoch(since),),
        )
        return [_row_to_ticket(row) for row in rows]

    async def incidents_since(self, since: datetime) -> list[Incident]:
        """Return the incidents started at or after ``since``, oldest first, with timelines."""
        try:
            rows = await self._query(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE started_at >= ? "
                "ORDER BY started_at, id",
                (_epoch(since),),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        return await self._with_timelines(rows)

    # -- ChecklistStore protocol -------------------------------------------------------

    async def start_checklist_run(self, operator: str, at: datetime) -> int:
        """Start a checklist run by ``operator`` at ``at``; return its id (1, 2, …).

        Raises:
            StoreError: for a blank operator or a failed write.
        """
        name = operator.strip() if isinstance(operator, str) else ""
        if not name:
            raise StoreError("a checklist run needs an operator name")
        when = _epoch(at)
        async with (
            self._write(durable=True) as db,
            db.execute(
                "INSERT INTO checklist_runs (operator, started_at) VALUES (?, ?)", (name, when)
            ) as cursor,
        ):
            return _lastrowid(cursor)

    async def record_checklist_item(self, run_id: int, result: ItemResult, at: datetime) -> None:
        """Upsert ``result`` as item ``result.key`` of run ``run_id``; the latest wins.

        The evidence is redacted before storing (it may quote a source's error). An
        item keeps the position it was first recorded at.

        Raises:
            StoreError: for an unknown run, an invalid result or a failed write.
        """
        row = _checklist_row(result, _epoch(at))
        async with self._write(durable=True) as db:
            await _require_checklist_run(db, run_id)
            await db.execute(
                "INSERT INTO checklist_items "
                "(run, key, text, cadence, status, evidence, overdue, note, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run, key) DO UPDATE SET text = excluded.text, "
                "cadence = excluded.cadence, status = excluded.status, "
                "evidence = excluded.evidence, overdue = excluded.overdue, "
                "note = excluded.note, at = excluded.at",
                (run_id, *row),
            )

    async def finish_checklist_run(self, run_id: int, at: datetime) -> None:
        """Mark run ``run_id`` finished at ``at`` (finishing again moves the time).

        Raises:
            StoreError: for an unknown run or a failed write.
        """
        when = _epoch(at)
        async with (
            self._write(durable=True) as db,
            db.execute(
                "UPDATE checklist_runs SET finished_at = ? WHERE id = ?", (when, run_id)
            ) as cursor,
        ):
            if cursor.rowcount == 0:
                raise StoreError(f"no checklist run {run_id}")

    async def checklist_runs(self, limit: int = 5) -> list[ChecklistRun]:
        """Return up to ``limit`` runs, latest start first, each with its results."""
        if limit <= 0:
            return []
        return await self._read_checklist_runs(
            "ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )

    async def last_done_dates(self, *, tz: tzinfo = UTC) -> dict[str, date]:
        """Return item key -> the latest date (in ``tz``) it was recorded PASS or DONE."""
        rows = await self._fetchall(
            "SELECT key, max(at) FROM checklist_items WHERE status IN ('pass', 'done') GROUP BY key"
        )
        return {str(key): datetime.fromtimestamp(at, tz).date() for key, at in rows}

    async def first_run_since(self, since: datetime) -> ChecklistRun | None:
        """Return the first run started at or after ``since``, with its results, or None."""
        runs = await self._read_checklist_runs(
            "WHERE started_at >= ? ORDER BY started_at, id LIMIT 1", (_epoch(since),)
        )
        return runs[0] if runs else None

    async def _read_checklist_runs(self, tail: str, params: Sequence[Any]) -> list[ChecklistRun]:
        try:
            runs = await self._query(
                f"SELECT id, operator, started_at, finished_at FROM checklist_runs {tail}",
                params,
            )
            ids = [int(row[0]) for row in runs]
            items = (
                await self._query(
                    "SELECT run, key, text, cadence, status, evidence, overdue, note "
                    f"FROM checklist_items WHERE run IN ({_placeholders(len(ids))}) ORDER BY id",
                    ids,
                )
                if ids
                else []
            )
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {_one_line(exc)}") from exc
        results: dict[int, list[ItemResult]] = {i: [] for i in ids}
        for row in items:
            results[int(row[0])].append(_row_to_item_result(row[1:]))
        return [
            ChecklistRun(
                id=int(run_id),
                operator=str(operator),
                started_at=datetime.fromtimestamp(started, UTC),
                finished_at=_from_epoch(finished),
                results=tuple(results[int(run_id)]),
            )
            for run_id, operator, started, finished in runs
        ]

    # -- bulk loading (benchmarks, demo) -----------------------------------------------

    async def bulk_insert_tickets(self, tickets: Sequence[Ticket]) -> None:
        """Insert many tickets, with their threads and audit trails, in one transaction.

        For benchmarks and demo seeding; not part of :class:`TicketStore`. Uses
        ``executemany``, so 100k tickets take about a second. A ticket with a positive
        ``number`` keeps it (it must be new); the others get the next numbers in order.
        No ``created`` audit entries are added: only the given ``ticket.audit`` is stored.

        Raises:
            StoreError: when a number is already taken or the write fails.
            ValueError: for naive datetimes.
        """
        if not tickets:
            return
        now = self.clock()
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'tickets'")
            )
            explicit = [t.number for t in tickets if t.number > 0]
            next_number = max([int(rows[0][0]) if rows else 100, *explicit]) + 1
            ticket_rows: list[tuple[object, ...]] = []
            message_rows: list[tuple[object, ...]] = []
            audit_rows: list[tuple[object, ...]] = []
            for ticket in tickets:
                number = ticket.number
                if number <= 0:
                    number, next_number = next_number, next_number + 1
                ticket_rows.append((number, *_ticket_row(ticket, now)))
                message_rows.extend((number, *_message_row(m)) for m in ticket.thread)
                audit_rows.extend(
                    (number, _epoch(a.at), a.actor, a.field, a.old, a.new) for a in ticket.audit
                )
            await db.executemany(
                f"INSERT INTO tickets (number, {_TICKET_INSERT_COLUMNS}) "
                f"VALUES ({_placeholders(len(ticket_rows[0]))})",
                ticket_rows,
            )
            if message_rows:
                await db.executemany(
                    f"INSERT INTO messages (ticket, {_MESSAGE_INSERT_COLUMNS}) "
                    f"VALUES ({_placeholders(len(message_rows[0]))})",
                    message_rows,
                )
            if audit_rows:
                await db.executemany(
                    "INSERT INTO audit (ticket, at, actor, field, old, new) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    audit_rows,
                )

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


def _create_private(path: Path) -> None:
    """Create a new database file as 0600 (its -wal and -shm inherit the mode).

    Tickets hold customer names, addresses and mail bodies; SQLite would create the file
    with the umask's mode (usually 0644, readable by every local user). An existing file
    keeps its mode; a failure here is left for SQLite to report.
    """
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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


# -- tickets ---------------------------------------------------------------------------------

_TICKET_INSERT_COLUMNS = (
    "subject, requester_name, requester_address, requester_company, received_at, category, "
    "severity, severity_rank, status, assignee, first_response_at, resolved_at, level, tags, "
    "triage_rule, runbook, pauses, next_due, defects, updated_at, search"
)
_TICKET_COLUMNS = (
    "number, subject, requester_name, requester_address, requester_company, received_at, "
    "category, severity, status, assignee, first_response_at, resolved_at, level, tags, "
    "triage_rule, runbook, pauses, next_due, defects"
)
_MESSAGE_INSERT_COLUMNS = "direction, at, author, subject, body, message_id, attachments, defects"
_MESSAGE_COLUMNS = f"id, {_MESSAGE_INSERT_COLUMNS}"
_THREAD_SQL = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE ticket = ? ORDER BY at, id"
_AUDIT_SQL = "SELECT at, actor, field, old, new FROM audit WHERE ticket = ? ORDER BY id"

_TICKET_SORTS: Final[Mapping[str, tuple[str, ...]]] = {
    # "next_due IS NULL" first: tickets without a deadline sort last (and the index
    # tickets_due is on exactly this expression, so SQLite walks it instead of sorting).
    "due": ("next_due IS NULL", "next_due", "severity_rank", "received_at", "number"),
    "severity": ("severity_rank", "received_at", "number"),
    "received": ("received_at", "number"),
    "number": ("number",),
}
_NUMBER_QUERY = re.compile(r"#?\s*(\d{1,18})")
_STATUS_VALUES = frozenset(s.value for s in Status)
_SEARCH_SEPARATOR = "\n"  # between fields, so a match never spans two of them


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _opt_epoch(moment: datetime | None) -> float | None:
    return None if moment is None else _epoch(moment)


def _from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _search_text(ticket: Ticket) -> str:
    requester = ticket.requester
    fields = (ticket.subject, requester.name, requester.address, requester.company)
    return _SEARCH_SEPARATOR.join(fields).casefold()


def _pauses_json(pauses: Sequence[tuple[datetime, datetime | None]]) -> str:
    return json.dumps([[_epoch(start), _opt_epoch(end)] for start, end in pauses])


def _ticket_row(ticket: Ticket, now: datetime) -> tuple[object, ...]:
    """The values of :data:`_TICKET_INSERT_COLUMNS` for ``ticket``."""
    requester = ticket.requester
    return (
        ticket.subject,
        requester.name,
        requester.address,
        requester.company,
        _epoch(ticket.received_at),
        ticket.category.value,
        ticket.severity.value,
        SEVERITY_RANK[ticket.severity],
        ticket.status.value,
        ticket.assignee or None,
        _opt_epoch(ticket.first_response_at),
        _opt_epoch(ticket.resolved_at),
        ticket.level.value,
        json.dumps(list(ticket.tags)),
        ticket.triage_rule,
        ticket.runbook,
        _pauses_json(ticket.pauses),
        _opt_epoch(ticket.next_due),
        json.dumps(list(ticket.defects)),
        _epoch(now),
        _search_text(ticket),
    )


def _message_row(message: ThreadMessage) -> tuple[object, ...]:
    """The values of :data:`_MESSAGE_INSERT_COLUMNS` for ``message``."""
    attachments = [
        {"name": a.name, "size": a.size, "content_type": a.content_type}
        for a in message.attachments
    ]
    return (
        message.direction.value,
        _epoch(message.at),
        message.author,
        message.subject,
        message.body,
        message.message_id,
        json.dumps(attachments),
        json.dumps(list(message.defects)),
    )


def _row_to_ticket(row: Iterable[Any]) -> Ticket:
    (
        number,
        subject,
        name,
        address,
        company,
        received_at,
        category,
        severity,
        status,
        assignee,
        first_response_at,
        resolved_at,
        level,
        tags,
        triage_rule,
        runbook,
        pauses,
        next_due,
        defects,
    ) = row
    return Ticket(
        number=int(number),
        subject=subject,
        requester=Requester(name=name, address=address, company=company),
        received_at=datetime.fromtimestamp(received_at, UTC),
        category=Category(category),
        severity=Severity(severity),
        status=Status(status),
        assignee=assignee,
        first_response_at=_from_epoch(first_response_at),
        resolved_at=_from_epoch(resolved_at),
        level=Level(level),
        tags=tuple(json.loads(tags)),
        triage_rule=triage_rule,
        runbook=runbook,
        pauses=tuple(
            (datetime.fromtimestamp(start, UTC), _from_epoch(end))
            for start, end in json.loads(pauses)
        ),
        next_due=_from_epoch(next_due),
        defects=tuple(json.loads(defects)),
    )


def _row_to_message(row: Iterable[Any]) -> ThreadMessage:
    message_pk, direction, at, author, subject, body, message_id, attachments, defects = row
    return ThreadMessage(
        direction=Direction(direction),
        at=datetime.fromtimestamp(at, UTC),
        author=author,
        body=body,
        subject=subject,
        message_id=message_id,
        attachments=tuple(
            Attachment(name=a["name"], size=int(a["size"]), content_type=a["content_type"])
            for a in json.loads(attachments)
        ),
        defects=tuple(json.loads(defects)),
        id=int(message_pk),
    )


def _row_to_audit(row: Iterable[Any]) -> AuditEntry:
    at, actor, field, old, new = row
    return AuditEntry(
        at=datetime.fromtimestamp(at, UTC), actor=actor, field=field, old=old, new=new
    )


def _lastrowid(cursor: aiosqlite.Cursor) -> int:
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - an INSERT always sets it
        raise StoreError("insert returned no row id")
    return int(rowid)


async def _load_ticket(db: aiosqlite.Connection, number: int, *, full: bool) -> Ticket | None:
    """Read a ticket on ``db`` (inside the caller's transaction); ``full`` adds thread/audit."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE number = ?", (number,)
        )
    )
    if not rows:
        return None
    ticket = _row_to_ticket(rows[0])
    if not full:
        return ticket
    thread = await db.execute_fetchall(_THREAD_SQL, (number,))
    audit = await db.execute_fetchall(_AUDIT_SQL, (number,))
    return replace(
        ticket,
        thread=tuple(_row_to_message(r) for r in thread),
        audit=tuple(_row_to_audit(r) for r in audit),
    )


async def _require_ticket(db: aiosqlite.Connection, number: int) -> None:
    rows = list(await db.execute_fetchall("SELECT 1 FROM tickets WHERE number = ?", (number,)))
    if not rows:
        raise StoreError(f"no ticket #{number}")


async def _ticket_of_message(db: aiosqlite.Connection, message_id: str | None) -> int | None:
    if message_id is None:
        return None
    rows = list(
        await db.execute_fetchall("SELECT ticket FROM messages WHERE message_id = ?", (message_id,))
    )
    return int(rows[0][0]) if rows else None


async def _insert_message(db: aiosqlite.Connection, number: int, row: Sequence[object]) -> int:
    async with db.execute(
        f"INSERT INTO messages (ticket, {_MESSAGE_INSERT_COLUMNS}) "
        f"VALUES (?, {_placeholders(len(row))})",
        (number, *row),
    ) as cursor:
        return _lastrowid(cursor)


async def _insert_audit(
    db: aiosqlite.Connection,
    number: int,
    at: float,
    actor: str,
    field: str,
    old: str | None,
    new: str | None,
) -> None:
    await db.execute(
        "INSERT INTO audit (ticket, at, actor, field, old, new) VALUES (?, ?, ?, ?, ?, ?)",
        (number, at, actor, field, old, new),
    )


def _step_state(done: bool) -> str:
    return "done" if done else "not done"


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{name} must be a timezone-aware datetime, not {value!r}")
    return value.astimezone(UTC)


def _coerce_field(name: str, value: object) -> object:
    """Check and normalise a new value for ticket field ``name`` (see ``update_ticket``)."""
    enum: type[StrEnum] | None = {
        "category": Category,
        "severity": Severity,
        "status": Status,
        "level": Level,
    }.get(name)
    if enum is not None:
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        raise StoreError(f"bad {name}: {value!r}")
    if name in ("assignee", "runbook"):
        if value is None or isinstance(value, str):
            return value or None  # "" is "nobody" / "no runbook"
        raise StoreError(f"bad {name}: {value!r}")
    if name == "triage_rule":
        if isinstance(value, str):
            return value
        raise StoreError(f"bad {name}: {value!r}")
    if name in ("first_response_at", "resolved_at", "next_due"):
        return None if value is None else _aware(name, value)
    if name == "tags":
        if isinstance(value, list | tuple) and all(isinstance(t, str) for t in value):
            return tuple(value)
        raise StoreError(f"bad tags: {value!r} (a list of strings)")
    if name == "pauses":
        if not isinstance(value, list | tuple):
            raise StoreError(f"bad pauses: {value!r}")
        pauses: list[tuple[datetime, datetime | None]] = []
        for pause in value:
            if not isinstance(pause, list | tuple) or len(pause) != 2:
                raise StoreError(f"bad pause: {pause!r} (a (start, end or None) pair)")
            start, end = pause
            pauses.append((_aware(name, start), None if end is None else _aware(name, end)))
        return tuple(pauses)
    raise StoreError(f"cannot update ticket field: {name}")


def _field_columns(name: str, value: Any) -> dict[str, object]:
    """The column values that store a coerced field value."""
    if name == "severity":
        return {"severity": value.value, "severity_rank": SEVERITY_RANK[value]}
    if name in ("category", "status", "level"):
        return {name: value.value}
    if name in ("first_response_at", "resolved_at", "next_due"):
        return {name: _opt_epoch(value)}
    if name == "tags":
        return {"tags": json.dumps(list(value))}
    if name == "pauses":
        return {"pauses": _pauses_json(value)}
    return {name: value}


def _render(value: object) -> str | None:
    """A field value as audit text: enum values, ISO 8601 UTC times, joined tuples."""
    if value is None:
        return None
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple):
        if all(isinstance(item, tuple) for item in value):  # pauses
            return "; ".join(f"{_render(start)} – {_render(end) or 'open'}" for start, end in value)
        return ", ".join(str(item) for item in value)
    return str(value)


def _shown(value: object) -> str:
    """A field value in a conflict message: audit text, ``none`` for no value."""
    text = _render(value)
    return "none" if text is None or text == "" else text


def _ticket_where(query: TicketQuery) -> tuple[str, list[object]]:
    """The WHERE clause (with a leading space, or empty) and parameters of ``query``."""
    clauses: list[str] = []
    params: list[object] = []
    text = query.text.strip()
    if text:
        number = _NUMBER_QUERY.fullmatch(text)
        if number:
            clauses.append("(instr(search, ?) > 0 OR number = ?)")
            params += [text.casefold(), int(number[1])]
        else:
            clauses.append("instr(search, ?) > 0")
            params.append(text.casefold())
    if query.severities:
        values = sorted(Severity(s).value for s in query.severities)
        clauses.append(f"severity IN ({_placeholders(len(values))})")
        params += values
    if query.statuses:
        values = sorted(Status(s).value for s in query.statuses)
        clauses.append(f"status IN ({_placeholders(len(values))})")
        params += values
    if query.open_only:
        closed = sorted(s.value for s in CLOSED_STATUSES)
        clauses.append(f"status NOT IN ({_placeholders(len(closed))})")
        params += closed
    if query.assignee is not None:
        clauses.append("assignee = ?")
        params.append(query.assignee)
    if query.unassigned:
        clauses.append("assignee IS NULL")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _ticket_order(query: TicketQuery) -> str:
    keys = _TICKET_SORTS.get(query.sort)
    if keys is None:
        raise StoreError(f"unknown ticket sort: {query.sort!r}")
    direction = " DESC" if query.descending else ""
    return ", ".join(key + direction for key in keys)


# -- incidents -------------------------------------------------------------------------------

_ORDER: Final = (
    "title",
    "component",
    "severity",
    "status",
    "started_at",
    "impact",
    "resolved_at",
    "monitoring_since",
    "last_update_at",
    "snoozed_until",
    "review_path",
    "review_due",
    "review_done_at",
    "playbook",
    "playbook_times",
    "root_cause",
    "fix",
    "postmortem_url",
    "monitoring_override",
)
"""The stored incident fields, in :data:`_INCIDENT_COLUMNS` order (after the id)."""

_INCIDENT_COLUMNS = (
    "id, title, component, severity, status, started_at, customers, failing_percent, "
    "impact_note, resolved_at, monitoring_since, last_update_at, snoozed_until, review_path, "
    "review_due, review_done_at, playbook, playbook_times, root_cause, fix, postmortem_url, "
    "monitoring_override"
)
_ENTRY_COLUMNS = "id, at, kind, text, actor, delivery"
_TIMELINE_SQL = f"SELECT {_ENTRY_COLUMNS} FROM incident_timeline WHERE incident = ? ORDER BY at, id"
_OUTBOX_COLUMNS = (
    "id, channel, payload, entry_id, attempts, created_at, next_attempt_at, last_error"
)
_INCIDENT_TIMES = frozenset(
    {
        "resolved_at",
        "monitoring_since",
        "last_update_at",
        "snoozed_until",
        "review_due",
        "review_done_at",
    }
)
_INCIDENT_TEXTS = frozenset(
    {"title", "component", "root_cause", "fix", "postmortem_url", "monitoring_override"}
)
_URL_LIKE = re.compile(r"://|/services/|/webhooks?/|\bhooks\.", re.I)
"""What a webhook URL (never a channel name) contains."""


def _coerce_incident_field(name: str, value: object) -> object:
    """Check and normalise a value for incident field ``name`` (see ``update_incident``)."""
    if name == "severity" or name == "status":
        enum: type[StrEnum] = IncidentSeverity if name == "severity" else IncidentStatus
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        raise StoreError(f"bad {name}: {value!r}")
    if name in _INCIDENT_TEXTS:
        if isinstance(value, str):
            return value
        raise StoreError(f"bad {name}: {value!r} (text)")
    if name == "started_at":
        return _aware(name, value)
    if name in _INCIDENT_TIMES:
        return None if value is None else _aware(name, value)
    if name == "review_path":
        if value is None or isinstance(value, str):
            return value or None
        raise StoreError(f"bad review_path: {value!r}")
    if name == "impact":
        return _coerce_impact(value)
    if name == "playbook":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise StoreError(f"bad playbook: {value!r} (a set of step keys)")
        keys = list(value)
        if not all(isinstance(key, str) for key in keys):
            raise StoreError(f"bad playbook: {value!r} (a set of step keys)")
        return frozenset(keys)
    if name == "playbook_times":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise StoreError(f"bad playbook_times: {value!r}")
        times: list[tuple[str, datetime]] = []
        for pair in value:
            if not isinstance(pair, list | tuple) or len(pair) != 2 or not isinstance(pair[0], str):
                raise StoreError(f"bad playbook time: {pair!r} (a (key, datetime) pair)")
            times.append((pair[0], _aware(name, pair[1])))
        return tuple(times)
    raise StoreError(f"cannot update incident field: {name}")


def _coerce_impact(value: object) -> Impact:
    if not isinstance(value, Impact):
        raise StoreError(f"bad impact: {value!r} (an Impact)")
    customers, percent = value.customers, value.failing_percent
    if customers is not None and (isinstance(customers, bool) or not isinstance(customers, int)):
        raise StoreError(f"bad impact customers: {customers!r}")
    if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int | float)):
        raise StoreError(f"bad impact failing_percent: {percent!r}")
    if not isinstance(value.note, str):
        raise StoreError(f"bad impact note: {value.note!r}")
    return Impact(
        customers=customers,
        failing_percent=None if percent is None else float(percent),
        note=value.note,
    )


def _incident_columns(name: str, value: Any) -> dict[str, object]:
    """The column values that store a coerced incident field value."""
    if name in ("severity", "status"):
        return {name: value.value}
    if name == "started_at":
        return {name: _epoch(value)}
    if name in _INCIDENT_TIMES:
        return {name: _opt_epoch(value)}
    if name == "impact":
        return {
            "customers": value.customers,
            "failing_percent": value.failing_percent,
            "impact_note": value.note,
        }
    if name == "playbook":
        return {name: json.dumps(sorted(value))}
    if name == "playbook_times":
        return {name: json.dumps([[key, _epoch(when)] for key, when in value])}
    return {name: value}


def _row_to_incident(row: Sequence[Any]) -> Incident:
    (
        incident_id,
        title,
        component,
        severity,
        status,
        started_at,
        customers,
        failing_percent,
        impact_note,
        resolved_at,
        monitoring_since,
        last_update_at,
        snoozed_until,
        review_path,
        review_due,
        review_done_at,
        playbook,
        playbook_times,
        root_cause,
        fix,
        postmortem_url,
        monitoring_override,
    ) = row
    return Incident(
        id=int(incident_id),
        title=title,
        component=component,
        severity=IncidentSeverity(severity),
        status=IncidentStatus(status),
        started_at=datetime.fromtimestamp(started_at, UTC),
        impact=Impact(
            customers=None if customers is None else int(customers),
            failing_percent=None if failing_percent is None else float(failing_percent),
            note=impact_note,
        ),
        resolved_at=_from_epoch(resolved_at),
        monitoring_since=_from_epoch(monitoring_since),
        last_update_at=_from_epoch(last_update_at),
        snoozed_until=_from_epoch(snoozed_until),
        review_path=review_path,
        review_due=_from_epoch(review_due),
        review_done_at=_from_epoch(review_done_at),
        playbook=frozenset(json.loads(playbook)),
        playbook_times=tuple(
            (str(key), datetime.fromtimestamp(when, UTC))
            for key, when in json.loads(playbook_times)
        ),
        root_cause=root_cause,
        fix=fix,
        postmortem_url=postmortem_url,
        monitoring_override=monitoring_override,
    )


def _coerce_entry(entry: TimelineEntry) -> TimelineEntry:
    """Check a timeline entry; return it with an EntryKind, aware-UTC time and no id."""
    if not isinstance(entry, TimelineEntry):
        raise StoreError(f"bad timeline entry: {entry!r}")
    try:
        kind = EntryKind(entry.kind)
    except ValueError:
        raise StoreError(f"bad timeline entry kind: {entry.kind!r}") from None
    if not isinstance(entry.text, str) or not isinstance(entry.actor, str):
        raise StoreError("bad timeline entry: text and actor must be text")
    if entry.delivery is not None and not isinstance(entry.delivery, str):
        raise StoreError(f"bad timeline entry delivery: {entry.delivery!r}")
    delivery = None if entry.delivery is None else redact_text(entry.delivery)
    return replace(entry, at=_aware("at", entry.at), kind=kind, delivery=delivery, id=None)


def _row_to_entry(row: Sequence[Any]) -> TimelineEntry:
    entry_id, at, kind, text, actor, delivery = row
    return TimelineEntry(
        at=datetime.fromtimestamp(at, UTC),
        kind=EntryKind(kind),
        text=text,
        actor=actor,
        delivery=delivery,
        id=int(entry_id),
    )


def _row_to_outbound(row: Sequence[Any]) -> OutboundMessage:
    message_id, channel, payload, entry_id, attempts, created_at, next_attempt_at, error = row
    return OutboundMessage(
        id=int(message_id),
        channel=channel,
        payload=payload,
        entry_id=None if entry_id is None else int(entry_id),
        attempts=int(attempts),
        created_at=datetime.fromtimestamp(created_at, UTC),
        next_attempt_at=datetime.fromtimestamp(next_attempt_at, UTC),
        last_error=error,
    )


async def _insert_entry(db: aiosqlite.Connection, incident_id: int, entry: TimelineEntry) -> int:
    async with db.execute(
        "INSERT INTO incident_timeline (incident, at, kind, text, actor, delivery) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (incident_id, _epoch(entry.at), entry.kind.value, entry.text, entry.actor, entry.delivery),
    ) as cursor:
        return _lastrowid(cursor)


async def _load_incident(
    db: aiosqlite.Connection, incident_id: int, *, timeline: bool = True
) -> Incident | None:
    """Read an incident on ``db`` (inside the caller's transaction)."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )
    )
    if not rows:
        return None
    incident = _row_to_incident(rows[0])
    if not timeline:
        return incident
    entries = await db.execute_fetchall(_TIMELINE_SQL, (incident_id,))
    return replace(incident, timeline=tuple(_row_to_entry(r) for r in entries))


async def _refuse_second_active(db: aiosqlite.Connection, except_id: int | None) -> None:
    """Raise StoreError when an incident other than ``except_id`` is active."""
    rows = list(
        await db.execute_fetchall(
            "SELECT id, title FROM incidents WHERE status != 'resolved' AND id IS NOT ? "
            "ORDER BY id LIMIT 1",
            (except_id,),
        )
    )
    if rows:
        other, title = rows[0]
        raise StoreError(
            f"incident #{other} is already active ({' '.join(str(title).split())}); "
            "resolve it first"
        )


def _checklist_row(result: ItemResult, when: float) -> tuple[object, ...]:
    """The stored columns of ``result`` (after ``run``), checked and normalised."""
    try:
        status = ItemStatus(result.status)
        cadence = Cadence(result.cadence)
    except ValueError as exc:
        raise StoreError(f"bad checklist result: {exc}") from None
    if not isinstance(result.key, str) or not result.key.strip():
        raise StoreError("a checklist result needs a key")
    if not all(isinstance(v, str) for v in (result.text, result.evidence, result.note)):
        raise StoreError(f"bad checklist result for {result.key!r}: text fields must be str")
    return (
        result.key,
        result.text,
        cadence.value,
        status.value,
        redact_text(result.evidence),
        int(bool(result.overdue)),
        result.note,
        when,
    )


def _row_to_item_result(row: Sequence[Any]) -> ItemResult:
    key, text, cadence, status, evidence, overdue, note = row
    return ItemResult(
        key=key,
        text=text,
        cadence=Cadence(cadence),
        status=ItemStatus(status),
        evidence=evidence,
        overdue=bool(overdue),
        note=note,
    )


async def _require_checklist_run(db: aiosqlite.Connection, run_id: int) -> None:
    rows = list(await db.execute_fetchall("SELECT 1 FROM checklist_runs WHERE id = ?", (run_id,)))
    if not rows:
        raise StoreError(f"no checklist run {run_id}")
