"""The history database against files it must not touch and text it cannot encode.

Real SQLite files in tmp_path, real processes for the CLI; no mocks. Each test failed
before its fix:

* a newer-schema file was switched to WAL (rewritten) before the version check refused it;
* another application's SQLite file got opsconsole's eleven tables added to it;
* a ``--db`` whose parent is a file (or cannot be created) raised a bare ``OSError``: the
  CLI printed a traceback instead of one line;
* a ``str`` holding a lone surrogate (a JSON ``"\\ud800"`` escape, ``surrogateescape``d
  argv) failed the write with ``UnicodeEncodeError`` (not even a ``StoreError``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsconsole.adapters.sqlite_store import SCHEMA_VERSION, SqliteStore, StoreError
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.core.store import TicketQuery
from opsconsole.core.tickets import (
    Category,
    Direction,
    Requester,
    Severity,
    ThreadMessage,
    Ticket,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


def make_foreign(path: Path, *, user_version: int = 0) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.com/')")
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.commit()


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# -- files that are not ours to change ---------------------------------------------------


async def test_newer_schema_is_refused_without_changing_a_byte(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:  # rollback journal, as made
        conn.execute("CREATE TABLE probe_results (id INTEGER PRIMARY KEY, future TEXT)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
        conn.commit()
    before = digest(path)
    with pytest.raises(StoreError) as excinfo:
        await SqliteStore.open(path)
    message = str(excinfo.value)
    assert "\n" not in message and "newer" in message
    assert digest(path) == before  # was switched to WAL mode (header rewritten)
    assert sql(path, "PRAGMA journal_mode") == [("delete",)]
    assert siblings(path) == ["future.db"]


@pytest.mark.parametrize("user_version", [0, 3])
async def test_another_applications_database_is_refused_and_left_alone(
    tmp_path: Path, user_version: int
) -> None:
    path = tmp_path / "places.sqlite"
    make_foreign(path, user_version=user_version)
    before = digest(path)
    with pytest.raises(StoreError) as excinfo:
        await SqliteStore.open(path)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "not an opsconsole database" in message and "moz_places" in message
    assert digest(path) == before
    tables = sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert tables == [("moz_places",)]  # opsconsole's 11 tables were added before
    assert sql(path, "PRAGMA user_version") == [(user_version,)]


async def test_empty_and_own_files_still_open(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    async with await SqliteStore.open(empty) as store:
        await store.record_probe_result(ProbeResult("api", NOW, Outcome.OK))
    async with await SqliteStore.open(empty) as store:  # reopened: ours now
        assert list(await store.latest_results()) == ["api"]
    assert sql(empty, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_parent_that_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StoreError) as excinfo:  # FileExistsError before
        await SqliteStore.open(blocker / "sub" / "ops.db")
    message = str(excinfo.value)
    assert "\n" not in message and "cannot open" in message


def test_cli_prints_one_line_for_an_unusable_db_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    done = subprocess.run(
        [str(OPSCONSOLE), "tickets", "list", "--db", str(blocker / "ops.db")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsconsole: history database: cannot open")


def test_cli_refuses_a_foreign_database_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    make_foreign(path)
    before = digest(path)
    done = subprocess.run(
        [str(OPSCONSOLE), "tickets", "list", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "not an opsconsole database" in done.stderr
    assert digest(path) == before


# -- text SQLite cannot encode -------------------------------------------------------------

LONE = "\ud800"
PAIR = "\ud83d\ude00"  # a surrogate pair spelled as two code units: 😀


def ticket(subject: str) -> tuple[Ticket, ThreadMessage]:
    t = Ticket(
        0,
        subject,
        Requester(f"Ann {LONE}", f"ann{LONE}@example.com"),
        NOW,
        Category.BUG,
        Severity.HIGH,
    )
    message = ThreadMessage(
        Direction.INBOUND, NOW, "ann@example.com", f"body {LONE}", message_id=f"<{LONE}@x>"
    )
    return t, message


async def test_lone_surrogates_are_stored_as_replacement_characters(tmp_path: Path) -> None:
    async with await SqliteStore.open(tmp_path / "ops.db") as store:
        new, first = ticket(f"broken {LONE} and paired {PAIR}")
        stored = await store.create_ticket(new, first, actor="mail")  # UnicodeEncodeError
        assert stored.subject == "broken \ufffd and paired 😀"
        assert stored.requester.address == "ann\ufffd@example.com"
        assert stored.thread[0].body == "body \ufffd"
        # The same message id is recognised again (the lookup is cleaned the same way).
        assert await store.find_ticket_by_message_id(f"<{LONE}@x>") == stored.number
        again = await store.create_ticket(new, first, actor="mail")
        assert again.number == stored.number
        found = await store.list_tickets(TicketQuery(text=f"broken {LONE}"))
        assert [t.number for t in found] == [stored.number]

        await store.record_probe_result(
            ProbeResult(f"api{LONE}", NOW, Outcome.ERROR, error="bad \udcff byte")
        )
        latest = await store.latest_results()
        assert latest["api\ufffd"].error == "bad \ufffd byte"

        incident = await store.create_incident(
            Incident(
                id=0,
                title=f"outage {LONE}",
                component="api",
                severity=IncidentSeverity.HIGH,
                status=IncidentStatus.INVESTIGATING,
                started_at=NOW,
            ),
            actor="oncall",
        )
        entry = await store.append_timeline(
            incident.id, TimelineEntry(at=NOW, kind=EntryKind.NOTE, text=f"note {LONE}")
        )
        assert entry.text in (f"note {LONE}", "note \ufffd")
        reread = await store.get_incident(incident.id)
        assert reread is not None
        assert reread.title == "outage \ufffd"
        assert reread.timeline[-1].text == "note \ufffd"
    assert sql(tmp_path / "ops.db", "PRAGMA integrity_check") == [("ok",)]


# -- several processes opening one fresh file ------------------------------------------------


def _open_once(path: str, barrier: object, results: object) -> None:
    async def go() -> None:
        store = await SqliteStore.open(Path(path))
        await store.record_probe_result(ProbeResult("api", NOW, Outcome.OK))
        await store.close()

    barrier.wait()  # type: ignore[attr-defined]
    try:
        asyncio.run(go())
        results.put("ok")  # type: ignore[attr-defined]
    except BaseException as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_processes_creating_one_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    """The foreign-file check reads version and tables in one snapshot: a process that
    looks while another is migrating must not take the half-made file for a foreign one."""
    ctx = multiprocessing.get_context("spawn")
    count = 5
    for round_ in range(2):
        path = tmp_path / f"fresh{round_}.db"
        barrier = ctx.Barrier(count)
        results = ctx.Queue()
        workers = [
            ctx.Process(target=_open_once, args=(str(path), barrier, results)) for _ in range(count)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(30)
        assert outcomes == ["ok"] * count
        assert sql(path, "SELECT count(*) FROM probe_results") == [(count,)]
        assert sql(path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_row_with_invalid_utf8_does_not_break_the_queue(tmp_path: Path) -> None:
    """Before: "Could not decode to UTF-8 column 'subject'" for every page holding the row
    (and for the ticket itself), for ever."""
    path = tmp_path / "ops.db"
    async with await SqliteStore.open(path) as store:
        numbers = []
        for i in range(3):
            new, first = ticket(f"subject {i}")
            first = replace(first, message_id=f"<m{i}@example.com>")
            numbers.append((await store.create_ticket(new, first, actor="mail")).number)
        with contextlib.closing(sqlite3.connect(path)) as conn:  # another tool writes bytes
            conn.execute(
                "UPDATE tickets SET subject = CAST(x'41ff42' AS TEXT) WHERE number = ?",
                (numbers[1],),
            )
            conn.commit()
        page = await store.list_tickets(TicketQuery())
        assert [t.subject for t in page] == ["subject 0", "A\ufffdB", "subject 2"]
        broken = await store.get_ticket(numbers[1])
        assert broken is not None and broken.subject == "A\ufffdB"
        updated = await store.update_ticket(numbers[1], {"assignee": "ann"}, actor="ann", at=NOW)
        assert updated.assignee == "ann"
