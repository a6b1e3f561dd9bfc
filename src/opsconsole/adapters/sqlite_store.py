"""SQLite implementation of the :class:`~opsconsole.core.store.Store`,
:class:`~opsconsole.core.store.TicketStore`, :class:`~opsconsole.core.store.IncidentStore`,
:class:`~opsconsole.core.store.ReportStore` and :class:`~opsconsole.core.store.ChecklistStore`
protocols (aiosqlite).

The code lives in the :mod:`opsconsole.adapters.sqlite` package (its docstring gives the
durability, concurrency and schema choices); this module is the name the rest of opsconsole,
the tests and the benchmarks import it by.
"""

from __future__ import annotations

from opsconsole.adapters.sqlite.connection import (
    BUSY_TIMEOUT_MS,
    CHECKPOINT_WAIT_MS,
    PRUNE_CHUNK_ROWS,
    WAL_AUTOCHECKPOINT_PAGES,
)
from opsconsole.adapters.sqlite.files import (
    ALLOW_NETWORK_DB_ENV,
    NETWORK_FILESYSTEMS,
    default_db_path,
    filesystem_type,
)
from opsconsole.adapters.sqlite.files import (
    _refuse_network_filesystem as _refuse_network_filesystem,
)
from opsconsole.adapters.sqlite.probes import _row_to_result as _row_to_result
from opsconsole.adapters.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from opsconsole.adapters.sqlite.store import SqliteStore
from opsconsole.adapters.sqlite.ticket_query import _ticket_order as _ticket_order
from opsconsole.adapters.sqlite.ticket_query import _ticket_where as _ticket_where
from opsconsole.core.store import StoreError, TicketConflict

__all__ = [
    "ALLOW_NETWORK_DB_ENV",
    "BUSY_TIMEOUT_MS",
    "CHECKPOINT_WAIT_MS",
    "MIGRATIONS",
    "NETWORK_FILESYSTEMS",
    "PRUNE_CHUNK_ROWS",
    "SCHEMA_VERSION",
    "WAL_AUTOCHECKPOINT_PAGES",
    "Migration",
    "SqliteStore",
    "StoreError",
    "TicketConflict",
    "default_db_path",
    "filesystem_type",
]
