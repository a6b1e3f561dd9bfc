"""Hunt: SLA clocks judged by what a Zendesk user expects of SLA timers.

Business-hours deadlines that pass out of hours, reopened tickets, the watcher's first look,
targets longer than the schedule can hold, and properties that must hold for any ticket.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.core.report_render import render_report_md
from opsconsole.core.reports import build_report
from opsconsole.core.sla import (
    BusinessHours,
    SlaPolicy,
    SlaState,
    add_working_time,
    evaluate,
    next_deadline,
    working_time_between,
)
from opsconsole.core.sla_view import sla_clock
from opsconsole.core.tickets import Category, Requester, Severity, Status, Ticket
from opsconsole.tickets.runtime import SlaWatcher, make_sender
from opsconsole.tickets.service import TicketService

from fakes import MutableClock
from ticket_fixtures import raw_mail, ticket_config

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = SlaPolicy(tz=PARIS, business_hours=BusinessHours(time(9), time(18)))
FRIDAY_2PM = datetime(2025, 6, 13, 14, tzinfo=PARIS)  # high: 4h response due Friday 18:00
FRIDAY_6PM = datetime(2025, 6, 13, 18, tzinfo=PARIS)
SATURDAY_NOON = datetime(2025, 6, 14, 12, tzinfo=PARIS)


def ticket(
    severity: Severity = Severity.HIGH,
    received: datetime = FRIDAY_2PM,
    **fields: object,
) -> Ticket:
    return Ticket(
        number=101,
        subject="Dashboard not loading",
        requester=Requester("Ada", "ada@example.com", "Acme"),
        received_at=received,
        category=Category.BUG,
        severity=severity,
        **fields,  # type: ignore[arg-type]
    )


# -- a deadline at closing time, read out of hours ------------------------------------------------


def test_a_deadline_that_passed_at_closing_is_breached_over_the_weekend() -> None:
    """Due Friday 18:00, read Saturday: the deadline has passed, so the clock is breached (as
    the stored next_due, the pane's breached count and a Zendesk badge say). It read "at risk ·
    0s left" until Monday 09:00, because no working time had run past the target."""
    t = ticket()
    reading = evaluate(t, OFFICE, SATURDAY_NOON).response
    assert reading.due == FRIDAY_6PM
    assert next_deadline(t, OFFICE, SATURDAY_NOON) == FRIDAY_6PM < SATURDAY_NOON
    assert reading.state is SlaState.BREACHED
    assert reading.remaining == timedelta(0)  # working time past the target: none yet
    assert reading.label() == "overdue"
    # at the deadline itself it is still "0s left", as on a calendar schedule
    assert evaluate(t, OFFICE, FRIDAY_6PM).response.state is SlaState.AT_RISK
    # Monday the overdue time counts up in working time
    monday = datetime(2025, 6, 16, 9, 30, tzinfo=PARIS)
    assert evaluate(t, OFFICE, monday).response.label() == "overdue by 30m00s"


def test_a_reply_sent_after_a_deadline_at_closing_missed_it() -> None:
    """A first reply on Saturday to a ticket due Friday 18:00 counted as met (no working time
    had passed the target), so the report's attainment called a late reply on time."""
    t = ticket(first_response_at=SATURDAY_NOON, status=Status.OPEN)
    later = datetime(2025, 6, 20, tzinfo=UTC)
    reading = evaluate(t, OFFICE, later).response
    assert reading.state is SlaState.BREACHED
    assert reading.label() == "missed"
    on_time = ticket(first_response_at=FRIDAY_6PM)
    assert evaluate(on_time, OFFICE, later).response.state is SlaState.MET
    report = build_report(
        since=FRIDAY_2PM - H,
        until=later,
        rollups={},
        target=99.5,
        tickets=[t],
        policy=OFFICE,
        incidents=[],
        update_every=15 * M,
    )
    high = next(row for row in report.sla if row.severity is Severity.HIGH)
    assert (high.response_met, high.response_total) == (0, 1)
    # No working time has passed the deadline yet: the breach is not "late by 0s".
    lines = render_report_md(report, PARIS).splitlines()
    assert f"- #{t.number} · High · response late (after closing)" in lines


def test_a_ticket_paused_after_its_deadline_out_of_hours_stays_breached() -> None:
    t = ticket(pauses=((SATURDAY_NOON, None),), status=Status.PENDING_CUSTOMER)
    reading = evaluate(t, OFFICE, SATURDAY_NOON + H).response
    assert reading.paused and reading.state is SlaState.BREACHED
    assert reading.label() == "paused · overdue"


def test_the_queue_label_agrees_with_the_stored_deadline_out_of_hours() -> None:
    t = ticket()
    label, state = sla_clock(evaluate(t, OFFICE, SATURDAY_NOON), t)
    assert (label, state) == ("resp overdue", SlaState.BREACHED)


def test_friday_evening_one_hour_target_is_due_monday_morning() -> None:
    """The brief's example: Friday 17:55 + 1 business hour (09-18 Mon-Fri) = Monday 09:55."""
    received = datetime(2025, 6, 13, 17, 55, tzinfo=PARIS)
    critical = evaluate(ticket(Severity.CRITICAL, received), OFFICE, received).response
    assert critical.due == datetime(2025, 6, 16, 9, 55, tzinfo=PARIS)


# -- properties -------------------------------------------------------------------------------

ZONES = (UTC, PARIS, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"))
BASE = datetime(2025, 3, 1, tzinfo=UTC)
MOMENTS = st.integers(0, 60 * 24 * 400).map(lambda minutes: BASE + minutes * M)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def policies(draw: st.DrawFn) -> SlaPolicy:
    hours = None
    if draw(st.booleans()):
        start = draw(st.integers(0, 22))
        end = draw(st.integers(start + 1, 24))
        days = draw(st.frozensets(st.integers(0, 6), min_size=1))
        hours = BusinessHours(time(start), time(0) if end == 24 else time(end), days)
    holidays = draw(st.frozensets(st.dates(date(2025, 3, 1), date(2026, 5, 1)), max_size=4))
    return SlaPolicy(tz=draw(st.sampled_from(ZONES)), business_hours=hours, holidays=holidays)


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    received = draw(MOMENTS)
    pauses: list[tuple[datetime, datetime | None]] = []
    cursor = received
    for _ in range(draw(st.integers(0, 3))):
        start = cursor + draw(st.integers(0, 3000)) * M
        if draw(st.integers(0, 4)) == 0:
            pauses.append((start, None))
            break
        cursor = start + draw(st.integers(1, 3000)) * M
        pauses.append((start, cursor))
    reply = draw(st.none() | st.integers(0, 60 * 24 * 20))
    return ticket(
        draw(st.sampled_from(list(Severity))),
        received,
        pauses=tuple(pauses),
        first_response_at=None if reply is None else received + reply * M,
    )


@SETTINGS
@given(policies(), tickets(), st.integers(0, 60 * 24 * 30), st.integers(0, 60 * 24 * 10))
def test_a_clock_is_breached_exactly_when_its_deadline_has_passed(
    policy: SlaPolicy, t: Ticket, after: int, later: int
) -> None:
    """For any schedule: a running clock is breached iff ``now`` is past its due instant, a
    stopped one missed iff it stopped past it; and a later ``now`` never shows more time left
    nor a better state."""
    first = t.received_at + after * M
    second = first + later * M
    readings = [evaluate(t, policy, now).response for now in (first, second)]
    assert readings[1].remaining is not None and readings[0].remaining is not None
    assert readings[1].remaining <= readings[0].remaining
    rank = {SlaState.OK: 0, SlaState.AT_RISK: 1, SlaState.MET: 0, SlaState.BREACHED: 2}
    if readings[0].stopped_at is None and not readings[0].paused:
        assert rank[readings[1].state] >= rank[readings[0].state] or (
            readings[1].state is SlaState.MET
        )
    for now, reading in zip((first, second), readings, strict=True):
        if reading.running:
            assert reading.due is not None
            assert (reading.state is SlaState.BREACHED) == (now > reading.due)
            assert next_deadline(t, policy, now) is not None
        if reading.stopped_at is not None:
            unpaused = evaluate(replace(t, first_response_at=None, pauses=()), policy, now)
            if not t.pauses:
                assert unpaused.response.due is not None
                missed = reading.stopped_at > unpaused.response.due
                assert (reading.state is SlaState.BREACHED) == missed


@SETTINGS
@given(
    policies(), MOMENTS, st.integers(1, 60 * 24 * 5), st.dates(date(2025, 3, 1), date(2026, 5, 1))
)
def test_a_holiday_never_brings_a_deadline_forward(
    policy: SlaPolicy, start: datetime, minutes: int, holiday: date
) -> None:
    amount = minutes * M
    due = add_working_time(start, amount, policy)
    with_holiday = replace(policy, holidays=policy.holidays | {holiday})
    assert add_working_time(start, amount, with_holiday) >= due
    assert working_time_between(start, due, policy) == amount


@SETTINGS
@given(policies(), tickets(), st.integers(0, 60 * 24 * 20), st.integers(1, 60 * 24 * 3))
def test_pausing_never_makes_a_ticket_breach_earlier(
    policy: SlaPolicy, t: Ticket, offset: int, length: int
) -> None:
    t = replace(t, pauses=(), first_response_at=None)
    start = t.received_at + offset * M
    paused = replace(t, pauses=((start, start + length * M),))
    now = start + length * M + H
    plain, pending = evaluate(t, policy, now).response, evaluate(paused, policy, now).response
    assert plain.due is not None and pending.due is not None
    assert pending.due >= plain.due
    assert pending.remaining is not None and plain.remaining is not None
    assert pending.remaining >= plain.remaining


# -- reopening ----------------------------------------------------------------------------------


@pytest.fixture
async def service(tmp_path: Path):
    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "h.db")
    yield TicketService(store, config, clock=MutableClock(), sender=make_sender(config))
    await store.close()


async def test_the_time_a_ticket_spent_resolved_does_not_count_when_it_reopens(
    service: TicketService,
) -> None:
    """Resolved after 2h, reopened by the customer 3 days later: Zendesk's resolution-type
    metrics (requester wait time) count only New/Open/On-hold, never Solved. The high
    ticket's 24h resolution clock read "overdue by 2d…" (and alerted) the moment it
    reopened."""
    clock = service.clock
    assert isinstance(clock, MutableClock)
    await service.ingest(raw_mail("Dashboard not loading", "Blank page."), source="t")
    ticket_ = await service.set_severity(101, Severity.HIGH)
    clock.advance(minutes=30)
    await service.reply(101, "Re: Dashboard not loading", "Looking into it.")
    clock.advance(minutes=90)
    resolved = await service.resolve(101)
    assert resolved.resolved_at == clock.now
    assert service.sla(resolved).resolution.state is SlaState.MET
    clock.advance(days=3)
    reply = raw_mail(
        "Re: Dashboard not loading",
        "Broken again.",
        message_id="<m2@globex.com>",
        In_Reply_To="<m1@globex.com>",
    )
    await service.ingest(reply, source="t")
    reopened = await service.store.get_ticket(101)
    assert reopened is not None and reopened.status is Status.OPEN
    reading = service.sla(reopened).resolution
    assert reading.state is SlaState.OK
    assert reading.remaining == 22 * H  # 2h used before it was resolved
    assert reopened.next_due == clock.now + 22 * H == reading.due
    assert ticket_.received_at < reopened.pauses[-1][0]


async def test_a_ticket_resolved_without_a_reply_reopens_with_its_response_time_left(
    service: TicketService,
) -> None:
    clock = service.clock
    assert isinstance(clock, MutableClock)
    await service.ingest(raw_mail("Question about policies", "How do I?"), source="t")
    await service.set_severity(101, Severity.MEDIUM)
    clock.advance(hours=2)
    await service.resolve(101)
    clock.advance(days=2)
    reopened = await service.set_status(101, Status.OPEN)
    reading = service.sla(reopened).response
    assert reading.state is SlaState.OK and reading.remaining == 10 * H
    # straight back to pending on the customer: the resolved time and the new pause both hold
    clock.advance(hours=1)
    await service.set_status(101, Status.RESOLVED)
    clock.advance(hours=5)
    pending = await service.set_status(101, Status.PENDING_CUSTOMER)
    assert pending.pauses[-1][1] is None
    clock.advance(hours=5)
    assert service.sla(pending).response.remaining == 9 * H


# -- the watcher ------------------------------------------------------------------------------


async def test_the_watcher_alerts_on_the_first_sighting_after_an_empty_first_look(
    service: TicketService,
) -> None:
    """The first check only records states (no alert storm at start); with an empty queue
    then, every later check was taken for the first one too, so a reopened overdue ticket
    arriving in an empty queue never alerted."""
    clock = service.clock
    assert isinstance(clock, MutableClock)
    watcher = SlaWatcher(service)
    assert await watcher.check() == []  # the first look: an empty queue
    await service.ingest(raw_mail("[BUG] API returning 500 errors", "500s."), source="t")
    await service.resolve(101)
    await service.set_status(101, Status.OPEN)
    clock.advance(minutes=61)
    alerts = await watcher.check()
    assert [(a.number, a.state) for a in alerts] == [(101, SlaState.BREACHED)]


# -- targets the schedule cannot hold -----------------------------------------------------------


def test_a_business_target_beyond_the_schedules_reach_is_refused_at_load() -> None:
    """``resolution: 3650d`` is accepted on its own (under the 100-year cap), but on a
    business schedule it is ~37 years of office hours: every reading of such a ticket raised
    "no working time in the next 20 years" (the queue's tick crashed the console)."""
    document = {"sla": {"schedule": "business", "targets": {"low": {"resolution": "3650d"}}}}
    with pytest.raises(ConfigError, match="working time"):
        loads_config(yaml.safe_dump(document))
    # a long but reachable target, and the same target on a calendar schedule, are fine
    long = {"sla": {"schedule": "business", "targets": {"low": {"resolution": "365d"}}}}
    assert loads_config(yaml.safe_dump(long)).sla is not None
    calendar = {"sla": {"targets": {"low": {"resolution": "3650d"}}}}
    assert loads_config(yaml.safe_dump(calendar)).sla is not None


async def test_a_cleared_watcher_still_only_records_on_its_next_look(
    service: TicketService,
) -> None:
    """The console clears ``known`` after a changed policy re-sorted the queue: the next
    check must still only record (the new order is not news)."""
    clock = service.clock
    assert isinstance(clock, MutableClock)
    await service.ingest(raw_mail("[BUG] API returning 500 errors", "500s."), source="t")
    watcher = SlaWatcher(service)
    assert await watcher.check() == []
    clock.advance(minutes=61)
    watcher.known.clear()
    assert await watcher.check() == []
    assert watcher.known == {101: SlaState.BREACHED}
