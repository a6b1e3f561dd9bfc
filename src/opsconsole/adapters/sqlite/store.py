"""The SQLite store, composed from the connection base and one mixin per group of tables."""

from __future__ import annotations

from opsconsole.adapters.sqlite.checklists import ChecklistsMixin
from opsconsole.adapters.sqlite.incidents import IncidentsMixin
from opsconsole.adapters.sqlite.outbox import OutboxMixin
from opsconsole.adapters.sqlite.probes import ProbesMixin
from opsconsole.adapters.sqlite.tickets import TicketsMixin


class SqliteStore(ProbesMixin, TicketsMixin, IncidentsMixin, OutboxMixin, ChecklistsMixin):
    """Probe history and support tickets in one SQLite file; safe for several processes.

    Open with :meth:`open` (or ``async with await SqliteStore.open(path)``) and always
    :meth:`close`: aiosqlite's worker thread is non-daemon and would hang interpreter exit.
    """
