"""The stakeholder update, the all-clear and the post-incident review (guide §8 Steps 2, 6, 7).

The review is compared with ``tests/unit/golden/review.md``. After an intended change to
its format, regenerate the file and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_incident_text.py
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from opsconsole.core.incident_text import (
    MAX_UPDATE_TIMELINE,
    compose_all_clear,
    compose_update,
    render_review,
)
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)

GOLDEN = Path(__file__).parent / "golden" / "review.md"
T0 = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
M = timedelta(minutes=1)
EVERY = 15 * M


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(minutes: float, kind: EntryKind, text: str, **extra: str) -> TimelineEntry:
    return TimelineEntry(at(minutes), kind, text, **extra)


def declared() -> Incident:
    return Incident(
        id=12,
        title="API returning 500 errors",
        component="API",
        severity=IncidentSeverity.CRITICAL,
        status=IncidentStatus.INVESTIGATING,
        started_at=T0,
        impact=Impact(customers=3, failing_percent=2.0),
        timeline=(
            entry(0, EntryKind.DECLARED, "Customer reported 500 errors", actor="alice"),
            entry(5, EntryKind.PROBE, "Confirmed API down"),
        ),
    )


def resolved() -> Incident:
    """A fixed incident with ten timeline entries: the golden review's input."""
    return replace(
        declared(),
        status=IncidentStatus.RESOLVED,
        monitoring_since=at(17),
        resolved_at=at(47),
        last_update_at=at(47),
        review_due=at(47) + timedelta(hours=24),
        root_cause="Connection pool exhausted after deploy v2.3.1",
        fix="Rolled back to v2.3.0 and raised the pool size",
        postmortem_url="https://wiki.company.com/incidents/12",
        impact=Impact(customers=3, failing_percent=2.0, note="EU customers only"),
        playbook=frozenset({"1.health", "2.notify", "6.monitor"}),
        playbook_times=(("1.health", at(4)), ("2.notify", at(10)), ("6.monitor", at(47))),
        timeline=(
            *declared().timeline,
            entry(6, EntryKind.ALERT, "HighErrorRate firing | severity=critical"),
            entry(8, EntryKind.SENTRY, "Spike: PoolTimeout in db.acquire (412 events)"),
            entry(
                10,
                EntryKind.UPDATE,
                "INCIDENT: API down - Severity Critical",
                actor="alice",
                delivery="slack: ok",
            ),
            entry(12, EntryKind.NOTE, "Deploy v2.3.1 at 14:20\n# not a heading", actor="bob"),
            entry(17, EntryKind.STATUS, "investigating → monitoring", actor="alice"),
            entry(
                27,
                EntryKind.UPDATE,
                "Rolled back, monitoring",
                actor="alice",
                delivery="slack: queued (unreachable)",
            ),
            entry(40, EntryKind.SNOOZE, "Update snoozed 5 min", actor="alice"),
            entry(47, EntryKind.ALL_CLEAR, "All clear", actor="alice", delivery="clipboard"),
        ),
    )


# -- Step 2 update ---------------------------------------------------------------------------


def test_update_follows_the_guide_step_2_format() -> None:
    text = compose_update(declared(), at(5), at(20), UTC)
    assert text.splitlines() == [
        "INCIDENT: API down - Severity Critical",
        "",
        "Timeline:",
        "- 14:30 UTC: Customer reported 500 errors",
        "- 14:35 UTC: Confirmed API down",
        "- Impact: 3 customers, ~2% of requests failing",
        "",
        "Current Status: Investigating",
        "Next Update: 14:50 UTC (every 15 min during incident)",
    ]


def test_update_shows_times_in_utc_and_adds_the_local_next_update_time() -> None:
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    incident = replace(declared(), severity=IncidentSeverity.HIGH, status=IncidentStatus.IDENTIFIED)
    lines = compose_update(incident, paris + 5 * M, paris + 20 * M, ZoneInfo("Europe/Paris"))
    lines_ = lines.splitlines()
    assert lines_[0] == "INCIDENT: API down - Severity High"
    assert lines_[3] == "- 14:30 UTC: Customer reported 500 errors"
    assert "Current Status: Identified" in lines_
    assert lines_[-1] == "Next Update: 14:50 UTC (15:50 CET, every 15 min during incident)"


def test_update_leaves_out_sent_updates_snoozes_and_future_entries() -> None:
    lines = compose_update(resolved(), at(20), at(35), UTC).splitlines()
    body = "\n".join(lines[lines.index("Timeline:") + 1 :])
    assert "Severity Critical" not in body  # the earlier update is not repeated
    assert "snoozed" not in body
    assert "All clear" not in body
    assert "- 14:47 UTC: investigating → monitoring" in lines
    assert "- 14:42 UTC: Deploy v2.3.1 at 14:20 # not a heading" in lines


def test_untrusted_text_stays_on_its_line() -> None:
    """A note cannot forge a 'Current Status:' line or send escape sequences."""
    forged = replace(
        declared(),
        timeline=(entry(1, EntryKind.NOTE, "ok\nCurrent Status: Resolved\x1b[2J"),),
    )
    lines = compose_update(forged, at(2), at(17), UTC).splitlines()
    assert lines.count("Current Status: Investigating") == 1
    assert "- 14:31 UTC: ok Current Status: Resolved^[[2J" in lines
    assert not any(line.startswith("Current Status: Resolved") for line in lines)


def test_long_timelines_keep_the_first_and_latest_entries() -> None:
    many = tuple(entry(m, EntryKind.PROBE, f"event {m}") for m in range(40))
    lines = compose_update(replace(declared(), timeline=many), at(40), at(55), UTC).splitlines()
    timeline = [line for line in lines if line.startswith("- ") and "Impact" not in line]
    assert len(timeline) == MAX_UPDATE_TIMELINE
    assert timeline[0] == "- 14:30 UTC: event 0"
    assert timeline[1] == "- … 27 more entries"
    assert timeline[-1] == "- 15:09 UTC: event 39"


def test_update_across_midnight_dates_the_earlier_entries() -> None:
    late = replace(declared(), started_at=at(-14 * 60 - 40))  # 23:50 the day before
    late = replace(late, timeline=(TimelineEntry(late.started_at, EntryKind.DECLARED, "Down"),))
    lines = compose_update(late, at(-14 * 60 - 20), at(-14 * 60 - 5), UTC).splitlines()
    assert "- 2025-03-03 23:50 UTC: Down" in lines
    assert lines[-1] == "Next Update: 00:25 UTC (every 15 min during incident)"


# -- Step 6 all-clear ------------------------------------------------------------------------


def test_all_clear_has_the_guide_lines_and_computed_downtime() -> None:
    """Downtime runs to the fix (monitoring started), not through the monitoring window."""
    assert compose_all_clear(resolved(), at(47)).splitlines() == [
        "✅ Issue: API returning 500 errors",
        "✅ Root Cause: Connection pool exhausted after deploy v2.3.1",
        "✅ Fix: Rolled back to v2.3.0 and raised the pool size",
        "✅ Status: Fully recovered, monitoring",
        "✅ Post-mortem: https://wiki.company.com/incidents/12",
        "✅ Impact: 17 min downtime, 3 customers affected",
    ]


def test_all_clear_without_details_keeps_the_guide_placeholders() -> None:
    bare = replace(declared(), impact=Impact(failing_percent=2.0))
    assert compose_all_clear(bare, at(47)).splitlines() == [
        "✅ Issue: API returning 500 errors",
        "✅ Root Cause: [Why it happened]",
        "✅ Fix: [What we did]",
        "✅ Status: Fully recovered, monitoring",
        "✅ Post-mortem: [Link to incident review]",
        "✅ Impact: 47 min downtime, ~2% of requests failing",
    ]
    one = replace(bare, impact=Impact(customers=1), review_path="/r/12.md", monitoring_since=at(65))
    lines = compose_all_clear(one, at(100)).splitlines()
    assert lines[4] == "✅ Post-mortem: /r/12.md"
    assert lines[5] == "✅ Impact: 1 h 05 min downtime, 1 customer affected"


# -- Step 7 review ---------------------------------------------------------------------------


def test_review_matches_the_golden_file() -> None:
    """The review's format is stable; regenerate with UPDATE_GOLDEN=1 (see module docstring)."""
    text = render_review(resolved(), at(60), EVERY)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_review_contains_every_timeline_entry_with_delivery_results() -> None:
    incident = resolved()
    text = render_review(incident, at(60), EVERY)
    section = text.split("## What happened and when\n", 1)[1].split("\n## ", 1)[0]
    assert len([line for line in section.splitlines() if line.startswith("- ")]) == len(
        incident.timeline
    )
    assert "(delivery: slack: queued (unreachable))" in section
    assert "\n# not a heading" not in text
    assert "| Update cadence kept | 50% (1 of 2 on time, every 15 min) |" in text


def test_review_is_deterministic_and_handles_an_ongoing_incident() -> None:
    ongoing = declared()
    text = render_review(ongoing, at(40), EVERY)
    assert text == render_review(ongoing, at(40), EVERY)
    assert "| Ended | ongoing |" in text
    assert "| Time to first update | no update sent |" in text
    assert "| Update cadence kept | 0% (0 of 1 on time, every 15 min) |" in text
    assert "## Root cause analysis\n\n_To be written._" in text
