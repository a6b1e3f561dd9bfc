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
  triggers and index size, and cannot serve queries shorter than three characters. The §3.1
  acknowledgement is claimed in ``ticket_acks`` (one row per ticket, inside ``BEGIN
  IMMEDIATE``) before it is sent, so one process sends it; ``meta`` keeps the key of the SLA
  policy the stored ``next_due`` values follow (:meth:`SqliteStore.refresh_next_due`).
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

Modules, by responsibility: ``schema`` (DDL, migrations, version checks), ``files``
(where the file lives, network filesystems, private creation), ``connection`` (the
connection, write transactions, read retries, text cleaning), ``common`` (conversions
every table uses), one module per group of tables with its row helpers and a mixin of
store methods (``probes``; ``tickets`` with ``ticket_rows``, ``ticket_fields`` and
``ticket_query``; ``incidents`` with ``incident_rows``; ``outbox``; ``checklists``), and
``store``, which composes :class:`~opsconsole.adapters.sqlite.store.SqliteStore`. Other
code imports it from :mod:`opsconsole.adapters.sqlite_store`.
"""
