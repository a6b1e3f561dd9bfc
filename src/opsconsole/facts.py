"""What the console knows right now, gathered for checklists and the shift handover."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsconsole.core.checklists import Facts
from opsconsole.core.models import ProbeState
from opsconsole.core.shift import previous_shift_start
from opsconsole.core.sources import (
    AlertsSnapshot,
    MetricsSnapshot,
    SentrySnapshot,
    StatusPageSnapshot,
)
from opsconsole.core.store import TicketQuery
from opsconsole.core.tickets import Severity

STALE_AFTER = timedelta(days=7)


async def gather_facts(
    *,
    now: datetime,
    config: Any,
    engine: Any | None,
    sources: dict[str, tuple[object | None, str | None]],
    store: Any | None,
    with_sla: bool = True,
) -> Facts:
    """Build :class:`Facts` from the probe engine, the source statuses and the ticket store.

    ``sources`` maps a source name to (data, error); a source that is not configured is
    simply absent. ``with_sla`` builds the 30-day report behind the monthly SLA review;
    callers skip it when that item is not due (it reads 30 days of history).
    """
    probes = None
    if engine is not None:
        probes = tuple((s.name, s.state, _detail(s)) for s in engine.statuses())
    errors = {name: error for name, (data, error) in sources.items() if error and data is None}

    def data(name: str, kind: type) -> Any:
        value = sources.get(name, (None, None))[0]
        return value if isinstance(value, kind) else None

    critical = stale = None
    if store is not None and hasattr(store, "count_tickets"):
        # Counted in SQL over the whole queue: no cap, however long it is.
        critical = await store.count_tickets(
            TicketQuery(severities=frozenset({Severity.CRITICAL}), open_only=True, unanswered=True)
        )
        # Stale: no activity (a message, a reply, a note, a triage change) for 7 days.
        stale = await store.count_tickets(
            TicketQuery(open_only=True, updated_before=now - STALE_AFTER)
        )
    sla_summary = None
    if with_sla and store is not None and hasattr(store, "rollups_since"):
        from opsconsole.reporting import make_report, sla_summary_line

        report = await make_report(store, config, since=timedelta(days=30), now=now)
        sla_summary = sla_summary_line(report)
    return Facts(
        now=now,
        sla_summary=sla_summary,
        since=previous_shift_start(now, config.shift.starts, config.tz),
        probes=probes,
        statuspage=data("statuspage", StatusPageSnapshot),
        sentry=data("sentry", SentrySnapshot),
        metrics=data("metrics", MetricsSnapshot),
        alerts=data("alerts", AlertsSnapshot),
        critical_tickets_waiting=critical,
        stale_tickets=stale,
        errors=errors,
        tz=config.tz,
    )


def _detail(status: Any) -> str:
    result = status.result
    if result is None:
        return "no result yet"
    if status.state in (ProbeState.UP,) and result.latency_ms is not None:
        return f"{result.latency_ms:.0f} ms"
    return str(result.reason or status.state.value)
