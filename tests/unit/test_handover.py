"""The shift handover text (issue 6, item 3): sections, empty sections, hostile text.

The full text is compared with ``tests/unit/golden/handover.md``; after an intended change
to its format, regenerate it and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_handover.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsconsole.core.handover import NONE, SECTIONS, HandoverFacts, render_handover
from opsconsole.core.incidents import (
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
)

GOLDEN = Path(__file__).parent / "golden" / "handover.md"
NOW = datetime(2025, 3, 4, 17, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
M = timedelta(minutes=1)


def active_incident() -> Incident:
    return Incident(
        id=12,
        title="API returning 500 errors",
        component="API",
        severity=IncidentSeverity.CRITICAL,
        status=IncidentStatus.IDENTIFIED,
        started_at=NOW - 95 * M,
        impact=Impact(customers=3, failing_percent=2.0),
        last_update_at=NOW - 10 * M,
    )


def facts(**changes: object) -> HandoverFacts:
    values: dict[str, object] = {
        "now": NOW,
        "operator": "Alex Doe",
        "incident": active_incident(),
        "tickets_at_risk": (
            (104, "critical", "CRITICAL: API returning 500 errors", "resp overdue by 30m00s"),
            (111, "medium", "Why am I charged twice?", "resp at risk · 2h10m left"),
        ),
        "probes_bad": (
            ("API health", "down", "[STATUS] (503) == 200"),
            ("Dashboard", "degraded", "[RESPONSE_TIME] (2300) < 1000"),
        ),
        "alerts_firing": (("HighErrorRate", "critical", "5xx rate above 5% for 10m"),),
        "checklist_failed": (
            ("Verify API health: curl https://api.domain.com/health", "HTTP 503 after 212 ms"),
            ("Review Sentry (new error counts)", ""),
        ),
        "notes": "Rollback to v2.3.0 in progress.\nBob owns the Stripe ticket (#111).\n",
    }
    values.update(changes)
    return HandoverFacts(**values)  # type: ignore[arg-type]


def empty() -> HandoverFacts:
    return facts(
        incident=None,
        tickets_at_risk=(),
        probes_bad=(),
        alerts_firing=(),
        checklist_failed=(),
        notes="  \n",
    )


def test_handover_matches_the_golden_file() -> None:
    text = render_handover(facts(), PARIS)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_every_section_is_present_in_order_with_slack_bold_titles() -> None:
    lines = render_handover(facts(), UTC).splitlines()
    assert lines[0] == "*Shift handover* · 2025-03-04 17:00 UTC · from Alex Doe"
    titles = [line for line in lines if line.startswith("*") and not line.startswith("*Shift")]
    assert [t.split("*")[1] for t in titles] == list(SECTIONS)
    assert "*Tickets at risk or breached* (2)" in lines
    assert (
        "- #104 · critical · CRITICAL: API returning 500 errors — resp overdue by 30m00s" in lines
    )
    assert "- API health: down — [STATUS] (503) == 200" in lines
    assert "- HighErrorRate (critical) — 5xx rate above 5% for 10m" in lines
    assert "- Review Sentry (new error counts)" in lines  # no evidence: no dash
    assert "> Bob owns the Stripe ticket (#111)." in lines


def test_the_open_incident_shows_its_clock_impact_and_last_update() -> None:
    lines = render_handover(facts(), PARIS).splitlines()
    section = lines[lines.index("*Open incident*") + 1 : lines.index("*Open incident*") + 5]
    assert section == [
        "- #12 API returning 500 errors (API) · Critical · Identified",
        "- Started 16:25 CET, 1 h 35 min ago",
        "- Impact: 3 customers, ~2% of requests failing",
        "- Last stakeholder update: 17:50 CET (10 min ago)",
    ]
    earlier = render_handover(
        facts(
            incident=Incident(
                id=3,
                title="",
                component="DB",
                severity=IncidentSeverity.HIGH,
                status=IncidentStatus.MONITORING,
                started_at=NOW - timedelta(hours=20),
                monitoring_since=NOW - 5 * M,
            )
        ),
        UTC,
    )
    assert "- #3 Untitled incident (DB) · High · Monitoring" in earlier
    assert "- Started 2025-03-03 21:00 UTC, 20 h 00 min ago" in earlier
    assert "- Last stakeholder update: none sent yet" in earlier
    assert "- Monitoring since 16:55 UTC" in earlier


def test_empty_sections_say_none() -> None:
    text = render_handover(empty(), UTC)
    for title in SECTIONS:
        assert f"\n*{title}*" in text
    assert text.count(f"\n{NONE}\n") == len(SECTIONS)
    assert "*Alerts firing* (0)" in text


def test_a_resolved_incident_is_not_open() -> None:
    resolved = Incident(
        id=1,
        title="Old",
        component="API",
        severity=IncidentSeverity.HIGH,
        status=IncidentStatus.RESOLVED,
        started_at=NOW - timedelta(hours=3),
        resolved_at=NOW - timedelta(hours=2),
    )
    lines = render_handover(facts(incident=resolved), UTC).splitlines()
    assert lines[lines.index("*Open incident*") + 1] == NONE


def test_untrusted_text_stays_on_one_line_and_cannot_forge_a_section() -> None:
    hostile = facts(
        operator="mallory\n*Open incident*",
        tickets_at_risk=((105, "high", "Hi\n*Notes*\nall fine\x1b]52;c;cGF5\x07", "overdue"),),
        probes_bad=(("API\u202e", "down", "reason\r\n- fake bullet"),),
        alerts_firing=(("A", "critical", "line1\nline2"),),
        checklist_failed=(("item\x1b[2J", "evidence\n*Alerts firing*"),),
        notes="fine\n*Checklist items that failed*\n\x1b[31mred",
    )
    text = render_handover(hostile, UTC)
    lines = text.splitlines()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text and "\r" not in text
    for title in SECTIONS:
        assert sum(1 for line in lines if line.startswith(f"*{title}*")) == 1
    assert lines[0] == "*Shift handover* · 2025-03-04 17:00 UTC · from mallory *Open incident*"
    assert "- #105 · high · Hi *Notes* all fine^[]52;c;cGF5^G — overdue" in lines
    assert "- API\\u202e: down — reason^M - fake bullet" in lines
    assert "- item^[[2J — evidence *Alerts firing*" in lines
    assert lines[-3:] == ["> fine", "> *Checklist items that failed*", "> ^[[31mred"]


def test_long_untrusted_text_is_cut() -> None:
    text = render_handover(facts(probes_bad=(("p", "down", "x" * 500),)), UTC)
    line = next(line for line in text.splitlines() if line.startswith("- p: down"))
    assert line.endswith("…") and len(line) < 230


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        render_handover(facts(now=NOW.replace(tzinfo=None)), UTC)
