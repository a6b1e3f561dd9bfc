"""``opsconsole tickets import PATH`` and ``opsconsole tickets list``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.store import TicketQuery
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Status, Ticket


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``tickets import`` and ``tickets list``."""
    tickets = sub.add_parser("tickets", help="the support ticket queue", description="Tickets.")
    actions = tickets.add_subparsers(dest="tickets_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import",
        help="import a Maildir, an mbox, or .eml files",
        description="Import mail into the queue. Idempotent by Message-ID. Prints counts of "
        "imported, threaded, duplicate, rejected and ignored messages; exits non-zero only when "
        "PATH is unreadable.",
    )
    imp.add_argument("path", type=Path, help="a Maildir, an mbox file, a .eml file or a directory")
    imp.add_argument("-v", "--verbose", action="store_true", help="one line per message")
    common(imp)
    lst = actions.add_parser(
        "list", help="list tickets", description="List tickets, most urgent first."
    )
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.add_argument(
        "--status",
        choices=["open", "all", *(s.value for s in Status if s is not Status.OPEN)],
        default="open",
        help="which tickets (default: open ones)",
    )
    lst.add_argument(
        "--limit",
        type=_limit,
        default=1000,
        metavar="N",
        help="at most this many (default 1000; 0 prints none)",
    )
    common(lst)


def _limit(text: str) -> int:
    """``--limit``: a whole number, not negative (SQLite reads a negative LIMIT as none,
    and the store as zero: ``--limit -1`` printed an empty queue and exited 0)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def run(args: argparse.Namespace, config: Config, db: Path) -> int:
    """Dispatch ``tickets …``."""
    if args.tickets_command == "import":
        return asyncio.run(_import(args, config, db))
    return asyncio.run(_list(args, config, db))


async def _open(config: Config, db: Path) -> Any:
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.tickets.runtime import make_sender
    from opsconsole.tickets.service import TicketService

    store = await SqliteStore.open(db)
    service = TicketService(store, config, sender=make_sender(config))
    try:
        await refresh_deadlines(service)
    except BaseException:
        await store.close()
        raise
    return store, service


async def refresh_deadlines(service: Any) -> None:
    """Recompute the stored deadlines if ``sla:`` changed since the last run; a database
    that refuses the write (read-only media) is a one-line warning, and the command goes
    on in the stored order."""
    try:
        await service.refresh_deadlines()
    except Exception as exc:
        reason = sanitize_terminal(str(exc), single_line=True)
        print(f"opsconsole: warning: SLA deadlines not recomputed: {reason}", file=sys.stderr)


async def _import(args: argparse.Namespace, config: Config, db: Path) -> int:
    from opsconsole.adapters.mail import MailSourceError
    from opsconsole.tickets.intake import import_path

    store, service = await _open(config, db)
    try:
        report = await import_path(service, args.path)
    except MailSourceError as exc:
        print(f"opsconsole: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    for result in report.results:
        if args.verbose or result.outcome == "rejected":
            where = f"#{result.number}" if result.number else ""
            reason = sanitize_terminal(result.reason, single_line=True, limit=160)
            source = sanitize_terminal(result.source, single_line=True, limit=80)
            print(f"{result.outcome:<9} {source} {where} {reason}".rstrip())
    print(report.summary())
    return 0


def ticket_json(ticket: Ticket, service: Any) -> dict[str, Any]:
    """The ``tickets list --json`` object."""
    sla = service.sla(ticket)
    label, state = sla_clock(sla, ticket)
    return {
        "id": ticket.number,
        "subject": ticket.subject,
        "requester": {
            "name": ticket.requester.name,
            "address": ticket.requester.address,
            "company": ticket.requester.company,
        },
        "received_at": ticket.received_at.isoformat(),
        "category": ticket.category.value,
        "severity": ticket.severity.value,
        "status": ticket.status.value,
        "assignee": ticket.assignee,
        "level": ticket.level.value,
        "response_due": sla.response.due.isoformat() if sla.response.due else None,
        "resolution_due": sla.resolution.due.isoformat() if sla.resolution.due else None,
        "sla_state": state.value,
        "sla": label,
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "triage_rule": ticket.triage_rule,
        "tags": list(ticket.tags),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _list(args: argparse.Namespace, config: Config, db: Path) -> int:
    store, service = await _open(config, db)
    try:
        if args.status == "open":
            query = TicketQuery(open_only=True, limit=args.limit)
        elif args.status == "all":
            query = TicketQuery(limit=args.limit)
        else:
            query = TicketQuery(statuses=frozenset({Status(args.status)}), limit=args.limit)
        tickets = await store.list_tickets(query)
    finally:
        await store.close()
    if args.json:
        return _emit([json.dumps([ticket_json(t, service) for t in tickets], indent=2)])
    # The SLA column fits the longest labels ("resp paused · overdue by 12d03h"): at 28
    # they pushed the subject out of its column.
    lines = [f"{'#':<6} {'SEV':<8} {'CATEGORY':<9} {'STATUS':<16} {'SLA':<32} SUBJECT"]
    for t in tickets:
        label, _ = sla_clock(service.sla(t), t)
        subject = sanitize_terminal(t.subject, single_line=True, limit=70)
        lines.append(
            f"#{t.number:<5} {t.severity.value:<8} {t.category.value:<9} "
            f"{t.status.value:<16} {label:<32} {subject}"
        )
    if not tickets:
        which = "" if args.status == "all" else f"{args.status} "
        lines.append(f"no {which}tickets" if args.limit else "no tickets (--limit 0)")
    return _emit(lines)


def _emit(lines: list[str]) -> int:
    """Print ``lines`` (a reader that stops early, ``tickets list | head``, ends in
    BrokenPipeError, which :func:`opsconsole.cli.main` treats as a normal end)."""
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0
