"""Hunt 3: uptime over windows that cut an hour, hours nobody probed, and the 24h column.

Expected values are worked out by hand in the comments, never by calling the code under
test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.core.models import ProbeState, Uptime
from opsconsole.core.report_render import render_report_md, report_json
from opsconsole.core.reports import Report, build_report
from opsconsole.core.sla import DEFAULT_POLICY
from opsconsole.core.uptime import DAY, RollupRow, compute_uptime
from opsconsole.engine import ProbeStatus
from opsconsole.widgets.health_pane import HealthPane

NOW = datetime(2025, 3, 31, 12, 30, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(hour: int, minute: int = 0, day: int = 31) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def report(
    rows: list[RollupRow],
    since: datetime,
    until: datetime = NOW,
    **extra: object,
) -> Report:
    return build_report(
        since=since,
        until=until,
        rollups={"p": rows},
        target=99.5,
        tickets=(),
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=15 * M,
        **extra,  # type: ignore[arg-type]
    )


def test_a_period_starting_mid_hour_counts_only_its_share_of_that_hour() -> None:
    # 10:00 all 60 results failed, 11:00 all 60 up, 12:00 30 up (30 minutes elapsed).
    rows = [
        RollupRow(epoch(at(10)), 60, 0),
        RollupRow(epoch(at(11)), 60, 60),
        RollupRow(epoch(at(12)), 30, 30),
    ]
    (probe,) = report(rows, since=at(10, 30)).uptime
    # Only 10:30-11:00 of the 10:00 hour is in the period: half its results, 30 minutes.
    assert probe.downtime_minutes == pytest.approx(30)
    assert probe.uptime == pytest.approx(100 * 90 / (30 + 60 + 30))
    assert probe.covered_minutes == pytest.approx(120)


def test_downtime_never_exceeds_the_period() -> None:
    # Down in every hour from 11:00 yesterday; the 24 h period starts at 12:30 yesterday.
    rows = [RollupRow(epoch(at(12) - n * H), 60, 0) for n in range(26)]
    (probe,) = report(rows, since=NOW - DAY).uptime
    assert probe.downtime_minutes == pytest.approx(24 * 60)
    assert probe.uptime == 0.0


@pytest.mark.parametrize("minute", [0, 1, 30, 59])
def test_the_dashboard_24h_agrees_with_a_report_over_the_last_24h(minute: int) -> None:
    now = NOW.replace(minute=minute)
    rows = [RollupRow(epoch(at(12) - n * H), 60, 60 - (n % 7) * 5) for n in range(30)]
    (probe,) = report(rows, since=now - DAY, until=now).uptime
    assert probe.uptime is not None
    assert compute_uptime(rows, now).day == pytest.approx(probe.uptime)


def test_hours_nobody_probed_are_not_downtime_and_the_report_says_so() -> None:
    # Probing every minute: down from 09:00, the console quit at 09:05 (5 failed results)
    # and ran again from 11:00 (all up). Period 09:00-12:30 = 210 minutes.
    rows = [
        RollupRow(epoch(at(9)), 5, 0),
        RollupRow(epoch(at(11)), 60, 60),
        RollupRow(epoch(at(12)), 30, 30),
    ]
    result = report(rows, since=at(9), intervals={"p": M})
    (probe,) = result.uptime
    assert probe.downtime_minutes == pytest.approx(5)  # not the whole 09:00 hour
    assert probe.covered_minutes == pytest.approx(5 + 60 + 30)
    text = render_report_md(result, UTC)
    assert "45.2%" in text  # 95 of 210 minutes probed, cut, not rounded
    row = report_json(result)["uptime"][0]
    assert row["covered_minutes"] == 95.0 and row["coverage_percent"] == pytest.approx(45.238)


def test_a_period_longer_than_the_retention_says_how_much_history_there_is() -> None:
    kept = NOW - timedelta(days=30)
    result = report(
        [RollupRow(epoch(at(12)), 30, 30)], since=NOW - timedelta(days=90), history_from=kept
    )
    text = render_report_md(result, UTC)
    assert "2025-03-01 12:30" in text and "retention" in text
    data = json.loads(json.dumps(report_json(result)))
    assert data["history_from"] == "2025-03-01T12:30:00+00:00"
    short = report_json(report([], since=NOW - timedelta(days=7)))
    assert short["history_from"] is None


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        pytest.param(99.4996, "99.49%", id="just-below-target"),
        pytest.param(99.9996, "99.99%", id="just-below-100"),
        pytest.param(99.5, "99.50%", id="exactly-at-target"),
    ],
)
def test_the_24h_column_never_rounds_up_to_a_missed_target_or_to_100(
    day: float, shown: str
) -> None:
    pane = HealthPane(timezone=UTC, uptime_target=99.5)
    status = ProbeStatus(
        name="p", target="t", state=ProbeState.UP, result=None, uptime=Uptime(day, None, None)
    )
    text, style = pane._row_cells(status)[4]
    assert text == shown
    assert style == ("green" if day >= 99.5 else "red")


def test_results_stamped_exactly_at_the_end_on_the_hour_still_count() -> None:
    # ``now`` is 12:00:00 sharp: the 12:00 bucket holds the result written at that instant.
    rows = [RollupRow(epoch(at(11)), 60, 60), RollupRow(epoch(at(12)), 1, 0)]
    assert compute_uptime(rows, at(12)).day == pytest.approx(100 * 60 / 61)
    (probe,) = report(rows, since=at(11), until=at(12)).uptime
    assert probe.samples == 61 and probe.downtime_minutes == 0.0
