"""The ticket queue's filters (WHERE) and sort orders (ORDER BY), each served by an index."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from opsconsole.adapters.sqlite.common import _epoch, _placeholders
from opsconsole.core.store import StoreError, TicketQuery
from opsconsole.core.tickets import CLOSED_STATUSES, Severity, Status

_TICKET_SORTS: Final[Mapping[str, tuple[str, ...]]] = {
    # "next_due IS NULL" first: tickets without a deadline sort last (and the index
    # tickets_due is on exactly this expression, so SQLite walks it instead of sorting).
    "due": ("next_due IS NULL", "next_due", "severity_rank", "received_at", "number"),
    "severity": ("severity_rank", "received_at", "number"),
    "received": ("received_at", "number"),
    "number": ("number",),
}
_NUMBER_QUERY = re.compile(r"#?\s*(\d{1,18})")


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
    if query.due_after is not None:
        clauses.append("next_due >= ?")
        params.append(_epoch(query.due_after))
    if query.due_before is not None:
        clauses.append("next_due < ?")
        params.append(_epoch(query.due_before))
    if query.unanswered:
        clauses.append("first_response_at IS NULL")
    if query.updated_before is not None:
        clauses.append("updated_at < ?")
        params.append(_epoch(query.updated_before))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _ticket_order(query: TicketQuery) -> str:
    keys = _TICKET_SORTS.get(query.sort)
    if keys is None:
        raise StoreError(f"unknown ticket sort: {query.sort!r}")
    direction = " DESC" if query.descending else ""
    return ", ".join(key + direction for key in keys)
