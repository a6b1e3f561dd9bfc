"""Crash safety (issue 7 item 1, RELIABILITY-AND-PERFORMANCE.md §A2 test 1).

A writer process records probe results, imports tickets (``TicketService.ingest`` of raw
mail) and appends incident timeline entries, logging each write only after it returned.
The test SIGKILLs it at random points KILLS times, reusing one database, and after every
kill checks ``PRAGMA integrity_check`` and that every acknowledged write is still there.

Children start from a ``forkserver`` that preloads opsconsole once: a ``spawn`` child
spends 0.6-1 s importing opsconsole and pydantic, which would make 100 kills take about
two minutes on a 2-CPU runner. The forkserver is a fresh interpreter that never opens a
database, so no SQLite handle crosses a fork (sqlite.org/howtocorrupt.html §2.6) and each
writer is as clean as a spawned one. ``OPSCONSOLE_CRASH_START=spawn`` runs the test with
``spawn`` instead.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import reliability_workers
from reliability_workers import CRASH_PROBE, crash_writer

KILLS = 100
EARLY_KILLS = 0.1
"""The share of kills that do not wait for the writer to be ready: they land while it
opens (and, the first time, creates and migrates) the database."""
PRELOAD = (
    "opsconsole.adapters.mail",
    "opsconsole.adapters.sqlite_store",
    "opsconsole.config.loader",
    "opsconsole.tickets.intake",
    "opsconsole.tickets.service",
)
"""What the forkserver imports once. Python 3.11's forkserver ignores the parent's
``sys.path``, so test-only modules cannot be preloaded (they are cheap to import)."""
MAX_RUN = 0.25
"""The longest a writer runs (seconds) before it is killed."""


def _acknowledged(log: Path) -> dict[str, set[str]]:
    acks: dict[str, set[str]] = {"probe": set(), "mail": set(), "timeline": set()}
    if not log.exists():
        return acks
    for line in log.read_text().splitlines(keepends=True):
        if line.endswith("\n"):  # one os.write per line, so never torn; but be strict
            kind, _, value = line.rstrip("\n").partition(" ")
            acks[kind].add(value)
    return acks


def _check(path: Path, log: Path) -> dict[str, int]:
    """Integrity, all-or-nothing, and every acknowledged write present; the ack counts."""
    acks = _acknowledged(log)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'probe_results'").fetchall():
            assert not any(acks.values()), "acknowledged writes but no schema"
            return {kind: 0 for kind in acks}
        probes = {
            e
            for (e,) in db.execute(
                "SELECT error FROM probe_results WHERE probe = ?", (CRASH_PROBE,)
            )
        }
        assert len(probes) >= len(acks["probe"])
        assert acks["probe"] <= probes, sorted(acks["probe"] - probes)[:5]
        # the result and its hourly rollup are one transaction
        (rolled,) = db.execute("SELECT coalesce(sum(total), 0) FROM probe_rollups").fetchone()
        (results,) = db.execute("SELECT count(*) FROM probe_results").fetchone()
        assert rolled == results
        imported = {
            mid
            for (mid,) in db.execute(
                "SELECT m.message_id FROM messages m JOIN tickets t ON t.number = m.ticket"
            )
        }
        assert acks["mail"] <= imported, sorted(acks["mail"] - imported)[:5]
        # a ticket is its row, first message and "created" audit entry, or nothing
        (tickets,) = db.execute("SELECT count(*) FROM tickets").fetchone()
        (created,) = db.execute("SELECT count(*) FROM audit WHERE field = 'created'").fetchone()
        assert tickets == created == len(imported)
        texts = {t for (t,) in db.execute("SELECT text FROM incident_timeline")}
        assert acks["timeline"] <= texts, sorted(acks["timeline"] - texts)[:5]
        active = db.execute("SELECT count(*) FROM incidents WHERE status != 'resolved'").fetchone()
        assert active[0] <= 1
    return {kind: len(values) for kind, values in acks.items()}


def test_sigkill_at_random_points_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path, log = tmp_path / "crash.db", tmp_path / "acknowledged.log"
    method = os.environ.get("OPSCONSOLE_CRASH_START", "forkserver")
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload([*PRELOAD, reliability_workers.__name__])
    rng = random.Random(7)
    started = time.monotonic()
    early = 0
    counts: dict[str, int] = {}
    for kill in range(KILLS):
        ready = ctx.Event()
        child = ctx.Process(  # type: ignore[attr-defined]
            target=crash_writer, args=(str(path), str(log), ready, kill)
        )
        child.start()
        if rng.random() < EARLY_KILLS:
            early += 1
            time.sleep(rng.uniform(0, 0.05))
        else:
            assert ready.wait(30), "writer did not start"
            time.sleep(rng.uniform(0, MAX_RUN))
        assert child.is_alive(), f"writer {kill} died on its own: exit code {child.exitcode}"
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
        counts = _check(path, log)
    elapsed = time.monotonic() - started
    assert counts["probe"] > KILLS and counts["mail"] > KILLS // 2 and counts["timeline"] > 0
    print(
        f"\n{KILLS} SIGKILLs ({early} while opening, {method}) in {elapsed:.1f} s: "
        f"acknowledged {counts['probe']} probe results, {counts['mail']} imported mails, "
        f"{counts['timeline']} timeline entries; all present, integrity ok after every kill"
    )
