"""SqliteStore as a ReportStore, and the monthly report cross-checked against plain SQL.

The store is seeded only through its ordinary write methods (``record_probe_result``,
``create_ticket``/``update_ticket``, ``create_incident``/``append_timeline``/
``update_incident``). The report built from the ReportStore queries must then match
numbers computed independently: plain SQL over the same file with the ``sqlite3`` module,
and plain arithmetic over the rows it returns (issue 6: "The monthly report matches numbers
computed independently from the stored data").
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.clock import frozen_clock
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult
from opsconsole.core.reports import Report, build_report
from opsconsole.core.sla import DEFAULT_POLICY
from opsconsole.core.store import ReportStore
from opsconsole.core.tickets import (
    Category,
    Direction,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)

UNTIL = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=30)  # the monthly report: 2024-04-10 12:30
H = timedelta(hours=1)
M = timedelta(minutes=1)
EVERY = 15 * M
TARGET = 99.5
PROBES = ("API health", "Dashboard")


def sql(path: Path, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run one read on its own plain ``sqlite3`` connection."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, params).fetchall()


def hour_of(moment: datetime) -> int:
    """The epoch second of the UTC hour containing ``moment``."""
    return int(moment.timestamp() // 3600 * 3600)


# -- seeding ---------------------------------------------------------------------------------


def result(probe: str, at: datetime, kind: str) -> ProbeResult:
    """An ``ok``, ``slow`` (degraded: only a latency condition failed) or ``down`` result."""
    status = ConditionResult("[STATUS] == 200", kind != "down", "[STATUS] (…) == 200")
    latency = ConditionResult("[RESPONSE_TIME] < 1000", kind != "slow", "…", latency_only=True)
    outcome = Outcome.OK if kind == "ok" else Outcome.FAILED_CONDITIONS
    return ProbeResult(
        probe, at, outcome, status=200, latency_ms=50.0, conditions=(status, latency)
    )


def probe_moments() -> list[datetime]:
    """Every 2 hours from 6 h before SINCE's hour, plus 12:10–12:30 in UNTIL's hour."""
    start = SINCE.replace(minute=0) - 6 * H
    moments = []
    at = start
    while at <= UNTIL:
        moments.append(at)
        at += 2 * H
    moments += [UNTIL.replace(minute=m) for m in (10, 20, 30)]
    return moments


def kind_of(probe: str, n: int) -> str:
    if probe == "API health":
        return "down" if n % 17 == 0 else "ok"
    return "down" if n % 23 == 0 else ("slow" if n % 5 == 0 else "ok")


# (severity, category, received, response after, resolved after): hours, relative.
TICKET_PLAN: tuple[tuple[Severity, Category, datetime, float | None, float | None], ...] = (
    (Severity.CRITICAL, Category.BUG, SINCE + 1 * H, 0.5, 3),
    (Severity.CRITICAL, Category.BUG, SINCE + 5 * H, 2, None),
    (Severity.CRITICAL, Category.BUG, UNTIL - 0.5 * H, None, None),
    (Severity.CRITICAL, Category.QUESTION, UNTIL - 2 * H, None, None),
    (Severity.HIGH, Category.BUG, SINCE + 10 * H, 3, 20),
    (Severity.HIGH, Category.BUG, SINCE + 12 * H, 5, 30),
    (Severity.HIGH, Category.FEATURE, UNTIL - 10 * H, 1, None),
    (Severity.MEDIUM, Category.BILLING, SINCE + 20 * H, 6, 50),
    (Severity.MEDIUM, Category.QUESTION, UNTIL - 22 * H, 14, None),
    (Severity.MEDIUM, Category.BUG, SINCE, None, None),
    (Severity.LOW, Category.FEEDBACK, SINCE + 30 * H, 40, 41),
    (Severity.LOW, Category.QUESTION, UNTIL - 70 * H, None, None),
    (Severity.LOW, Category.FEATURE, SINCE + 3 * H, None, 10),
    (Severity.HIGH, Category.BUG, SINCE - 1 * H, 1, 2),  # before the window
    (Severity.LOW, Category.BUG, UNTIL + 1 * H, None, None),  # after it
)


async def seed_tickets(store: SqliteStore) -> None:
    for n, (severity, category, received, response, resolved) in enumerate(TICKET_PLAN):
        ticket = Ticket(
            number=0,
            subject=f"Plan ticket {n}",
            requester=Requester("Ada", f"ada{n}@example.com", "Acme"),
            received_at=received,
            category=category,
            severity=severity,
        )
        inbound = ThreadMessage(Direction.INBOUND, received, "ada@example.com", "help")
        stored = await store.create_ticket(ticket, inbound, actor="intake")
        changes: dict[str, object] = {}
        if response is not None:
            changes.update(first_response_at=received + response * H, status=Status.OPEN)
        if resolved is not None:
            changes.update(resolved_at=received + resolved * H, status=Status.RESOLVED)
        if changes:
            await store.update_ticket(stored.number, changes, actor="alex", at=UNTIL)


# (started, minutes of stakeholder updates after the start, resolved after minutes)
INCIDENT_PLAN: tuple[tuple[datetime, tuple[int, ...], int | None], ...] = (
    (SINCE - 5 * H, (5,), 30),  # before the window
    (SINCE + 2 * H, (10, 20), 40),
    (SINCE + 30 * H, (25,), 60),
    (UNTIL - 50 * M, (5, 35), None),  # still active at UNTIL
)


async def seed_incidents(store: SqliteStore) -> None:
    for n, (started, updates, resolved_after) in enumerate(INCIDENT_PLAN):
        draft = Incident(
            id=0,
            title=f"Incident {n}",
            component="API",
            severity=IncidentSeverity.CRITICAL,
            status=IncidentStatus.INVESTIGATING,
            started_at=started,
        )
        created = await store.create_incident(draft, actor="alex")
        for minutes in updates:
            entry = TimelineEntry(started + minutes * M, EntryKind.UPDATE, "update", "alex")
            await store.append_timeline(created.id, entry)
        changes: dict[str, object] = {"last_update_at": started + updates[-1] * M}
        if resolved_after is not None:
            changes.update(status=IncidentStatus.RESOLVED, resolved_at=started + resolved_after * M)
        await store.update_incident(created.id, changes, actor="alex", at=UNTIL)


async def seed(path: Path) -> None:
    """Write a month of probe results, the ticket plan and the incident plan to ``path``."""
    async with await SqliteStore.open(path, clock=frozen_clock(UNTIL)) as store:
        for n, at in enumerate(probe_moments()):
            for probe in PROBES:
                await store.record_probe_result(result(probe, at, kind_of(probe, n)))
        await store.record_probe_result(result("API health", UNTIL + 50 * M, "down"))  # future
        await seed_tickets(store)
        await seed_incidents(store)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded database per module (closed, so its WAL is checkpointed into the file)."""
    path = tmp_path_factory.mktemp("report") / "seeded.db"
    asyncio.run(seed(path))
    return path


@pytest.fixture
def db_path(seeded: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded database."""
    path = tmp_path / "ops.db"
    shutil.copyfile(seeded, path)
    return path


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(db_path, clock=frozen_clock(UNTIL)) as s:
        yield s


async def report_from(store: ReportStore) -> Report:
    return build_report(
        since=SINCE,
        until=UNTIL,
        rollups=await store.rollups_since(SINCE),
        target=TARGET,
        tickets=await store.tickets_received_since(SINCE),
        policy=DEFAULT_POLICY,
        incidents=await store.incidents_since(SINCE),
        update_every=EVERY,
    )


# -- the queries -----------------------------------------------------------------------------


async def test_sqlite_store_is_a_report_store(store: SqliteStore) -> None:
    report_store: ReportStore = store  # mypy checks the protocol
    assert await report_store.rollups_since(UNTIL + 24 * H) == {}


async def test_rollups_since_include_the_whole_hour_containing_since(
    store: SqliteStore, db_path: Path
) -> None:
    rollups = await store.rollups_since(SINCE)
    assert sorted(rollups) == sorted(PROBES)
    first = int(SINCE.replace(minute=0).timestamp())
    for probe, rows in rollups.items():
        hours = [row.hour for row in rows]
        assert hours == sorted(hours) and hours[0] == first
        expected = sql(
            db_path,
            "SELECT hour, total, ok FROM probe_rollups WHERE probe = ? AND hour >= ? ORDER BY hour",
            (probe, first),
        )
        assert [tuple(row) for row in rows] == expected
    assert sql(db_path, "SELECT count(*) FROM probe_rollups WHERE hour < ?", (first,))[0][0] > 0


async def test_tickets_received_since_return_every_status_without_threads(
    store: SqliteStore,
) -> None:
    tickets = await store.tickets_received_since(SINCE)
    received = [t.received_at for t in tickets]
    assert received == sorted(received)
    assert received[0] == SINCE  # the boundary is included
    assert len(tickets) == len(TICKET_PLAN) - 1  # all but the one before SINCE
    assert {t.status for t in tickets} == {Status.NEW, Status.OPEN, Status.RESOLVED}
    assert all(t.thread == () and t.audit == () for t in tickets)


async def test_incidents_since_come_with_their_timelines(store: SqliteStore) -> None:
    incidents = await store.incidents_since(SINCE)
    assert [i.title for i in incidents] == ["Incident 1", "Incident 2", "Incident 3"]
    kinds = [[e.kind for e in i.timeline] for i in incidents]
    assert kinds[0] == [EntryKind.DECLARED, EntryKind.UPDATE, EntryKind.UPDATE]
    assert incidents[-1].active and not incidents[0].active
    assert await store.incidents_since(UNTIL) == []


# -- the monthly report against plain SQL ----------------------------------------------------


async def test_uptime_matches_plain_sql_over_rollups_and_raw_results(
    store: SqliteStore, db_path: Path
) -> None:
    report = await report_from(store)
    first = hour_of(SINCE)
    last = hour_of(UNTIL)
    partial = (UNTIL.timestamp() - last) / 60
    # SINCE cuts the first hour: it counts pro rata, for its minutes from SINCE on.
    cut = (first + 3600 - SINCE.timestamp()) / 60
    weight = "(CASE WHEN hour = :first THEN :cut / 60.0 ELSE 1 END)"
    minutes = "(CASE WHEN hour = :last THEN :partial WHEN hour = :first THEN :cut ELSE 60 END)"
    from_rollups = sql(
        db_path,
        f"""
        SELECT probe, sum(total), sum(ok), sum((total - ok) * 1.0 / total * {minutes}),
               sum(total * {weight}), sum(ok * {weight})
        FROM probe_rollups WHERE hour BETWEEN :first AND :last
        GROUP BY probe ORDER BY probe
        """,
        {"first": first, "last": last, "partial": partial, "cut": cut},
    )
    # From the raw results instead: up = OK, or failed only on latency conditions.
    up = """
        outcome = 'ok' OR (
            outcome = 'failed_conditions'
            AND EXISTS (SELECT 1 FROM json_each(conditions_json)
                        WHERE json_extract(value, '$.ok') = 0)
            AND NOT EXISTS (SELECT 1 FROM json_each(conditions_json)
                            WHERE json_extract(value, '$.ok') = 0
                              AND json_extract(value, '$.latency_only') = 0)
        )
    """
    from_results = sql(
        db_path,
        f"""
        SELECT probe, sum(n), sum(n_up), sum((n - n_up) * 1.0 / n * {minutes})
        FROM (
            SELECT probe, CAST(ts / 3600 AS INTEGER) * 3600 AS hour, count(*) AS n,
                   sum(CASE WHEN {up} THEN 1 ELSE 0 END) AS n_up
            FROM probe_results WHERE ts >= :first AND ts < :last + 3600
            GROUP BY probe, hour
        )
        GROUP BY probe ORDER BY probe
        """,
        {"first": first, "last": last, "partial": partial, "cut": cut},
    )
    assert [r[:3] for r in from_rollups] == [r[:3] for r in from_results]
    assert [r[3] for r in from_rollups] == pytest.approx([r[3] for r in from_results])
    assert [u.probe for u in report.uptime] == [r[0] for r in from_rollups]
    for row, (_probe, total, _ok, down, counted, up) in zip(
        report.uptime, from_rollups, strict=True
    ):
        assert row.samples == total
        assert row.uptime == pytest.approx(100 * up / counted)
        assert row.downtime_minutes == pytest.approx(down)
        assert row.met is (100 * up / counted >= TARGET)
    assert any(row.met is False for row in report.uptime)  # the fixture fails a target
    assert all(row.downtime_minutes > 0 for row in report.uptime)


async def test_sla_and_volume_match_plain_sql(store: SqliteStore, db_path: Path) -> None:
    report = await report_from(store)
    rows = sql(
        db_path,
        "SELECT number, severity, category, received_at, first_response_at, resolved_at "
        "FROM tickets WHERE received_at BETWEEN ? AND ? ORDER BY number",
        (SINCE.timestamp(), UNTIL.timestamp()),
    )
    assert len(rows) == 13
    until = UNTIL.timestamp()
    targets = {  # guide §2 / §3.3 in seconds, calendar time (the default policy)
        "critical": (3600, None),
        "high": (4 * 3600, 24 * 3600),
        "medium": (12 * 3600, 72 * 3600),
        "low": (48 * 3600, 7 * 24 * 3600),
    }
    met: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    late: list[tuple[int, str, str, float]] = []
    for number, severity, _category, received, response, resolved in rows:
        stops = {
            "response": min((t for t in (response, resolved) if t is not None), default=None),
            "resolution": resolved,
        }
        for index, clock in enumerate(("response", "resolution")):
            target = targets[severity][index]
            stop = stops[clock]
            if target is None:
                continue
            if stop is not None and stop <= until:
                used = stop - received
            elif until - received > target:
                used = until - received
                stop = None
            else:
                continue  # still running within its target
            total[severity, clock] += 1
            if stop is not None and used <= target:
                met[severity, clock] += 1
            else:
                late.append((number, severity, clock, used - target))
    for row in report.sla:
        s = row.severity.value
        assert (row.response_met, row.response_total) == (met[s, "response"], total[s, "response"])
        assert (row.resolution_met, row.resolution_total) == (
            met[s, "resolution"],
            total[s, "resolution"],
        )
    got = [
        (b.ticket, b.severity.value, b.clock, b.by.total_seconds())
        for r in report.sla
        for b in r.breaches
    ]
    key = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    assert got == pytest.approx(sorted(late, key=lambda b: (key[b[1]], b[0])))
    assert sum(total.values()) > sum(met.values()) > 0

    by_category = dict(
        sql(
            db_path,
            "SELECT category, count(*) FROM tickets WHERE received_at BETWEEN ? AND ? "
            "GROUP BY category",
            (SINCE.timestamp(), UNTIL.timestamp()),
        )
    )
    by_severity = dict(
        sql(
            db_path,
            "SELECT severity, count(*) FROM tickets WHERE received_at BETWEEN ? AND ? "
            "GROUP BY severity",
            (SINCE.timestamp(), UNTIL.timestamp()),
        )
    )
    assert {k: v for k, v in report.volume_by_category.items() if v} == by_category
    assert {k: v for k, v in report.volume_by_severity.items() if v} == by_severity


async def test_incident_summary_matches_plain_sql(store: SqliteStore, db_path: Path) -> None:
    report = await report_from(store)
    incidents = sql(
        db_path,
        "SELECT id, started_at, resolved_at, status FROM incidents "
        "WHERE started_at BETWEEN ? AND ? ORDER BY id",
        (SINCE.timestamp(), UNTIL.timestamp()),
    )
    updates: dict[int, list[float]] = {}
    for incident, at in sql(
        db_path, "SELECT incident, at FROM incident_timeline WHERE kind = 'update' ORDER BY at"
    ):
        updates.setdefault(incident, []).append(at)
    until, every = UNTIL.timestamp(), EVERY.total_seconds()
    durations, firsts, cadences, repairs = [], [], [], []
    for incident_id, started, resolved, status in incidents:
        active = status != "resolved"
        durations.append((until if active else resolved) - started)
        sent = updates.get(incident_id, [])
        if sent:
            firsts.append(sent[0] - started)
        on_time, previous = 0, started
        for at in sent:
            on_time += at - previous <= every
            previous = at
        due = len(sent) + (1 if active and until - previous > every else 0)
        if due:
            cadences.append(100 * on_time / due)
        if not active:
            repairs.append(resolved - started)
    summary = report.incidents
    assert summary.count == len(incidents) == 3
    assert summary.total_duration.total_seconds() == pytest.approx(sum(durations))
    assert summary.mean_duration is not None
    assert summary.mean_duration.total_seconds() == pytest.approx(sum(durations) / 3)
    assert summary.mean_time_to_first_update is not None
    assert summary.mean_time_to_first_update.total_seconds() == pytest.approx(
        sum(firsts) / len(firsts)
    )
    assert summary.cadence_kept == pytest.approx(sum(cadences) / len(cadences))
    assert summary.mttr is not None
    assert summary.mttr.total_seconds() == pytest.approx(sum(repairs) / len(repairs))
    # By hand: (100 + 0 + 50) / 3; MTTR (40 + 60) / 2 min.
    assert summary.cadence_kept == pytest.approx(50.0)
    assert summary.mttr == 50 * M
