"""Hunt: ``opsconsole tickets list`` as a support engineer runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_a_negative_limit_is_refused_not_an_empty_queue(tmp_path: Path) -> None:
    """``--limit -1`` printed an empty queue and exited 0, as if nothing were open."""
    db = str(tmp_path / "t.db")
    proc = run("tickets", "list", "--limit", "-1", "--db", db, cwd=tmp_path)
    assert proc.returncode == 2
    assert "--limit: must not be negative" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    bad = run("tickets", "list", "--limit", "ten", "--db", db, cwd=tmp_path)
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_status_choices_are_listed_once(tmp_path: Path) -> None:
    """``open`` was offered twice in the usage line."""
    proc = run("tickets", "list", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "{open,all,new,pending_customer,escalated,resolved,closed}" in proc.stdout


def test_an_empty_queue_says_so(tmp_path: Path) -> None:
    """An empty database printed only the header; JSON stays an empty array."""
    db = str(tmp_path / "t.db")
    text = run("tickets", "list", "--db", db, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1] == "no open tickets"
    resolved = run("tickets", "list", "--status", "resolved", "--db", db, cwd=tmp_path)
    assert resolved.stdout.splitlines()[-1] == "no resolved tickets"
    listed = run("tickets", "list", "--json", "--limit", "0", "--db", db, cwd=tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_long_sla_labels_keep_the_subject_column(tmp_path: Path) -> None:
    """A paused, overdue ticket's label ("resp paused · overdue by 1d01h") is longer than
    the 28-character SLA column was, and pushed its subject out of line."""
    import asyncio
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.core.tickets import Status

    from ticket_fixtures import first_message, seed_tickets, ticket_config

    now = datetime.now(UTC)
    base = seed_tickets(ticket_config(tmp_path))[1]  # high: 4 h response

    async def seed() -> None:
        store = await SqliteStore.open(tmp_path / "t.db")
        for n, (subject, received, pauses) in enumerate(
            [
                ("paused and late", now - timedelta(days=12), ((now - timedelta(hours=1), None),)),
                ("plain", now - timedelta(minutes=5), ()),
            ]
        ):
            ticket = replace(
                base,
                subject=subject,
                received_at=received,
                pauses=pauses,
                status=Status.PENDING_CUSTOMER if pauses else Status.NEW,
                next_due=None,
            )
            await store.create_ticket(ticket, first_message(ticket, n), actor="seed")
        await store.close()

    asyncio.run(seed())
    proc = run("tickets", "list", "--db", str(tmp_path / "t.db"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    column = lines[0].index("SUBJECT")
    rows = {line[column:]: line for line in lines[1:]}
    assert set(rows) == {"paused and late", "plain"}, lines
    assert "resp paused · overdue by " in rows["paused and late"]


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """``opsconsole tickets list | head -1`` on a long queue: the closed pipe ended in a
    BrokenPipeError (a traceback, exit 1) instead of a quiet exit."""
    import asyncio
    from dataclasses import replace

    from opsconsole.adapters.sqlite_store import SqliteStore

    from ticket_fixtures import seed_tickets, ticket_config

    base = seed_tickets(ticket_config(tmp_path))

    async def seed() -> None:
        store = await SqliteStore.open(tmp_path / "t.db")
        await store.bulk_insert_tickets(
            [replace(base[n % len(base)], subject=f"ticket {n}") for n in range(3000)]
        )
        await store.close()

    asyncio.run(seed())
    for extra in ((), ("--json",)):
        proc = subprocess.Popen(
            [str(OPSCONSOLE), "tickets", "list", "--limit", "3000", *extra, "--db", "t.db"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # as head does after its line
        error = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(timeout=60) == 0, error
        assert first and "BrokenPipe" not in error and "Traceback" not in error, error
