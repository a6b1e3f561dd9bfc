"""The schema: DDL steps applied in order, and the version check.

``PRAGMA user_version`` holds the number of steps applied; append a step to
:data:`MIGRATIONS` to evolve the schema, never edit one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from opsconsole.core.store import StoreError

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
    # 6: the §3.1 acknowledgement is claimed here before it is sent, so of two processes
    # importing the same new mail exactly one sends it; and ``meta`` keeps facts about the
    # stored data, such as the SLA policy the stored ``next_due`` values were computed under.
    (
        """
        CREATE TABLE ticket_acks (
            ticket     INTEGER PRIMARY KEY REFERENCES tickets (number),
            claimed_by TEXT    NOT NULL,  -- host:pid:token of the process sending it
            claimed_at REAL    NOT NULL,
            outcome    TEXT,              -- NULL while claimed; then 'sent' or 'not sent'
            done_at    REAL
        )
        """,
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID
        """,
    ),
)
"""Schema steps; ``PRAGMA user_version`` is the number applied. Only ever append."""

SCHEMA_VERSION: Final = len(MIGRATIONS)


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"schema version {version} is newer than this opsconsole supports "
            f"({SCHEMA_VERSION}); upgrade opsconsole or use another database file"
        )
