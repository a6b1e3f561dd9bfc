"""SLA clocks with a frozen clock: calendar, business hours, DST, pauses, restarts."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsconsole.core.sla import (
    DEFAULT_POLICY,
    BusinessHours,
    ClockReading,
    SlaPolicy,
    SlaState,
    SlaTarget,
    add_working_time,
    evaluate,
    next_deadline,
    working_time_between,
)
from opsconsole.core.tickets import (
    Category,
    Requester,
    Severity,
    Status,
    Ticket,
)

T0 = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)  # a Wednesday
H = timedelta(hours=1)
M = timedelta(minutes=1)
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_18 = BusinessHours(time(9), time(18), frozenset(range(5)))
NIGHTS = BusinessHours(time(0), time(6), frozenset(range(7)))


def ticket(
    severity: Severity = Severity.HIGH,
    received: datetime = T0,
    *,
    first_response: datetime | None = None,
    resolved: datetime | None = None,
    pauses: tuple[tuple[datetime, datetime | None], ...] = (),
    number: int = 101,
) -> Ticket:
    return Ticket(
        number=number,
        subject="Dashboard not loading",
        requester=Requester("Ada", "ada@example.com", "Acme"),
        received_at=received,
        category=Category.BUG,
        severity=severity,
        status=Status.RESOLVED if resolved else Status.OPEN,
        first_response_at=first_response,
        resolved_at=resolved,
        pauses=pauses,
    )


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


# -- calendar targets (guide §2, §3.3) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "response", "resolution"),
    [
        (Severity.CRITICAL, H, None),
        (Severity.HIGH, 4 * H, 24 * H),
        (Severity.MEDIUM, 12 * H, timedelta(days=3)),
        (Severity.LOW, 48 * H, timedelta(days=7)),
    ],
)
def test_calendar_deadlines_follow_the_guide_table(
    severity: Severity, response: timedelta, resolution: timedelta | None
) -> None:
    status = evaluate(ticket(severity), DEFAULT_POLICY, T0)
    assert status.response.due == T0 + response
    assert status.response.state is SlaState.OK
    assert status.response.remaining == response
    if resolution is None:
        assert status.resolution.state is SlaState.NONE
        assert status.resolution.due is None
        assert status.resolution.label() == "best effort"
    else:
        assert status.resolution.due == T0 + resolution
        assert status.resolution.state is SlaState.OK


@pytest.mark.parametrize(
    ("elapsed", "state", "label"),
    [
        (timedelta(0), SlaState.OK, "4h00m left"),
        (2 * H + 47 * M, SlaState.OK, "1h13m left"),
        (3 * H - timedelta(seconds=1), SlaState.OK, "1h00m left"),
        (3 * H, SlaState.AT_RISK, "at risk · 1h00m left"),  # exactly 25% of 4h left
        (3 * H + 48 * M, SlaState.AT_RISK, "at risk · 12m00s left"),
        (4 * H, SlaState.AT_RISK, "at risk · 0s left"),
        (4 * H + timedelta(seconds=1), SlaState.BREACHED, "overdue by 1s"),
        (5 * H + 5 * M, SlaState.BREACHED, "overdue by 1h05m"),
    ],
)
def test_response_clock_states_and_labels(elapsed: timedelta, state: SlaState, label: str) -> None:
    reading = evaluate(ticket(Severity.HIGH), DEFAULT_POLICY, T0 + elapsed).response
    assert reading.state is state
    assert reading.label() == label
    assert reading.remaining == 4 * H - elapsed
    assert reading.due == T0 + 4 * H


def test_at_risk_fraction_is_configurable() -> None:
    policy = SlaPolicy(at_risk_fraction=0.5)
    assert evaluate(ticket(), policy, T0 + 2 * H).response.state is SlaState.AT_RISK
    assert evaluate(ticket(), policy, T0 + 2 * H - M).response.state is SlaState.OK


@pytest.mark.parametrize(
    ("replied_after", "state", "label"),
    [
        (30 * M, SlaState.MET, "met"),
        (4 * H, SlaState.MET, "met"),  # on the deadline still counts
        (4 * H + 30 * M, SlaState.BREACHED, "missed by 30m00s"),
    ],
)
def test_response_clock_stops_at_first_outbound_reply(
    replied_after: timedelta, state: SlaState, label: str
) -> None:
    t = ticket(first_response=T0 + replied_after)
    for now in (T0 + replied_after, T0 + 30 * H):  # frozen from the reply on
        reading = evaluate(t, DEFAULT_POLICY, now).response
        assert reading.state is state
        assert reading.stopped_at == T0 + replied_after
        assert reading.label() == label
        assert reading.remaining == 4 * H - replied_after


def test_reply_after_now_is_not_counted_yet() -> None:
    """Evaluating an earlier instant ignores a reply that had not happened then."""
    reading = evaluate(ticket(first_response=T0 + 3 * H), DEFAULT_POLICY, T0 + H).response
    assert reading.state is SlaState.OK and reading.stopped_at is None


def test_resolution_clock_stops_at_resolved_at() -> None:
    t = ticket(first_response=T0 + H, resolved=T0 + 20 * H)
    status = evaluate(t, DEFAULT_POLICY, T0 + 50 * H)
    assert status.response.state is SlaState.MET
    assert status.resolution.state is SlaState.MET
    assert status.resolution.stopped_at == T0 + 20 * H
    assert status.worst is SlaState.MET
    assert status.time_to_breach is None
    late = evaluate(replace(t, resolved_at=T0 + 26 * H), DEFAULT_POLICY, T0 + 50 * H)
    assert late.resolution.state is SlaState.BREACHED
    assert late.resolution.label() == "missed by 2h00m"


def test_resolving_without_a_reply_stops_the_response_clock() -> None:
    status = evaluate(ticket(resolved=T0 + 2 * H), DEFAULT_POLICY, T0 + 10 * H)
    assert status.response.state is SlaState.MET
    assert status.response.stopped_at == T0 + 2 * H


def test_worst_and_time_to_breach() -> None:
    status = evaluate(ticket(Severity.HIGH), DEFAULT_POLICY, T0 + 3 * H + 30 * M)
    assert status.worst is SlaState.AT_RISK
    assert status.time_to_breach == 30 * M
    status = evaluate(ticket(Severity.HIGH), DEFAULT_POLICY, T0 + 5 * H)
    assert status.worst is SlaState.BREACHED
    assert status.time_to_breach == -H
    critical = evaluate(ticket(Severity.CRITICAL, first_response=T0 + M), DEFAULT_POLICY, T0 + H)
    assert critical.worst is SlaState.MET
    assert critical.time_to_breach is None


# -- pauses -------------------------------------------------------------------------------------


def test_open_pause_freezes_the_clock_and_it_resumes_after() -> None:
    pending = ticket(pauses=((T0 + 2 * H, None),))
    for now in (T0 + 2 * H, T0 + 3 * H, T0 + 40 * H):
        status = evaluate(pending, DEFAULT_POLICY, now)
        assert status.response.paused and status.resolution.paused
        assert status.response.remaining == 2 * H
        assert status.response.due is None
        assert status.response.label() == "paused · 2h00m left"
        assert status.resolution.label() == "paused · 22h00m left"
        assert status.time_to_breach is None
        assert next_deadline(pending, DEFAULT_POLICY, now) is None
    resumed = ticket(pauses=((T0 + 2 * H, T0 + 10 * H),))
    status = evaluate(resumed, DEFAULT_POLICY, T0 + 11 * H)
    assert not status.response.paused
    assert status.response.remaining == H
    assert status.response.due == T0 + 12 * H
    assert status.response.state is SlaState.AT_RISK


def test_several_pauses_add_up() -> None:
    pauses = (
        (T0 + 1 * H, T0 + 2 * H),
        (T0 + 5 * H, T0 + 8 * H),
        (T0 + 6 * H, T0 + 9 * H),  # overlapping the previous one
        (T0 + 20 * H, T0 + 30 * H),
    )
    t = ticket(first_response=T0 + 30 * M, pauses=pauses)
    status = evaluate(t, DEFAULT_POLICY, T0 + 31 * H)
    # Working so far: 31h - (1h + 4h + 10h) = 16h of the 24h resolution target.
    assert status.resolution.remaining == 8 * H
    assert status.resolution.due == T0 + 39 * H
    assert next_deadline(t, DEFAULT_POLICY, T0 + 31 * H) == T0 + 39 * H


def test_overdue_ticket_stays_overdue_while_paused() -> None:
    t = ticket(pauses=((T0 + 5 * H, None),))
    reading = evaluate(t, DEFAULT_POLICY, T0 + 9 * H).response
    assert reading.state is SlaState.BREACHED and reading.paused
    assert reading.label() == "paused · overdue by 1h00m"


def test_pause_open_at_resolution_is_cut_there() -> None:
    t = ticket(first_response=T0 + H, resolved=T0 + 10 * H, pauses=((T0 + 4 * H, None),))
    reading = evaluate(t, DEFAULT_POLICY, T0 + 100 * H).resolution
    assert reading.state is SlaState.MET and not reading.paused
    assert reading.remaining == 24 * H - 4 * H


def test_pause_when_pending_false_ignores_pauses() -> None:
    policy = SlaPolicy(pause_when_pending=False)
    t = ticket(pauses=((T0 + H, T0 + 3 * H), (T0 + 4 * H, None)))
    reading = evaluate(t, policy, T0 + 5 * H).response
    assert not reading.paused
    assert reading.state is SlaState.BREACHED
    assert reading.due == T0 + 4 * H


# -- business hours -----------------------------------------------------------------------------

PARIS_OFFICE = SlaPolicy(tz=PARIS, business_hours=WEEKDAYS_9_18)


@pytest.mark.parametrize(
    ("received", "due", "holidays"),
    [
        # Friday 17:00 + 4h: 1h on Friday, 3h on Monday.
        (local(PARIS, 2025, 6, 13, 17), local(PARIS, 2025, 6, 16, 12), ()),
        # Monday is a holiday: Tuesday instead.
        (local(PARIS, 2025, 6, 13, 17), local(PARIS, 2025, 6, 17, 12), (date(2025, 6, 16),)),
        # Saturday: starts at Monday's opening.
        (local(PARIS, 2025, 6, 14, 10), local(PARIS, 2025, 6, 16, 13), ()),
        # Before opening: starts at 09:00.
        (local(PARIS, 2025, 6, 16, 7, 30), local(PARIS, 2025, 6, 16, 13), ()),
        # After closing: starts at the next opening.
        (local(PARIS, 2025, 6, 16, 20), local(PARIS, 2025, 6, 17, 13), ()),
        # Inside hours, same day.
        (local(PARIS, 2025, 6, 16, 10, 15), local(PARIS, 2025, 6, 16, 14, 15), ()),
        # Ends exactly at closing.
        (local(PARIS, 2025, 6, 16, 14), local(PARIS, 2025, 6, 16, 18), ()),
    ],
)
def test_business_hours_deadlines(
    received: datetime, due: datetime, holidays: tuple[date, ...]
) -> None:
    policy = replace(PARIS_OFFICE, holidays=frozenset(holidays))
    got = evaluate(ticket(Severity.HIGH, received), policy, received).response.due
    assert got == due
    assert got is not None and got.tzinfo is UTC
    assert add_working_time(received, 4 * H, policy) == due


def test_business_hours_remaining_does_not_run_over_the_weekend() -> None:
    received = local(PARIS, 2025, 6, 13, 17)
    saturday = local(PARIS, 2025, 6, 14, 12)
    reading = evaluate(ticket(Severity.HIGH, received), PARIS_OFFICE, saturday).response
    assert reading.remaining == 3 * H
    assert reading.state is SlaState.OK
    assert working_time_between(received, local(PARIS, 2025, 6, 16, 10), PARIS_OFFICE) == 2 * H
    assert working_time_between(local(PARIS, 2025, 6, 16, 10), received, PARIS_OFFICE) == -2 * H


def test_business_hours_pause_only_removes_working_time() -> None:
    received = local(PARIS, 2025, 6, 16, 9)  # Monday
    # Pending from Monday 11:00 to Tuesday 10:00: 7h + 1h of working time paused.
    pauses = ((local(PARIS, 2025, 6, 16, 11), local(PARIS, 2025, 6, 17, 10)),)
    t = ticket(Severity.MEDIUM, received, pauses=pauses)
    reading = evaluate(t, PARIS_OFFICE, local(PARIS, 2025, 6, 17, 12)).response
    assert reading.remaining == 12 * H - 4 * H
    # 8h more: Tuesday 12:00-18:00 (6h) then Wednesday 09:00-11:00.
    assert reading.due == local(PARIS, 2025, 6, 18, 11)


def test_calendar_holidays_are_skipped() -> None:
    policy = SlaPolicy(tz=PARIS, holidays=frozenset({date(2025, 12, 25)}))
    received = local(PARIS, 2025, 12, 24, 22)
    assert add_working_time(received, 4 * H, policy) == local(PARIS, 2025, 12, 26, 2)


# -- DST ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "received", "due_local"),
    [
        # Paris spring forward (Sun 30 Mar 2025, 02:00 -> 03:00): 4 real hours = 5 on the wall.
        (PARIS, local(PARIS, 2025, 3, 30, 0, 30), local(PARIS, 2025, 3, 30, 5, 30)),
        # Paris fall back (Sun 26 Oct 2025, 03:00 -> 02:00): 4 real hours = 3 on the wall.
        (PARIS, local(PARIS, 2025, 10, 26, 0, 30), local(PARIS, 2025, 10, 26, 3, 30)),
        # New York spring forward (Sun 9 Mar 2025).
        (NEW_YORK, local(NEW_YORK, 2025, 3, 9, 0, 30), local(NEW_YORK, 2025, 3, 9, 5, 30)),
        # New York fall back (Sun 2 Nov 2025).
        (NEW_YORK, local(NEW_YORK, 2025, 11, 2, 0, 30), local(NEW_YORK, 2025, 11, 2, 3, 30)),
    ],
)
def test_calendar_target_is_real_hours_across_dst(
    tz: ZoneInfo, received: datetime, due_local: datetime
) -> None:
    # The holiday forces the per-day window path; both paths must agree.
    for policy in (SlaPolicy(tz=tz), SlaPolicy(tz=tz, holidays=frozenset({date(2000, 1, 1)}))):
        due = evaluate(ticket(Severity.HIGH, received), policy, received).response.due
        assert due is not None
        assert due - received == 4 * H
        assert due.astimezone(tz).replace(tzinfo=None) == due_local.replace(tzinfo=None)
        assert working_time_between(received, due, policy) == 4 * H


@pytest.mark.parametrize(
    ("tz", "hours", "received", "due"),
    [
        # Friday before the change 16:00 CET + 4h -> Monday 11:00 CEST (09:00 UTC, not 10:00).
        (
            PARIS,
            WEEKDAYS_9_18,
            local(PARIS, 2025, 3, 28, 16),
            datetime(2025, 3, 31, 9, tzinfo=UTC),
        ),
        (
            PARIS,
            WEEKDAYS_9_18,
            local(PARIS, 2025, 10, 24, 16),
            datetime(2025, 10, 27, 10, tzinfo=UTC),
        ),
        (
            NEW_YORK,
            BusinessHours(time(9), time(17), frozenset(range(5))),
            local(NEW_YORK, 2025, 3, 7, 15),
            datetime(2025, 3, 10, 15, tzinfo=UTC),
        ),
        (
            NEW_YORK,
            BusinessHours(time(9), time(17), frozenset(range(5))),
            local(NEW_YORK, 2025, 10, 31, 15),
            datetime(2025, 11, 3, 16, tzinfo=UTC),
        ),
        # A night window 00:00-06:00 containing the change: 5 real hours in March ...
        (PARIS, NIGHTS, local(PARIS, 2025, 3, 30, 0), datetime(2025, 3, 30, 3, tzinfo=UTC)),
        (
            PARIS,
            NIGHTS,
            local(PARIS, 2025, 3, 29, 23),  # outside the window: the clock starts Sunday 00:00
            datetime(2025, 3, 30, 3, tzinfo=UTC),
        ),
        # 7 real hours in October: 4h of work ends at 03:00 CET.
        (PARIS, NIGHTS, local(PARIS, 2025, 10, 26, 0), datetime(2025, 10, 26, 2, tzinfo=UTC)),
        (NEW_YORK, NIGHTS, local(NEW_YORK, 2025, 3, 9, 0), datetime(2025, 3, 9, 9, tzinfo=UTC)),
        (NEW_YORK, NIGHTS, local(NEW_YORK, 2025, 11, 2, 0), datetime(2025, 11, 2, 8, tzinfo=UTC)),
    ],
)
def test_business_hours_across_dst(
    tz: ZoneInfo, hours: BusinessHours, received: datetime, due: datetime
) -> None:
    policy = SlaPolicy(tz=tz, business_hours=hours)
    assert evaluate(ticket(Severity.HIGH, received), policy, received).response.due == due
    assert working_time_between(received, due, policy) == 4 * H


def test_dst_night_window_lengths() -> None:
    nights = SlaPolicy(tz=PARIS, business_hours=NIGHTS)
    spring_day = (local(PARIS, 2025, 3, 30, 0), local(PARIS, 2025, 3, 31, 0))
    autumn_day = (local(PARIS, 2025, 10, 26, 0), local(PARIS, 2025, 10, 27, 0))
    assert working_time_between(*spring_day, nights) == 5 * H
    assert working_time_between(*autumn_day, nights) == 7 * H
    # 6h from Sunday 00:00 in March: 5h Sunday, then Monday 00:00-01:00 CEST.
    assert add_working_time(spring_day[0], 6 * H, nights) == local(PARIS, 2025, 3, 31, 1)


# -- restarts and sorting -----------------------------------------------------------------------


def test_evaluate_is_identical_on_a_ticket_rebuilt_from_stored_fields() -> None:
    """Restart safety: a ticket rebuilt from ISO strings reads exactly the same."""
    received = local(PARIS, 2025, 3, 28, 16)
    original = ticket(
        Severity.MEDIUM,
        received,
        first_response=received + 20 * M,
        pauses=((received + H, received + 3 * H), (received + 70 * H, None)),
    )
    stored = {k: v.isoformat() for k, v in asdict(original).items() if isinstance(v, datetime)}
    stored_pauses = [(s.isoformat(), e.isoformat() if e else None) for s, e in original.pauses]
    rebuilt = replace(
        original,
        received_at=datetime.fromisoformat(stored["received_at"]),
        first_response_at=datetime.fromisoformat(stored["first_response_at"]),
        pauses=tuple(
            (datetime.fromisoformat(s), datetime.fromisoformat(e) if e else None)
            for s, e in stored_pauses
        ),
    )
    for policy in (DEFAULT_POLICY, SlaPolicy(tz=PARIS, business_hours=WEEKDAYS_9_18)):
        for now in (received + 2 * H, received + 50 * H, received + 100 * H):
            assert evaluate(rebuilt, policy, now) == evaluate(original, policy, now)
            assert next_deadline(rebuilt, policy, now) == next_deadline(original, policy, now)


def test_next_deadline_orders_the_queue_by_time_to_breach() -> None:
    now = T0 + 2 * H
    tickets = [
        ticket(Severity.LOW, T0, number=101),  # response due T0+48h
        ticket(Severity.CRITICAL, T0 + 90 * M, number=102),  # due T0+2h30m
        ticket(Severity.HIGH, T0 - 10 * H, number=103),  # overdue since T0-6h
        ticket(Severity.HIGH, T0, first_response=T0 + M, number=104),  # resolution T0+24h
        ticket(Severity.MEDIUM, T0, pauses=((T0 + H, None),), number=105),  # paused
        ticket(Severity.CRITICAL, T0, first_response=T0 + M, number=106),  # best effort
    ]
    deadlines = {t.number: next_deadline(t, DEFAULT_POLICY, now) for t in tickets}
    assert deadlines == {
        101: T0 + 48 * H,
        102: T0 + 150 * M,
        103: T0 - 6 * H,
        104: T0 + 24 * H,
        105: None,
        106: None,
    }
    running = [t for t in tickets if deadlines[t.number] is not None]
    by_deadline = sorted(running, key=lambda t: deadlines[t.number] or T0)
    by_breach = sorted(running, key=lambda t: evaluate(t, DEFAULT_POLICY, now).time_to_breach or H)
    assert [t.number for t in by_deadline] == [t.number for t in by_breach] == [103, 102, 104, 101]


# -- helpers and edge cases ---------------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        evaluate(ticket(), DEFAULT_POLICY, datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        add_working_time(datetime(2025, 1, 1), H, DEFAULT_POLICY)


def test_results_are_utc_even_for_local_inputs() -> None:
    received = local(PARIS, 2025, 6, 16, 10)
    due = add_working_time(received, H, DEFAULT_POLICY)
    assert due.tzinfo is UTC and due == received + H


@pytest.mark.parametrize(
    "bad",
    [
        lambda: BusinessHours(time(18), time(9)),
        lambda: BusinessHours(time(9), time(18), frozenset()),
        lambda: BusinessHours(time(9), time(18), frozenset({7})),
        lambda: SlaPolicy(at_risk_fraction=1.0),
    ],
)
def test_invalid_policies_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_business_hours_until_midnight() -> None:
    policy = SlaPolicy(business_hours=BusinessHours(time(20), time(0), frozenset(range(7))))
    start = datetime(2025, 6, 16, 23, tzinfo=UTC)
    assert add_working_time(start, 2 * H, policy) == datetime(2025, 6, 17, 21, tzinfo=UTC)


def test_missing_severity_target_falls_back_to_the_guide() -> None:
    policy = SlaPolicy(targets={Severity.HIGH: SlaTarget(2 * H, None)})
    assert evaluate(ticket(Severity.HIGH), policy, T0).response.due == T0 + 2 * H
    assert evaluate(ticket(Severity.LOW), policy, T0).response.due == T0 + 48 * H


def test_clock_reading_label_of_a_bare_reading() -> None:
    assert ClockReading(SlaState.OK, T0, 2 * H + 13 * M).label() == "2h13m left"
