"""``opsconsole incident start|update|status|resolve|list`` — incident mode from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.incidents import (
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    duration_label,
    incident_metrics,
    mean_time_to_resolve,
    parse_customers,
    parse_failing,
)
from opsconsole.core.placeholders import unfilled_placeholders
from opsconsole.core.text import sanitize_terminal


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the ``incident`` subcommands."""
    incident = sub.add_parser(
        "incident", help="incident mode from the shell", description="Incident mode (guide §8)."
    )
    actions = incident.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="declare an incident", description="Declare.")
    start.add_argument("--title", required=True)
    start.add_argument("--component", default="API")
    start.add_argument("--severity", choices=["critical", "high"], default="critical")
    start.add_argument("--customers", type=_customers, help="customers affected")
    start.add_argument("--failing", type=_failing, help="%% of requests failing (0-100)")
    update = actions.add_parser(
        "update",
        help="send a stakeholder update",
        description="Record a stakeholder update and post it to Slack (the same path as the "
        "console's prompt). Without --message the guide's Step 2 update is composed; "
        "in later updates its Step 5 lines come from --next-steps, --eta and "
        "--customer-action, and a line without one is left out (never sent as a "
        "placeholder).",
    )
    update.add_argument("--message", help="the update text")
    update.add_argument("--next-steps", default="", help="Step 5: what happens next")
    update.add_argument("--eta", default="", help="Step 5: expected resolution time")
    update.add_argument(
        "--customer-action", default="", help="Step 5: what customers need to do, if anything"
    )
    update.add_argument("--no-slack", action="store_true", help="record only")
    change = actions.add_parser(
        "set",
        help="change the active incident's status, severity or impact",
        description="Change the active incident as it develops; each change is a timeline "
        "entry. --status monitoring starts the all-clear's monitoring window.",
    )
    change.add_argument(
        "--status", choices=[s.value for s in IncidentStatus if s is not IncidentStatus.RESOLVED]
    )
    change.add_argument("--severity", choices=[s.value for s in IncidentSeverity])
    change.add_argument(
        "--customers", type=_customers, default=_KEEP, help="customers affected ('' unknown)"
    )
    change.add_argument(
        "--failing", type=_failing, default=_KEEP, help="%% of requests failing ('' unknown)"
    )
    status = actions.add_parser("status", help="the active incident", description="Status.")
    status.add_argument("--json", action="store_true")
    resolve = actions.add_parser(
        "resolve",
        help="send the all-clear and write the review",
        description="Send the all-clear and write the post-incident review. Never prompts.",
    )
    resolve.add_argument("--root-cause", default="")
    resolve.add_argument("--fix", default="")
    resolve.add_argument(
        "--override", default="", help="reason to skip the 30-minute monitoring window"
    )
    resolve.add_argument("--no-slack", action="store_true", help="record only")
    lst = actions.add_parser("list", help="past incidents", description="Incident history.")
    lst.add_argument("--json", action="store_true")
    for parser in (start, update, change, status, resolve, lst):
        common(parser)


_KEEP: Any = object()
"""``incident set`` without --customers/--failing keeps that part of the impact."""


def _customers(text: str) -> int | None:
    try:
        return parse_customers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _failing(text: str) -> float | None:
    try:
        return parse_failing(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace, config: Config, db: Path) -> int:
    """Dispatch; errors are one line on stderr with exit 1."""
    return asyncio.run(_run(args, config, db))


async def _run(args: argparse.Namespace, config: Config, db: Path) -> int:
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.incidents.service import IncidentError, IncidentService

    store = await SqliteStore.open(db)
    slack = None
    if config.incident.slack is not None:
        from opsconsole.adapters.slack import SlackWebhook

        slack = SlackWebhook(config.incident.slack.webhook.get_secret_value())
    service = IncidentService(store, config, slack=slack)
    try:
        return await _dispatch(args, service)
    except IncidentError as exc:
        print(f"opsconsole: {sanitize_terminal(str(exc), single_line=True)}", file=sys.stderr)
        return 1
    finally:
        if slack is not None:
            await slack.aclose()
        await store.close()


async def _dispatch(args: argparse.Namespace, service: Any) -> int:
    command = args.incident_command
    if command == "start":
        impact = Impact(customers=args.customers, failing_percent=args.failing)
        incident = await service.declare(
            args.title, args.component, IncidentSeverity(args.severity), impact
        )
        print(f"incident #{incident.id} declared; first update due {_due(service, incident)}")
        return 0
    if command == "update":
        incident = await _active(service)
        step_5 = (args.next_steps, args.eta, args.customer_action)
        text = args.message or service.draft_update(incident, step_5=step_5, placeholders=False)
        if args.message:
            _note_placeholders(unfilled_placeholders(text), "the message still holds")
        else:
            drafted = service.draft_update(incident, step_5=step_5)
            _note_placeholders(
                unfilled_placeholders(drafted), "left out (no --next-steps/--eta/--customer-action)"
            )
        entry = await service.send_update(text, slack=not args.no_slack)
        print(f"update recorded on incident #{incident.id} ({entry.delivery})")
        return 0
    if command == "set":
        return await _set(args, service)
    if command == "status":
        incident = await _active(service)
        if args.json:
            print(json.dumps(incident_json(incident, service), indent=2))
        else:
            state, _ = service.update_state(incident)
            print(
                f"#{incident.id} {incident.status.value} {incident.severity.value}: "
                f"{sanitize_terminal(incident.title, single_line=True)} — next update "
                f"{_due(service, incident)} ({state.value})"
            )
        return 0
    if command == "resolve":
        # No active incident: resolve() says so, or who resolved the last one and when.
        active: Incident | None = await service.active()
        left: list[str] = []
        if active is not None:
            filled = replace(active, root_cause=args.root_cause, fix=args.fix)
            left = unfilled_placeholders(service.draft_all_clear(filled))
        closed, path = await service.resolve(
            root_cause=args.root_cause,
            fix=args.fix,
            override=args.override,
            slack=not args.no_slack,
            incident_id=None if active is None else active.id,
        )
        print(f"incident #{closed.id} resolved; review written to {path}")
        _note_placeholders(left, "the all-clear said (pass --root-cause and --fix)")
        return 0
    incidents = await service.store.list_incidents(limit=100)
    if args.json:
        print(json.dumps([incident_json(i, service) for i in incidents], indent=2))
    else:
        now = service.clock()
        for item in incidents:
            metrics = incident_metrics(item, service.every, now)
            first = (
                "—"
                if metrics.time_to_first_update is None
                else duration_label(metrics.time_to_first_update)
            )
            kept = "—" if metrics.cadence_kept is None else f"{metrics.cadence_kept:.0f}%"
            print(
                f"#{item.id} {item.status.value:<13} {item.started_at:%Y-%m-%d %H:%M} UTC  "
                f"duration {duration_label(metrics.duration)}  first update {first}  "
                f"cadence kept {kept}  "
                f"{sanitize_terminal(item.title, single_line=True, limit=80)}"
            )
        mttr = mean_time_to_resolve(incidents)
        if mttr is not None:
            resolved = sum(1 for i in incidents if not i.active)
            print(f"MTTR {duration_label(mttr)} over {resolved} resolved")
    return 0


async def _set(args: argparse.Namespace, service: Any) -> int:
    """``incident set``: each given change, in the order status, severity, impact."""
    if (args.status, args.severity, args.customers, args.failing) == (None, None, _KEEP, _KEEP):
        print("opsconsole: nothing to change: give --status, --severity, --customers or --failing",
              file=sys.stderr)  # fmt: skip
        return 2
    incident = await _active(service)
    if args.status is not None and args.status != incident.status.value:
        incident = await service.set_status(IncidentStatus(args.status))
    if args.severity is not None:
        incident = await service.set_severity(IncidentSeverity(args.severity))
    if args.customers is not _KEEP or args.failing is not _KEEP:
        impact = replace(
            incident.impact,
            customers=incident.impact.customers if args.customers is _KEEP else args.customers,
            failing_percent=(
                incident.impact.failing_percent if args.failing is _KEEP else args.failing
            ),
        )
        if impact != incident.impact:
            incident = await service.set_impact(impact)
    print(
        f"#{incident.id} {incident.status.value} {incident.severity.value}: "
        f"impact {sanitize_terminal(incident.impact.label(), single_line=True)}"
    )
    return 0


def _note_placeholders(left: list[str], what: str) -> None:
    """One stderr line naming guide placeholders that are not filled in."""
    if left:
        print(f"opsconsole: note: {what}: {', '.join(left)}", file=sys.stderr)


async def _active(service: Any) -> Incident:
    from opsconsole.incidents.service import IncidentError

    incident: Incident | None = await service.active()
    if incident is None:
        raise IncidentError("no active incident")
    return incident


def _due(service: Any, incident: Incident) -> str:
    due: datetime = service.next_update(incident)
    return due.strftime("%H:%M UTC")


def incident_json(incident: Incident, service: Any) -> dict[str, Any]:
    """An incident as JSON (no webhook URLs anywhere)."""
    metrics = incident_metrics(incident, service.every, service.clock())
    state, _ = service.update_state(incident)
    return {
        "id": incident.id,
        "title": incident.title,
        "component": incident.component,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "started_at": incident.started_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "impact": {
            "customers": incident.impact.customers,
            "failing_percent": incident.impact.failing_percent,
        },
        "next_update_due": service.next_update(incident).isoformat(),
        "update_state": state.value if incident.active else None,
        "duration_seconds": metrics.duration.total_seconds(),
        "time_to_first_update_seconds": (
            metrics.time_to_first_update.total_seconds()
            if metrics.time_to_first_update is not None
            else None
        ),
        "cadence_kept_percent": metrics.cadence_kept,
        "time_to_resolve_seconds": (
            metrics.mttr.total_seconds() if metrics.mttr is not None else None
        ),
        "review_path": incident.review_path,
        "review_due": incident.review_due.isoformat() if incident.review_due else None,
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind.value, "text": e.text, "delivery": e.delivery}
            for e in incident.timeline
        ],
    }
