"""Reports and the shift handover, assembled from the store and the live state.

Shared by the TUI (``g``, ``h``) and the CLI (``opsconsole report``, ``opsconsole handover``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.checklists import ItemStatus
from opsconsole.core.handover import HandoverFacts, render_handover
from opsconsole.core.models import ProbeState
from opsconsole.core.reports import Report, build_report
from opsconsole.core.shift import shift_start
from opsconsole.core.sla import SlaState
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.sources import AlertsSnapshot
from opsconsole.core.store import TicketQuery


async def make_report(store: Any, config: Config, *, since: timedelta, now: datetime) -> Report:
    """The report over ``[now - since, now]`` from stored data."""
    start = now - since
    return build_report(
        since=start,
        until=now,
        rollups=await store.rollups_since(start),
        target=config.uptime_target,
        tickets=await store.tickets_received_since(start),
        policy=config.sla.to_policy(config.tz),
        incidents=await store.incidents_since(start),
        update_every=config.incident.update_every,
    )


async def make_handover(
    *,
    store: Any | None,
    config: Config,
    now: datetime,
    probes: list[tuple[str, ProbeState, str]],
    alerts: AlertsSnapshot | None,
    notes: str = "",
) -> str:
    """The shift handover Markdown (Slack-ready)."""
    incident = None
    at_risk: list[tuple[int, str, str, str]] = []
    failed: list[tuple[str, str]] = []
    if store is not None and hasattr(store, "active_incident"):
        incident = await store.active_incident()
    if store is not None and hasattr(store, "list_tickets"):
        policy = config.sla.to_policy(config.tz)
        from opsconsole.core.sla import evaluate

        for ticket in await store.list_tickets(TicketQuery(open_only=True, limit=200)):
            label, state = sla_clock(evaluate(ticket, policy, now), ticket)
            if state in (SlaState.AT_RISK, SlaState.BREACHED):
                at_risk.append((ticket.number, ticket.severity.value, ticket.subject, label))
    ran = True
    if store is not None and hasattr(store, "checklist_runs"):
        # This shift's latest run: an older one's failures are not this shift's news.
        start = shift_start(now, config.shift.starts, config.tz)
        runs = [r for r in await store.checklist_runs(limit=5) if r.started_at >= start]
        ran = bool(runs)
        if runs:
            failed = [(r.text, r.evidence) for r in runs[0].results if r.status is ItemStatus.FAIL]
    bad = tuple(
        (name, state.value, detail)
        for name, state, detail in probes
        if state in (ProbeState.DOWN, ProbeState.DEGRADED)
    )
    firing = (
        tuple((a.name, a.severity, a.summary) for a in alerts.firing if not a.silenced)
        if alerts is not None
        else ()
    )
    facts = HandoverFacts(
        now=now,
        operator=config.operator.name,
        incident=incident,
        tickets_at_risk=tuple(at_risk),
        probes_bad=bad,
        alerts_firing=firing,
        checklist_failed=tuple(failed),
        notes=notes,
        checklist_ran=ran,
    )
    return render_handover(facts, config.tz)


def handover_path(now: datetime, directory: Path) -> Path:
    """Where a handover written at ``now`` is saved."""
    return directory / f"handover-{now:%Y%m%d-%H%M}.md"


def sla_summary_line(report: Report) -> str:
    """One line for the monthly SLA review: uptime vs target and response SLA met."""
    met = sum(a.response_met for a in report.sla)
    total = sum(a.response_total for a in report.sla)
    breaches = sum(len(a.breaches) for a in report.sla)
    below = [u.probe for u in report.uptime if u.met is False]
    parts = [
        f"response SLA met {100 * met / total:.0f}% ({breaches} breaches)"
        if total
        else "no decided response SLAs in 30 days"
    ]
    parts.append(
        f"below uptime target: {', '.join(below)}" if below else "every probe met its uptime target"
    )
    return "; ".join(parts)
