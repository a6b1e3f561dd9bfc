"""Child-process bodies for the crash-safety and concurrency tests.

Kept apart from the test modules so a child imports only opsconsole and the ticket
fixtures (no pytest), and so the crash test's forkserver can preload them once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.core.store import TicketConflict, TicketQuery
from opsconsole.core.tickets import Severity
from opsconsole.tickets.service import TicketService

from ticket_fixtures import raw_mail, ticket_config

CRASH_PROBE = "crash"
"""Probe name of the crash writer's results; each result's ``error`` is its ack id."""


# -- crash safety ------------------------------------------------------------------------


def crash_writer(path: str, log: str, ready: Any, seed: int) -> None:
    """Write probe results, ticket imports and timeline entries until SIGKILLed.

    Each line of ``log`` (``probe <id>``, ``mail <Message-ID>``, ``timeline <text>``) is
    written with one ``os.write`` on an O_APPEND descriptor only *after* the write it
    acknowledges returned, exactly as the console shows a write only once it returned.
    """
    asyncio.run(_crash_writer(Path(path), log, ready, seed))


async def _crash_writer(path: Path, log: str, ready: Any, seed: int) -> None:
    rng = random.Random(seed)
    tag = f"{os.getpid()}.{seed}"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    config = ticket_config(path.parent)
    async with await SqliteStore.open(path) as store:
        service = TicketService(store, config)
        incident = await store.active_incident()
        if incident is None:
            incident = await store.create_incident(_incident(), actor="crash")
        ready.set()
        i = 0
        while True:
            i += 1
            pick = rng.random()
            if pick < 0.5:
                ack = f"{tag}.{i}"
                await store.record_probe_result(
                    ProbeResult(CRASH_PROBE, _now(), Outcome.OK, 200, float(i), error=ack)
                )
                line = f"probe {ack}"
            elif pick < 0.75:
                mid = f"<{tag}.{i}@crash.example>"
                raw = raw_mail(f"Crash test mail {tag}.{i}", "The API is down.", message_id=mid)
                result = await service.ingest(raw, source="crash")
                if result.outcome != "imported":
                    raise AssertionError(f"{mid}: {result}")
                line = f"mail {mid}"
            else:
                text = f"crash note {tag}.{i}"
                entry = TimelineEntry(at=_now(), kind=EntryKind.NOTE, text=text, actor="crash")
                await store.append_timeline(incident.id, entry)
                line = f"timeline {text}"
            os.write(fd, f"{line}\n".encode())


def _incident() -> Incident:
    return Incident(
        id=0,
        title="Crash test",
        component="API",
        severity=IncidentSeverity.HIGH,
        status=IncidentStatus.INVESTIGATING,
        started_at=_now(),
        impact=Impact(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


# -- concurrency -------------------------------------------------------------------------

SEVERITIES = tuple(Severity)


def triage_worker(path: str, out: str, worker: int, seconds: float, barrier: Any) -> None:
    """Import mail and triage (severity, assignee, note) for ``seconds``; write a report.

    The report (JSON at ``out``) lists every acknowledged write, the conflicts seen, every
    other error as text, and the latency of each write in ms.
    """
    try:
        report = asyncio.run(_triage(Path(path), worker, seconds, barrier))
    except Exception as exc:  # reported, not lost in the child's stderr
        report = {"acks": [], "conflicts": 0, "errors": [f"worker: {exc!r}"], "latencies": []}
    Path(out).write_text(json.dumps(report))


async def _triage(path: Path, worker: int, seconds: float, barrier: Any) -> dict[str, Any]:
    rng = random.Random(worker)
    name = f"Worker {worker}"
    config = ticket_config(
        path.parent, operator={"name": name, "email": f"w{worker}@company.com"}, team=[name]
    )
    acks: list[list[Any]] = []
    errors: list[str] = []
    latencies: list[float] = []
    conflicts = 0
    barrier.wait()
    async with await SqliteStore.open(path) as store:
        service = TicketService(store, config)
        numbers: list[int] = []
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            if not numbers or i % 10 == 0:
                page = await store.list_tickets(TicketQuery(sort="number", limit=60))
                numbers = [t.number for t in page]
            pick = rng.random()
            started = time.perf_counter()
            try:
                if pick < 0.25 or not numbers:
                    mid = f"<w{worker}.{i}@conc.example>"
                    raw = raw_mail(f"Worker {worker} mail {i}", "Login fails.", message_id=mid)
                    result = await service.ingest(raw, source=name)
                    if result.outcome == "imported":
                        acks.append(["import", result.number, mid])
                    else:
                        errors.append(f"{mid}: {result.outcome} {result.reason}")
                    latencies.append((time.perf_counter() - started) * 1000)
                    continue
                number = rng.choice(numbers)
                seen = await service.store.get_ticket(number)
                assert seen is not None
                started = time.perf_counter()
                if pick < 0.5:
                    severity = rng.choice([s for s in SEVERITIES if s is not seen.severity])
                    await service.set_severity(number, severity, seen=seen)
                    acks.append(["severity", number, seen.severity.value, severity.value])
                elif pick < 0.75:
                    assignee = f"{name} #{i}"
                    await service.assign(number, assignee, seen=seen)
                    acks.append(["assignee", number, seen.assignee, assignee])
                else:
                    body = f"note from {name} #{i}"
                    await service.add_note(number, body)
                    acks.append(["note", number, body])
                latencies.append((time.perf_counter() - started) * 1000)
            except TicketConflict:
                conflicts += 1
            except Exception as exc:  # any other failure is a finding, "locked" above all
                errors.append(f"{type(exc).__name__}: {exc}")
    return {"acks": acks, "conflicts": conflicts, "errors": errors, "latencies": latencies}
