"""Hunt: SLA countdown labels at the edges of a breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.core.sla import DEFAULT_POLICY, ClockReading, SlaState, evaluate
from opsconsole.core.tickets import Category, Requester, Severity, Ticket

RECEIVED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def ticket() -> Ticket:
    return Ticket(
        number=101,
        subject="API down",
        requester=Requester("Kim", "kim@globex.com"),
        received_at=RECEIVED,
        category=Category.BUG,
        severity=Severity.CRITICAL,
    )


@pytest.mark.parametrize(
    ("after_due", "label"),
    [
        (timedelta(milliseconds=-500), "at risk · 0s left"),
        (timedelta(0), "at risk · 0s left"),
        (timedelta(milliseconds=1), "overdue by 1s"),
        (timedelta(milliseconds=999), "overdue by 1s"),
        (timedelta(seconds=1), "overdue by 1s"),
        (timedelta(seconds=1, milliseconds=1), "overdue by 2s"),
        (timedelta(minutes=5), "overdue by 5m00s"),
    ],
)
def test_overdue_counts_up_from_one_second(after_due: timedelta, label: str) -> None:
    """The first second of a breach read "overdue by 0s" (whole seconds truncated)."""
    now = RECEIVED + timedelta(hours=1) + after_due
    reading = evaluate(ticket(), DEFAULT_POLICY, now).response
    assert reading.label() == label
    assert (reading.state is SlaState.BREACHED) == (after_due > timedelta(0))


def test_a_stopped_clock_missed_by_a_fraction_reads_one_second() -> None:
    reading = ClockReading(
        SlaState.BREACHED, None, timedelta(milliseconds=-200), stopped_at=RECEIVED
    )
    assert reading.label() == "missed by 1s"


def test_time_left_still_counts_down_in_whole_seconds() -> None:
    reading = ClockReading(SlaState.OK, None, timedelta(seconds=59, milliseconds=900))
    assert reading.label() == "59s left"


def test_a_low_ticket_without_a_resolution_target_reads_n_a_not_best_effort() -> None:
    """Guide §2: critical resolution is "Best effort", low resolution "N/A". With
    ``sla.targets.low.resolution: null`` a low ticket's clock read "best effort"."""
    import yaml

    from opsconsole.config.loader import loads_config

    config = loads_config(yaml.safe_dump({"sla": {"targets": {"low": {"resolution": None}}}}))
    policy = config.sla.to_policy(config.tz)
    low = evaluate(
        Ticket(
            number=102,
            subject="Docs typo",
            requester=Requester("Li", "li@initech.com"),
            received_at=RECEIVED,
            category=Category.QUESTION,
            severity=Severity.LOW,
        ),
        policy,
        RECEIVED + timedelta(days=30),
    )
    assert low.resolution.state is SlaState.NONE and low.resolution.due is None
    assert low.resolution.label() == "N/A"
    assert low.resolution.running is False  # never at risk, never breached
    critical = evaluate(ticket(), policy, RECEIVED + timedelta(days=30)).resolution
    assert critical.label() == "best effort"
