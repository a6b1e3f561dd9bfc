"""``opsconsole checklist``, ``opsconsole handover`` and ``opsconsole report``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.durations import DurationError, parse_duration


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the three commands."""
    checklist = sub.add_parser(
        "checklist",
        help="run the automatic checklist items and print today's state",
        description="Verify today's start-of-shift checklist (plus weekly/monthly items that "
        "are due) and store the run. Exit 1 when any automatic item fails.",
    )
    checklist.add_argument("--json", action="store_true", help="print a JSON document")
    common(checklist)
    handover = sub.add_parser(
        "handover",
        help="print the shift handover (Slack-ready Markdown)",
        description="Poll every source once and print the shift handover.",
    )
    handover.add_argument("--notes", default="", help="notes for the next shift")
    handover.add_argument("--output", type=Path, help="also write it to this file")
    common(handover)
    report = sub.add_parser(
        "report",
        help="uptime, SLA attainment, ticket volume and incidents",
        description="A report over the stored history.",
    )
    report.add_argument("--since", default="30d", help="how far back (default 30d)")
    report.add_argument("--format", choices=["md", "json"], default="md")
    common(report)


def run(args: argparse.Namespace, config: Config, db: Path) -> int:
    """Dispatch."""
    return asyncio.run(_run(args, config, db))


async def _run(args: argparse.Namespace, config: Config, db: Path) -> int:
    from opsconsole.adapters.sqlite_store import SqliteStore

    store = await SqliteStore.open(db)
    try:
        if args.command == "report":
            return await _report(args, config, store)
        if args.command == "handover":
            return await _handover(args, config, store)
        return await _checklist(args, config, store)
    finally:
        await store.close()


async def _report(args: argparse.Namespace, config: Config, store: Any) -> int:
    from opsconsole.core.clock import system_clock
    from opsconsole.core.report_render import render_report_md, report_json
    from opsconsole.reporting import make_report

    try:
        since = parse_duration(args.since)
    except DurationError as exc:
        print(f"opsconsole: --since: {exc}", file=sys.stderr)
        return 2
    report = await make_report(store, config, since=since, now=system_clock())
    if args.format == "json":
        print(json.dumps(report_json(report), indent=2))
    else:
        print(render_report_md(report, config.tz))
    return 0


async def _live(config: Config) -> tuple[list[Any], dict[str, Any]]:
    """Probe once and poll every source once."""
    from opsconsole.status_report import collect

    return await collect(config)


async def _handover(args: argparse.Namespace, config: Config, store: Any) -> int:
    from opsconsole.cli import one_shot_state_for
    from opsconsole.cli_tickets import refresh_deadlines
    from opsconsole.core.clock import system_clock
    from opsconsole.core.sources import AlertsSnapshot
    from opsconsole.reporting import make_handover
    from opsconsole.tickets.service import TicketService

    # The at-risk list reads the open tickets most urgent first, by their stored deadline:
    # recompute it first if sla: changed since the last run.
    await refresh_deadlines(TicketService(store, config))
    results, statuses = await _live(config)
    probes = [(r.probe, one_shot_state_for(r), r.reason) for r in results]
    alerts = statuses.get("alerts")
    data = alerts.data if alerts is not None else None
    text = await make_handover(
        store=store,
        config=config,
        now=system_clock(),
        probes=probes,
        alerts=data if isinstance(data, AlertsSnapshot) else None,
        notes=args.notes,
        alerts_error=alerts.error if alerts is not None else None,
    )
    print(text)
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            from opsconsole.core.text import sanitize_terminal

            reason = exc.strerror or str(exc)
            line = f"opsconsole: --output: cannot write {args.output}: {reason}"
            print(sanitize_terminal(line, single_line=True), file=sys.stderr)
            return 1
    return 0


async def _checklist(args: argparse.Namespace, config: Config, store: Any) -> int:
    from dataclasses import replace

    from opsconsole.core.checklists import (
        Cadence,
        ItemStatus,
        checklist_exit_code,
        evaluate,
        todays_items,
    )
    from opsconsole.core.clock import system_clock
    from opsconsole.core.text import sanitize_terminal
    from opsconsole.facts import gather_facts

    results, statuses = await _live(config)
    now = system_clock()

    class _Engine:  # the one-shot probe results, shaped like the engine's statuses
        def statuses(self) -> list[Any]:
            from opsconsole.cli import probe_status_of

            return [probe_status_of(r) for r in results]

    sources = {name: (s.data, s.error) for name, s in statuses.items()}
    checklists = config.checklists
    today = now.astimezone(config.tz).date()
    last_done = await store.last_done_dates(tz=config.tz)
    due = todays_items(
        checklists.all_items(),
        today,
        weekly_day=checklists.weekly_day,
        monthly_day=checklists.monthly_day,
        last_done=last_done,
    )
    facts = await gather_facts(
        now=now,
        config=config,
        engine=_Engine(),
        sources=sources,
        store=store,
        with_sla=any(item.auto == "sla_review" for item, _ in due),
    )
    run_id = await store.start_checklist_run(f"{config.operator.name} (cli)", now)
    evaluated = []
    for item, overdue in due:
        result = evaluate(item, facts)
        if (
            result.status is ItemStatus.MANUAL
            and item.cadence is not Cadence.DAILY
            and last_done.get(item.key) == today
        ):
            result = replace(result, status=ItemStatus.DONE)  # ticked earlier today
        if overdue:
            result = replace(result, overdue=True)
        evaluated.append(result)
        await store.record_checklist_item(run_id, result, now)
    await store.finish_checklist_run(run_id, now)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": r.key,
                        "text": r.text,
                        "cadence": r.cadence.value,
                        "status": r.status.value,
                        "evidence": r.evidence,
                        "overdue": r.overdue,
                    }
                    for r in evaluated
                ],
                indent=2,
            )
        )
    else:
        for r in evaluated:
            late = " OVERDUE" if r.overdue else ""
            evidence = f" — {r.evidence}" if r.evidence.strip() else ""
            line = f"{r.status.value.upper():<8} {r.text}{late}{evidence}"
            print(sanitize_terminal(line, single_line=True, limit=240))
    return checklist_exit_code(evaluated)
