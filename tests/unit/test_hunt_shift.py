"""Bug hunt on the shift features: checklist evidence, the SLA review line, the handover."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.checklists import DAILY_ITEMS, MONTHLY_ITEMS, Facts, ItemStatus, evaluate
from opsconsole.core.models import ProbeState
from opsconsole.core.report_render import render_report_md
from opsconsole.core.reports import Report, build_report
from opsconsole.core.sources import AlertsSnapshot, FiredAlert
from opsconsole.core.uptime import RollupRow, hour_start
from opsconsole.facts import gather_facts
from opsconsole.reporting import make_handover, sla_summary_line

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 14, 8, 5, tzinfo=UTC)  # 09:05 in Berlin, a Friday
THIS_SHIFT = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)  # 09:00 Berlin
LAST_SHIFT = datetime(2025, 3, 13, 20, 0, tzinfo=UTC)  # 21:00 Berlin, the night shift
ALERTS_ITEM = next(i for i in DAILY_ITEMS if i.auto == "alerts")
SLA_ITEM = next(i for i in MONTHLY_ITEMS if i.auto == "sla_review")


def berlin_config() -> Config:
    return loads_config("timezone: Europe/Berlin\nshift: {starts: ['09:00', '21:00']}\n")


def facts_for(snapshot: AlertsSnapshot) -> Facts:
    config = berlin_config()
    return asyncio.run(
        gather_facts(
            now=NOW, config=config, engine=None, sources={"alerts": (snapshot, None)}, store=None
        )
    )


# -- checklist evidence ---------------------------------------------------------------------


def test_evidence_times_are_in_the_operators_timezone() -> None:
    """ "nothing fired since 21:00" is Berlin time, as everywhere else on screen (not UTC)."""
    snapshot = AlertsSnapshot(firing=(), fired_since_shift=())
    result = evaluate(ALERTS_ITEM, facts_for(snapshot))
    assert result.status is ItemStatus.PASS
    assert result.evidence == "nothing fired since Thu 21:00"


def test_alert_history_of_this_shift_only_does_not_clear_the_night() -> None:
    """History read from 09:00 says nothing about 21:00–09:00: the item cannot pass, and
    its evidence names the window that was really read."""
    snapshot = AlertsSnapshot(firing=(), fired_since_shift=(), since=THIS_SHIFT)
    result = evaluate(ALERTS_ITEM, facts_for(snapshot))
    assert result.status is ItemStatus.UNKNOWN
    assert "nothing fired since 09:00" in result.evidence
    assert "Thu 21:00" in result.evidence


def test_alerts_fired_in_the_window_read_still_fail_the_item() -> None:
    fired = (FiredAlert("HighErrorRate", "critical"),)
    snapshot = AlertsSnapshot(firing=(), fired_since_shift=fired, since=THIS_SHIFT)
    result = evaluate(ALERTS_ITEM, facts_for(snapshot))
    assert result.status is ItemStatus.FAIL
    assert "HighErrorRate" in result.evidence


# -- the monthly SLA review line ------------------------------------------------------------


def empty_report(rollups: dict[str, list[RollupRow]] | None = None) -> Report:
    config = berlin_config()
    return build_report(
        since=NOW - timedelta(days=30),
        until=NOW,
        rollups=rollups or {},
        target=99.5,
        tickets=[],
        policy=config.sla.to_policy(config.tz),
        incidents=[],
        update_every=timedelta(minutes=15),
    )


def test_sla_review_on_an_empty_database_does_not_claim_every_probe_met_its_target() -> None:
    line = sla_summary_line(empty_report())
    assert "every probe met" not in line
    assert "no probe data" in line


def test_sla_review_with_probes_without_samples_does_not_claim_they_met_it() -> None:
    hour = hour_start(NOW - timedelta(hours=3))
    report = empty_report({"API health": [RollupRow(hour, 10, 10)], "Dashboard": []})
    line = sla_summary_line(report)
    assert "every probe met" not in line
    assert "Dashboard" in line


# -- the uptime percentage shown -------------------------------------------------------------


def test_an_uptime_just_below_target_is_not_printed_as_the_target() -> None:
    """99.49996 % misses 99.5 %: the table must not say "99.500% … **no**"."""
    hour = hour_start(NOW - timedelta(hours=3))
    report = empty_report({"API health": [RollupRow(hour, 10_000_000, 9_949_996)]})
    row = report.uptime[0]
    assert row.met is False
    text = render_report_md(report, BERLIN)
    assert "99.500%" not in text and "99.499%" in text


def test_an_uptime_with_a_failure_is_never_printed_as_100_percent() -> None:
    hour = hour_start(NOW - timedelta(hours=3))
    report = empty_report({"API health": [RollupRow(hour, 10_000_000, 9_999_999)]})
    text = render_report_md(report, BERLIN)
    assert "100.000%" not in text and "99.999%" in text


# -- the handover -----------------------------------------------------------------------------


def handover(alerts: AlertsSnapshot | None, alerts_error: str | None = None) -> str:
    config = berlin_config()
    text = asyncio.run(
        make_handover(
            store=None,
            config=config,
            now=NOW,
            probes=[("API health", ProbeState.UP, "")],
            alerts=alerts,
            alerts_error=alerts_error,
        )
    )
    assert isinstance(text, str)
    return text


def section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"*{title}*"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_handover_does_not_say_no_alerts_when_alerts_were_not_read() -> None:
    """An unconfigured or failing Alertmanager is not "none firing"."""
    text = handover(None)
    body = section(text, "Alerts firing")
    assert body[1:] != ["none"]
    assert "not checked" in body[1]
    failing = section(handover(None, "cannot reach Alertmanager"), "Alerts firing")
    assert "not checked" in failing[1] and "cannot reach Alertmanager" in failing[1]


def test_handover_lists_firing_alerts_and_none_when_read_and_quiet() -> None:
    assert section(handover(AlertsSnapshot(firing=())), "Alerts firing")[1:] == ["none"]
