"""Reports and the shift handover, assembled from the store and the live state.

Shared by the TUI (``g``, ``h``) and the CLI (``opsconsole report``, ``opsconsole handover``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial
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
    """The report over ``[now - since, now]`` from stored data.

    A probe no longer in ``config`` keeps its history in the report (under its old name);
    a period longer than the retention says where the stored history starts.
    """
    start = now - since
    rollups = await store.rollups_since(start)
    for probe in config.probes:  # a probe with no history is shown as such, not left out
        rollups.setdefault(probe.name, [])
    tickets = await store.tickets_received_since(start)
    incidents = await store.incidents_since(start)
    # Pure but long over a big history: a worker thread, so the UI keeps its turns.
    return await asyncio.to_thread(
        partial(
            build_report,
            since=start,
            until=now,
            rollups=rollups,
            target=config.uptime_target,
            tickets=tickets,
            policy=config.sla.to_policy(config.tz),
            incidents=incidents,
            update_every=config.incident.update_every,
            intervals={probe.name: probe.interval for probe in config.probes},
            history_from=now - config.retention,
        )
    )


async def make_handover(
    *,
    store: Any | None,
    config: Config,
    now: datetime,
    probes: list[tuple[str, ProbeState, str]],
    alerts: AlertsSnapshot | None,
    notes: str = "",
    alerts_error: str | None = None,
) -> str:
    """The shift handover Markdown (Slack-ready).

    ``alerts`` is None when the alerts were not read: ``alerts_error`` says why (the
    section then says so instead of "none").
    """
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
    unread = ""
    if alerts is None:
        unread = alerts_error or (
            "Alertmanager is not configured" if config.alertmanager is None else "no alert data"
        )
    facts = HandoverFacts(
        now=now,
        operator=config.operator.name,
        incident=incident,
        tickets_at_risk=tuple(at_risk),
        probes_bad=bad,
        alerts_firing=firing,
        alerts_unread=unread,
        checklist_failed=tuple(failed),
        notes=notes,
        checklist_ran=ran,
    )
    return render_handover(facts, config.tz)


def handover_path(now: datetime, directory: Path) -> Path:
    """Where a handover written at ``now`` is saved."""
    return directory / f"handover-{now:%Y%m%d-%H%M}.md"


def sla_summary_line(report: Report) -> str:
    """One line for the monthly SLA review: response SLA met, uptime vs target, incidents.

    Percentages are cut, not rounded: a month with a breach never reads "100%". A probe
    without samples is named as such, never counted as having met its target.
    """
    met = sum(a.response_met for a in report.sla)
    total = sum(a.response_total for a in report.sla)
    breaches = sum(len(a.breaches) for a in report.sla)
    below = [u.probe for u in report.uptime if u.met is False]
    blind = [u.probe for u in report.uptime if u.met is None]
    parts = [
        f"response SLA met {100 * met // total}% "
        f"({breaches} {'breach' if breaches == 1 else 'breaches'})"
        if total
        else "no decided response SLAs in 30 days"
    ]
    if below:
        parts.append(f"below uptime target: {', '.join(below)}")
    if not report.uptime:
        parts.append("no probe data in 30 days")
    elif blind:
        parts.append(f"no probe data: {', '.join(blind)}")
    elif not below:
        parts.append("every probe met its uptime target")
    count = report.incidents.count
    parts.append(f"{count} {'incident' if count == 1 else 'incidents'}")
    return "; ".join(parts)
