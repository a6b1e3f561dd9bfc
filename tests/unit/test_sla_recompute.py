"""What recomputing the stored deadlines rests on: ``policy_key`` (the fingerprint that tells
a start-up the SLA policy changed) and the fast ``next_deadline``."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsconsole.core.sla import (
    DEFAULT_TARGETS,
    BusinessHours,
    SlaPolicy,
    SlaTarget,
    evaluate,
    next_deadline,
    policy_key,
)
from opsconsole.core.tickets import Category, Requester, Severity, Ticket

BASE = SlaPolicy()


def test_equal_policies_have_equal_keys() -> None:
    """The key is stable (no object ids, no set order): the same config gives the same key
    in every process, so an unchanged policy never triggers a recompute."""
    explicit = SlaPolicy(targets=dict(DEFAULT_TARGETS), holidays=frozenset())
    assert policy_key(BASE) == policy_key(explicit) == policy_key(SlaPolicy())
    assert policy_key(BASE).startswith("sla-1:")


def test_the_at_risk_fraction_moves_no_deadline() -> None:
    assert policy_key(SlaPolicy(at_risk_fraction=0.5)) == policy_key(BASE)


@pytest.mark.parametrize(
    "changed",
    [
        SlaPolicy(targets={**DEFAULT_TARGETS, Severity.LOW: SlaTarget(timedelta(hours=24), None)}),
        SlaPolicy(
            targets={
                **DEFAULT_TARGETS,
                Severity.HIGH: SlaTarget(timedelta(hours=4), timedelta(hours=25)),
            }
        ),
        SlaPolicy(tz=ZoneInfo("Europe/Berlin")),
        SlaPolicy(business_hours=BusinessHours(time(9), time(18))),
        SlaPolicy(business_hours=BusinessHours(time(9), time(17))),
        SlaPolicy(business_hours=BusinessHours(time(9), time(18), frozenset({0, 1, 2, 3}))),
        SlaPolicy(holidays=frozenset({date(2026, 12, 25)})),
        SlaPolicy(pause_when_pending=False),
    ],
    ids=[
        "target",
        "resolution",
        "timezone",
        "business",
        "closing",
        "days",
        "holidays",
        "pause",
    ],
)
def test_whatever_moves_a_deadline_changes_the_key(changed: SlaPolicy) -> None:
    assert policy_key(changed) != policy_key(BASE)


def _random_ticket(rnd: random.Random, now: datetime) -> Ticket:
    def moment(after: datetime) -> datetime:
        return after + timedelta(minutes=rnd.randrange(0, 60 * 24 * 5))

    received = now - timedelta(minutes=rnd.randrange(0, 60 * 24 * 8))
    pauses: list[tuple[datetime, datetime | None]] = []
    start = received
    for _ in range(rnd.choice([0, 0, 1, 2, 3])):
        start = moment(start)
        end = moment(start) if rnd.random() < 0.7 else None
        pauses.append((start, end))
        if end is None:
            break
        start = end
    first = moment(received) if rnd.random() < 0.4 else None
    resolved = moment(received) if rnd.random() < 0.3 else None
    return Ticket(
        number=101,
        subject="s",
        requester=Requester("r", "r@x.io", "x.io"),
        received_at=received,
        category=Category.BUG,
        severity=rnd.choice(list(Severity)),
        first_response_at=first,
        resolved_at=resolved,
        pauses=tuple(pauses),
    )


@pytest.mark.parametrize(
    "policy",
    [
        SlaPolicy(),
        SlaPolicy(pause_when_pending=False),
        SlaPolicy(
            tz=ZoneInfo("America/New_York"),
            business_hours=BusinessHours(time(9), time(17)),
            holidays=frozenset({date(2026, 11, 26)}),
        ),
        SlaPolicy(targets={**DEFAULT_TARGETS, Severity.LOW: SlaTarget(None, None)}),
    ],
    ids=["calendar", "no-pause", "business", "no-target"],
)
def test_next_deadline_is_the_earliest_due_of_the_running_clocks(policy: SlaPolicy) -> None:
    """``next_deadline`` skips measuring elapsed time (it is what a changed policy runs for
    every open ticket) but gives exactly what :func:`evaluate`'s running clocks say, for
    tickets stopped, resolved, paused, resumed or pending, evaluated before and after."""
    rnd = random.Random(7)
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    for _ in range(1500):
        ticket = _random_ticket(rnd, now)
        at = now + timedelta(minutes=rnd.randrange(-60 * 24 * 3, 60 * 24 * 3))
        status = evaluate(ticket, policy, at)
        dues = [c.due for c in (status.response, status.resolution) if c.running and c.due]
        assert next_deadline(ticket, policy, at) == min(dues, default=None), ticket
