"""The SLA and uptime report against numbers worked out by hand from the fixture.

Every expected value below is derived from the fixture with plain arithmetic (shown in the
comments and the expressions), never by calling the code under test. The Markdown and JSON
forms are compared with ``tests/unit/golden/report.md`` and ``report.json``; after an
intended change to their format, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_reports.py
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.report_render import render_report_md, report_json
from opsconsole.core.reports import (
    ProbeUptime,
    Report,
    SlaAttainment,
    SlaBreach,
    build_report,
)
from opsconsole.core.sla import DEFAULT_POLICY
from opsconsole.core.tickets import Category, Requester, Severity, Status, Ticket
from opsconsole.core.uptime import RollupRow

GOLDEN = Path(__file__).parent / "golden"
UNTIL = datetime(2025, 3, 31, 12, 30, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=30)  # 2025-03-01 12:30
H = timedelta(hours=1)
M = timedelta(minutes=1)
EVERY = 15 * M
PARIS = ZoneInfo("Europe/Paris")


def utc(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# -- rollups ---------------------------------------------------------------------------------

# "API health": one sample a minute in every hour of the window. The window's buckets run
# from 2025-03-01 12:00 (the hour containing SINCE) to 2025-03-31 12:00 (containing UNTIL):
# 30 × 24 + 1 = 721 buckets; the last is 30 minutes old and holds 30 samples. SINCE cuts
# the first in half: it counts pro rata, as 30 samples with 15 failed.
API_FAILED = {utc(1, 12): 30, utc(10, 5): 6, utc(31, 12): 15}
API_BUCKETS = 30 * 24 + 1


def api_rows() -> list[RollupRow]:
    rows = [RollupRow(epoch(utc(1, 11)), 60, 0)]  # before the window: ignored
    for n in range(API_BUCKETS):
        hour = utc(1, 12) + n * H
        total = 30 if hour == utc(31, 12) else 60
        rows.append(RollupRow(epoch(hour), total, total - API_FAILED.get(hour, 0)))
    rows.append(RollupRow(epoch(utc(31, 13)), 10, 0))  # in the future: ignored
    return rows


# "Dashboard": a sample every 5 minutes on 15 March only; 10:00 all failed, 11:00 3 of 12.
def dashboard_rows() -> list[RollupRow]:
    failed = {10: 12, 11: 3}
    return [RollupRow(epoch(utc(15, h)), 12, 12 - failed.get(h, 0)) for h in range(24)]


ROLLUPS = {
    "API health": api_rows(),
    "Dashboard": dashboard_rows(),
    "Old probe": [RollupRow(epoch(utc(20, 0, month=2)), 60, 60)],  # only before the window
}


# -- tickets ---------------------------------------------------------------------------------


def ticket(
    number: int,
    severity: Severity,
    category: Category,
    received: datetime,
    response: datetime | None = None,
    resolved: datetime | None = None,
    pauses: tuple[tuple[datetime, datetime | None], ...] = (),
) -> Ticket:
    return Ticket(
        number=number,
        subject=f"Ticket {number}",
        requester=Requester("Ada", "ada@example.com", "Acme"),
        received_at=received,
        category=category,
        severity=severity,
        status=Status.RESOLVED if resolved else Status.OPEN,
        first_response_at=response,
        resolved_at=resolved,
        pauses=pauses,
    )


C, HI, MED, LO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
BUG, FEAT, QUES, BILL, FEED = (
    Category.BUG,
    Category.FEATURE,
    Category.QUESTION,
    Category.BILLING,
    Category.FEEDBACK,
)

# Targets (guide §2 / §3.3, calendar time): critical 1h / none, high 4h / 24h,
# medium 12h / 72h, low 48h / 168h.
TICKETS = (
    # critical
    ticket(101, C, BUG, utc(5, 10), utc(5, 10, 30), utc(5, 14)),  # resp 30m: met
    ticket(102, C, BUG, utc(6, 9), utc(6, 10, 45)),  # resp 1h45m: late 45m
    ticket(103, C, BUG, utc(31, 12)),  # running 30m of 1h: not decided
    ticket(104, C, BUG, utc(31, 11)),  # running 1h30m of 1h: late 30m so far
    # high
    ticket(105, HI, BUG, utc(7, 8), utc(7, 9), utc(8, 10)),  # resp met; res 26h: late 2h
    ticket(106, HI, BUG, utc(8, 0), utc(8, 5), utc(8, 20)),  # resp 5h: late 1h; res 20h: met
    ticket(107, HI, QUES, utc(31, 0), utc(31, 1)),  # resp met; res running 12h30m
    # Paused 48h pending on the customer: resolution = 2h + 10h = 12h of 24h, met.
    ticket(108, HI, BUG, utc(12, 8), utc(12, 9), utc(14, 20), ((utc(12, 10), utc(14, 10)),)),
    # medium
    ticket(109, MED, QUES, utc(2, 0), utc(2, 11), utc(4, 0)),  # 11h met; 48h met
    ticket(110, MED, FEAT, utc(3, 0), utc(3, 13), utc(7, 0)),  # 13h: late 1h; 96h: late 24h
    ticket(111, MED, BILL, utc(30, 0)),  # no reply after 36h30m: late 24h30m; res running
    # low
    ticket(112, LO, FEAT, utc(10, 0), utc(11, 0), utc(20, 0)),  # 24h met; 240h: late 72h
    ticket(113, LO, FEED, utc(25, 0), utc(25, 1), utc(26, 0)),  # met; met
    ticket(114, LO, QUES, utc(29, 12, 30)),  # exactly 48h unanswered: not late yet
    ticket(115, LO, BUG, utc(15, 0), None, utc(15, 6)),  # resolved without reply: both met
    ticket(118, LO, BILL, SINCE, utc(1, 13)),  # at SINCE: resp met; res 30d: late 23d
    # outside the window: counted nowhere
    ticket(116, HI, BUG, utc(28, 0, month=2), utc(28, 9, month=2)),
    ticket(117, MED, BUG, utc(31, 13)),
)


# -- incidents -------------------------------------------------------------------------------


def incident(
    number: int,
    started: datetime,
    updates: tuple[int, ...],
    resolved_after: int | None,
) -> Incident:
    """An incident with stakeholder updates ``updates`` minutes after the start."""
    resolved = None if resolved_after is None else started + resolved_after * M
    timeline = (
        TimelineEntry(started, EntryKind.DECLARED, "Declared", actor="alice"),
        *(TimelineEntry(started + m * M, EntryKind.UPDATE, f"update +{m}") for m in updates),
    )
    return Incident(
        id=number,
        title=f"Incident {number}",
        component="API",
        severity=IncidentSeverity.CRITICAL,
        status=IncidentStatus.RESOLVED if resolved else IncidentStatus.INVESTIGATING,
        started_at=started,
        resolved_at=resolved,
        last_update_at=started + updates[-1] * M if updates else None,
        timeline=timeline,
    )


INCIDENTS = (
    # 47 min; updates after 10, 15, 15 min: 3 of 3 on time.
    incident(1, utc(4, 14, 30), (10, 25, 40), 47),
    # 120 min; updates after 20 (late), 10, 30 (late) min: 1 of 3 on time.
    incident(2, utc(18, 2), (20, 30, 60), 120),
    # active, 30 min old at UNTIL, no update yet: 0 of 1 (the overdue one) on time.
    incident(3, utc(31, 12), (), None),
    # started before the window: ignored.
    incident(4, utc(20, 9, month=2), (5,), 30),
)


def report() -> Report:
    return build_report(
        since=SINCE,
        until=UNTIL,
        rollups=ROLLUPS,
        target=99.5,
        tickets=TICKETS,
        policy=DEFAULT_POLICY,
        incidents=INCIDENTS,
        update_every=EVERY,
    )


# -- uptime ----------------------------------------------------------------------------------


def test_uptime_per_probe_matches_hand_computed_values() -> None:
    api_samples = 720 * 60 + 30  # stored in the 721 buckets
    api_counted = 30 + 719 * 60 + 30  # the first bucket half
    api_failed = 15 + 6 + 15
    # 30/60 of the 30 minutes of the first hour, 6/60 of an hour, 15/30 of 30 minutes.
    api_down = 30 / 60 * 30 + 6 / 60 * 60 + 15 / 30 * 30
    dash_samples = 24 * 12
    dash_down = 12 / 12 * 60 + 3 / 12 * 60
    assert report().uptime == (
        ProbeUptime(
            probe="API health",
            uptime=pytest.approx(100 * (api_counted - api_failed) / api_counted),  # type: ignore[arg-type]
            target=99.5,
            downtime_minutes=pytest.approx(api_down),  # type: ignore[arg-type]
            samples=api_samples,
            met=True,
            covered_minutes=pytest.approx(30 * 24 * 60),  # type: ignore[arg-type]
        ),
        ProbeUptime(
            probe="Dashboard",
            uptime=pytest.approx(100 * (dash_samples - 15) / dash_samples),  # type: ignore[arg-type]
            target=99.5,
            downtime_minutes=pytest.approx(dash_down),  # type: ignore[arg-type]
            samples=dash_samples,
            met=False,
            covered_minutes=24 * 60,
        ),
        ProbeUptime("Old probe", None, 99.5, 0.0, 0, None),
    )
    assert api_down == 36.0 and dash_down == 75.0
    assert round(100 * (api_counted - api_failed) / api_counted, 3) == 99.917


def test_uptime_exactly_at_target_is_met_and_the_partial_hour_counts_elapsed_minutes() -> None:
    until = utc(2, 10, 20)  # 20 minutes into the 10:00 bucket
    rows = {"p": [RollupRow(epoch(utc(2, 9)), 1000, 995), RollupRow(epoch(utc(2, 10)), 10, 5)]}
    result = build_report(
        since=utc(2, 9),
        until=until,
        rollups=rows,
        target=100 * 1000 / 1010,
        tickets=(),
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=EVERY,
    )
    (probe,) = result.uptime
    assert probe.uptime == 100 * 1000 / 1010
    assert probe.met is True
    assert probe.downtime_minutes == pytest.approx(5 / 1000 * 60 + 5 / 10 * 20)


# -- SLA -------------------------------------------------------------------------------------


def test_sla_attainment_per_severity_matches_the_hand_worked_table() -> None:
    def late(number: int, severity: Severity, clock: str, by: timedelta) -> SlaBreach:
        return SlaBreach(number, severity, clock, by)  # type: ignore[arg-type]

    assert report().sla == (
        # critical: resp 101 met, 102 late, 104 late (103 running); no resolution target.
        SlaAttainment(
            C, 1, 3, 0, 0, (late(102, C, "response", 45 * M), late(104, C, "response", 30 * M))
        ),
        # high: resp 105, 107, 108 met, 106 late; res 106, 108 met, 105 late (107 running).
        SlaAttainment(
            HI,
            3,
            4,
            2,
            3,
            (late(105, HI, "resolution", 2 * H), late(106, HI, "response", 1 * H)),
        ),
        # medium: resp 109 met, 110 and 111 late; res 109 met, 110 late (111 running).
        SlaAttainment(
            MED,
            1,
            3,
            1,
            2,
            (
                late(110, MED, "response", 1 * H),
                late(110, MED, "resolution", 24 * H),
                late(111, MED, "response", 24 * H + 30 * M),
            ),
        ),
        # low: resp 112, 113, 115, 118 met (114 at exactly 48h: not late yet);
        # res 113, 115 met, 112 and 118 late (114 running).
        SlaAttainment(
            LO,
            4,
            4,
            2,
            4,
            (
                late(112, LO, "resolution", 72 * H),
                late(118, LO, "resolution", timedelta(days=30 - 7)),
            ),
        ),
    )


def test_sla_percentages_and_empty_totals() -> None:
    critical, high, medium, low = report().sla
    assert critical.response_pct == pytest.approx(100 / 3)
    assert critical.resolution_pct is None  # best effort: no clock decided
    assert high.response_pct == 75.0 and high.resolution_pct == pytest.approx(200 / 3)
    assert medium.resolution_pct == 50.0
    assert low.response_pct == 100.0 and low.resolution_pct == 50.0


def test_pause_pending_on_the_customer_is_not_counted_against_resolution() -> None:
    unpaused = tuple(
        ticket(108, HI, BUG, utc(12, 8), utc(12, 9), utc(14, 20)) if t.number == 108 else t
        for t in TICKETS
    )
    result = build_report(
        since=SINCE,
        until=UNTIL,
        rollups={},
        target=99.5,
        tickets=unpaused,
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=EVERY,
    )
    high = result.sla[1]
    assert (high.resolution_met, high.resolution_total) == (1, 3)
    # 60h from received to resolved without the pause: 36h past the 24h target.
    assert SlaBreach(108, HI, "resolution", 36 * H) in high.breaches


def test_a_reply_after_until_is_not_known_yet() -> None:
    """Reporting on a past period reads the clocks as they stood at ``until``."""
    answered_later = ticket(120, C, BUG, utc(31, 12), utc(31, 12, 45))
    result = build_report(
        since=SINCE,
        until=UNTIL,
        rollups={},
        target=99.5,
        tickets=(answered_later,),
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=EVERY,
    )
    assert (result.sla[0].response_met, result.sla[0].response_total) == (0, 0)


# -- volume and incidents --------------------------------------------------------------------


def test_volume_counts_every_ticket_received_in_the_window() -> None:
    in_window = [t for t in TICKETS if SINCE <= t.received_at <= UNTIL]
    assert len(in_window) == 16
    result = report()
    assert result.volume_by_category == {
        "bug": 8,  # 101–106, 108, 115
        "feature": 2,  # 110, 112
        "question": 3,  # 107, 109, 114
        "billing": 2,  # 111, 118
        "feedback": 1,  # 113
    }
    assert result.volume_by_severity == {"critical": 4, "high": 4, "medium": 3, "low": 5}


def test_incident_summary_matches_hand_computed_values() -> None:
    summary = report().incidents
    assert summary.count == 3
    assert summary.total_duration == (47 + 120 + 30) * M
    assert summary.mean_duration == (47 + 120 + 30) * M / 3
    assert summary.mean_time_to_first_update == (10 + 20) * M / 2  # incident 3 has none
    assert summary.cadence_kept == pytest.approx((100 + 100 / 3 + 0) / 3)
    assert summary.mttr == (47 + 120) * M / 2  # incident 3 is still active


def test_an_empty_period_has_no_averages() -> None:
    result = build_report(
        since=SINCE,
        until=SINCE,
        rollups={},
        target=99.9,
        tickets=(),
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=EVERY,
    )
    assert result.uptime == ()
    assert all(row.response_total == row.resolution_total == 0 for row in result.sla)
    assert sum(result.volume_by_category.values()) == 0
    summary = result.incidents
    assert (summary.count, summary.total_duration) == (0, timedelta(0))
    assert summary.mean_duration is summary.mttr is summary.cadence_kept is None
    assert "_No incidents started in this period._" in render_report_md(result, UTC)
    assert "_No probe data in this period._" in render_report_md(result, UTC)


def test_bad_periods_are_refused() -> None:
    kwargs: dict[str, object] = {
        "rollups": {},
        "target": 99.5,
        "tickets": (),
        "policy": DEFAULT_POLICY,
        "incidents": (),
        "update_every": EVERY,
    }
    with pytest.raises(ValueError, match="end before"):
        build_report(since=UNTIL, until=SINCE, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        build_report(since=SINCE.replace(tzinfo=None), until=UNTIL, **kwargs)  # type: ignore[arg-type]


# -- rendering -------------------------------------------------------------------------------


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_markdown_matches_the_golden_file() -> None:
    """Times in the operator's zone (Paris: the window spans the switch to summer time)."""
    check_golden("report.md", render_report_md(report(), PARIS))


def test_json_matches_the_golden_file() -> None:
    data = report_json(report())
    check_golden("report.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def test_markdown_shows_the_numbers_and_charts() -> None:
    text = render_report_md(report(), UTC)
    assert text == render_report_md(report(), UTC)
    assert "Period: 2025-03-01 12:30 UTC → 2025-03-31 12:30 UTC (30 days)" in text
    assert "| API health | 99.917% | 99.5% | 36.0 min | 43230 | 100.0% | yes |" in text
    assert "| Dashboard | 94.792% | 99.5% | 75.0 min | 288 | 3.3% | **no** |" in text
    assert "| Old probe | — | 99.5% | 0.0 min | 0 | 0.0% | — |" in text
    assert "| High | 3/4 (75.0%) | 2/3 (66.7%) | 2 |" in text
    assert "| Critical | 1/3 (33.3%) | — | 2 |" in text
    assert "- #118 · Low · resolution late by 23d00h00m" in text
    assert "- #111 · Medium · response late by 1d00h30m" in text
    chart = text.split("Tickets by category:", 1)[1]
    assert "Bug       ████████████████████ 8" in chart
    assert "Feedback  ██                   1" in chart  # 20 × 1/8 = 2.5, rounded to even
    uptime_chart = text.split("Uptime chart", 1)[1]
    assert "(bars from 90% to 100%)" in uptime_chart  # the Dashboard is below 95%
    assert "API health  ████████████████████  99.917%  (target 99.5%)  ok" in uptime_chart


def test_untrusted_probe_names_stay_in_their_cell() -> None:
    result = build_report(
        since=utc(2, 9),
        until=utc(2, 10),
        rollups={"evil|name\n## Forged\x1b[2J": [RollupRow(epoch(utc(2, 9)), 10, 10)]},
        target=99.5,
        tickets=(),
        policy=DEFAULT_POLICY,
        incidents=(),
        update_every=EVERY,
    )
    text = render_report_md(result, UTC)
    assert "\n## Forged" not in text
    assert "\x1b" not in text
    assert "| evil\\|name ## Forged^[[2J | 100.000% |" in text


def test_json_uses_seconds_rounded_percents_and_stable_keys() -> None:
    data = report_json(report())
    assert list(data) == ["since", "until", "uptime", "sla", "volume", "incidents", "history_from"]
    assert data["since"] == "2025-03-01T12:30:00+00:00"
    assert data["uptime"][0] == {
        "probe": "API health",
        "uptime_percent": 99.917,
        "target_percent": 99.5,
        "downtime_minutes": 36.0,
        "samples": 43230,
        "met": True,
        "covered_minutes": 43200.0,
        "coverage_percent": 100.0,
    }
    assert data["sla"][0]["response"] == {"met": 1, "total": 3, "percent": 33.333}
    assert data["sla"][0]["resolution"] == {"met": 0, "total": 0, "percent": None}
    assert data["sla"][0]["breaches"][0] == {
        "ticket": 102,
        "clock": "response",
        "late_seconds": 2700.0,
    }
    assert data["volume"]["total"] == 16
    assert data["incidents"] == {
        "count": 3,
        "total_duration_seconds": 197 * 60.0,
        "mean_duration_seconds": 3940.0,  # 197 min / 3
        "mean_time_to_first_update_seconds": 900.0,
        "cadence_kept_percent": 44.444,
        "mttr_seconds": 5010.0,  # 83.5 min
    }
