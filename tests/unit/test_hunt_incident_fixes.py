"""Regression tests for bugs found in incident mode and the checklists (hunt pass)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from opsconsole.adapters.slack import SlackWebhook
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import loads_config
from opsconsole.core.checklists import MONTHLY_ITEMS, WEEKLY_ITEMS, todays_items
from opsconsole.core.incident_text import render_review
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    parse_customers,
    parse_failing,
)
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.incidents.service import AllClearNotDelivered, IncidentService

from fakes import MutableClock

T0 = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)


def config_for(tmp_path: Path, webhook: str | None = None, **incident: object):
    section: dict[str, object] = {"reviews_dir": str(tmp_path / "reviews"), **incident}
    if webhook:
        section["slack"] = {"webhook": webhook}
    return loads_config(yaml.safe_dump({"service": "API", "incident": section}))


# -- impact typed by the operator ------------------------------------------------------------


def test_impact_input_is_validated() -> None:
    """The declare form and ``incident start`` used to take "-3" customers, "nan" or
    "150" % failing (and the form crashed on "-" or "3 customers")."""
    assert parse_customers(" 3 ") == 3 and parse_customers("") is None
    assert parse_failing("2.5") == 2.5 and parse_failing("2%") == 2.0
    assert parse_failing("  ") is None and parse_failing("0") == 0.0
    for bad in ("-", "-3", "3 customers", "1.5"):
        with pytest.raises(ValueError, match="Customers"):
            parse_customers(bad)
    for bad in ("nan", "inf", "-1", "150", "-", "abc"):
        with pytest.raises(ValueError, match="% failing"):
            parse_failing(bad)


# -- the review cannot be restructured by the text typed into it -----------------------------


def test_root_cause_and_fix_cannot_break_the_review_structure() -> None:
    """Root cause and fix are paragraphs of their own: a leading ``#``, ``` or ``-``
    used to become a heading, a code fence swallowing the rest of the review, a list…"""
    base = Incident(
        id=7,
        title="API down",
        component="API",
        severity=IncidentSeverity.CRITICAL,
        status=IncidentStatus.RESOLVED,
        started_at=T0,
        resolved_at=T0 + timedelta(minutes=40),
    )
    clean = render_review(base, T0 + timedelta(hours=1), timedelta(minutes=15))
    for cause, fix in [
        ("# Everything is fine", "```"),
        ("```python", "## Lessons learned"),
        ("- [x] done", "1. rolled back"),
        ("> quoted", "<script>alert(1)</script>"),
        ("| a | b |", "[link]: https://evil.example"),
    ]:
        hostile = replace(base, root_cause=cause, fix=fix)
        text = render_review(hostile, T0 + timedelta(hours=1), timedelta(minutes=15))
        lines = text.splitlines()
        assert [x for x in lines if x.startswith("#")] == [
            x for x in clean.splitlines() if x.startswith("#")
        ]
        added = set(lines) - set(clean.splitlines())
        assert not any(x.startswith(("```", "-", "1. ", ">", "<", "|", "[")) for x in added)
        # the text is still there, escaped only at its start
        cause_line = lines[lines.index("## Root cause analysis") + 2]
        fix_line = lines[lines.index("## Fix") + 2]
        assert cause_line.replace("\\", "") == cause.replace("\\", "")
        assert fix_line.replace("\\", "") == fix.replace("\\", "")
    plain = replace(base, root_cause="Pool exhausted # not a heading", fix="2024 config reverted")
    text = render_review(plain, T0 + timedelta(hours=1), timedelta(minutes=15))
    assert "\nPool exhausted # not a heading\n" in text and "\n2024 config reverted\n" in text


# -- weekly / monthly items done today stay on today's list ----------------------------------


def test_an_item_done_today_stays_on_todays_list() -> None:
    """Ticking Friday's weekly item used to remove it from the list 5 s later (the next
    re-check), so it could not be seen done or unticked; a Monday catch-up is no longer
    overdue once done."""
    weekly, monthly = WEEKLY_ITEMS[1], MONTHLY_ITEMS[0]
    friday = date(2025, 3, 14)

    def shown(today: date, done: dict[str, date]) -> list[tuple[str, bool]]:
        items = todays_items((weekly, monthly), today, weekly_day=4, monthly_day=1, last_done=done)
        return [(item.cadence.value, overdue) for item, overdue in items]

    assert shown(friday, {weekly.key: friday, monthly.key: date(2025, 3, 1)}) == [("weekly", False)]
    monday = date(2025, 3, 17)
    assert shown(monday, {weekly.key: monday, monthly.key: date(2025, 3, 1)}) == [("weekly", False)]
    # the next day it is gone until next Friday, as before
    assert shown(date(2025, 3, 18), {weekly.key: monday, monthly.key: date(2025, 3, 1)}) == []
    # not done today: unchanged (overdue after the due day)
    assert shown(monday, {weekly.key: date(2025, 3, 7), monthly.key: date(2025, 3, 1)}) == [
        ("weekly", True)
    ]


# -- the all-clear links the review, and says when Slack refused it ---------------------------


async def test_all_clear_links_the_review_file(tmp_path: Path) -> None:
    """Without a post-mortem URL template the all-clear's "Post-mortem" line used to keep
    the placeholder although the review's path is known; with a template, the console's
    Resolve dialog drafted it without the link."""
    clock = MutableClock(T0)
    store = await SqliteStore.open(tmp_path / "i.db", clock=clock)
    try:
        service = IncidentService(store, config_for(tmp_path), clock=clock)
        incident = await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        draft = service.draft_all_clear(incident)
        expected = tmp_path / "reviews" / "incident-1-2025-03-04.md"
        assert f"✅ Post-mortem: {expected}" in draft.splitlines()
        closed, path = await service.resolve(root_cause="x", fix="y", override="verified")
        assert path == expected
        sent = next(e for e in closed.timeline if e.kind is EntryKind.ALL_CLEAR)
        assert f"✅ Post-mortem: {expected}" in sent.text.splitlines()

        templated = IncidentService(
            store,
            config_for(tmp_path, postmortem_url_template="https://wiki.example.com/incidents/{id}"),
            clock=clock,
        )
        second = await templated.declare("DB down", "Database", IncidentSeverity.HIGH)
        assert "✅ Post-mortem: https://wiki.example.com/incidents/2" in (
            templated.draft_all_clear(second).splitlines()
        )
    finally:
        await store.close()


async def test_a_refused_all_clear_is_reported(tmp_path: Path, slack: SlackFake) -> None:
    """Slack refusing the all-clear (a 404) used to pass silently: "resolved" with no
    word that stakeholders never got it. Now the incident is still resolved and the
    review written, the entry stays recorded with its failure, and the caller is told."""
    clock = MutableClock(T0)
    store = await SqliteStore.open(tmp_path / "i.db", clock=clock)
    webhook = SlackWebhook(slack.webhook_url)
    try:
        service = IncidentService(
            store, config_for(tmp_path, slack.webhook_url), clock=clock, slack=webhook
        )
        await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        slack.inject("404")
        with pytest.raises(AllClearNotDelivered, match="not delivered") as caught:
            await service.resolve(root_cause="pool", fix="bigger pool", override="verified")
        assert "404" in str(caught.value) and slack.secret not in str(caught.value)
        assert await service.active() is None
        assert caught.value.path.is_file()
        closed = await store.get_incident(caught.value.incident.id)
        entry = next(e for e in closed.timeline if e.kind is EntryKind.ALL_CLEAR)
        assert entry.delivery is not None and entry.delivery.startswith("slack: failed")
        assert "pool" in caught.value.path.read_text()
    finally:
        await webhook.aclose()
        await store.close()


# -- Step 5: later updates say what comes next ----------------------------------------------


def test_later_updates_carry_the_guide_step_5_items() -> None:
    """Guide §8 Step 5 (every 15 minutes): progress so far, next steps, expected
    resolution time, any customer action needed. Updates after the first used to repeat
    the Step 2 text only, with no place for the last three."""
    from opsconsole.core.incident_text import compose_update
    from opsconsole.core.incidents import TimelineEntry

    first = Incident(
        id=3,
        title="API down",
        component="API",
        severity=IncidentSeverity.HIGH,
        status=IncidentStatus.IDENTIFIED,
        started_at=T0,
        timeline=(TimelineEntry(T0, EntryKind.DECLARED, "Declared"),),
    )
    opening = compose_update(first, T0 + timedelta(minutes=5), T0 + timedelta(minutes=20), UTC)
    assert "Next Steps" not in opening  # Step 2's first notification is unchanged
    sent = TimelineEntry(T0 + timedelta(minutes=5), EntryKind.UPDATE, opening)
    later = replace(first, timeline=(*first.timeline, sent))
    text = compose_update(later, T0 + timedelta(minutes=20), T0 + timedelta(minutes=35), UTC)
    lines = text.splitlines()
    for label in ("Next Steps:", "Expected Resolution:", "Customer Action:"):
        assert sum(line.startswith(label) for line in lines) == 1, label
    assert lines.index("Current Status: Identified") > lines.index("- Impact: unknown")
    assert lines[-1] == "Next Update: 15:05 UTC (every 15 min during incident)"


# -- the monitoring window belongs to the current fix --------------------------------------


async def test_a_failed_fix_ends_the_monitoring_window(tmp_path: Path) -> None:
    """Monitoring → identified (the fix did not hold) used to keep the old
    ``monitoring_since``: the all-clear unlocked 30 minutes after the *first* fix, and
    the all-clear's downtime stopped there. Re-choosing monitoring restarted the window."""
    from opsconsole.core.incident_text import downtime
    from opsconsole.incidents.service import IncidentError

    clock = MutableClock(T0)
    store = await SqliteStore.open(tmp_path / "i.db", clock=clock)
    try:
        service = IncidentService(store, config_for(tmp_path), clock=clock)
        await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        clock.advance(minutes=10)
        await service.set_status(IncidentStatus.MONITORING)  # first fix at 14:40
        clock.advance(minutes=10)
        again = await service.set_status(IncidentStatus.MONITORING)  # picked twice
        assert again.monitoring_since == T0 + timedelta(minutes=10)
        clock.advance(minutes=5)
        failed = await service.set_status(IncidentStatus.IDENTIFIED)  # 14:55: it broke again
        assert failed.monitoring_since is None
        clock.advance(minutes=20)  # 15:15: 35 min after the first fix
        with pytest.raises(IncidentError, match="not monitoring yet"):
            await service.resolve(root_cause="x", fix="y")
        second = await service.set_status(IncidentStatus.MONITORING)  # second fix at 15:15
        assert second.monitoring_since == T0 + timedelta(minutes=45)
        assert downtime(second, clock()) == timedelta(minutes=45)
        clock.advance(minutes=29)
        with pytest.raises(IncidentError, match="still monitoring"):
            await service.resolve(root_cause="x", fix="y")
        clock.advance(minutes=1)
        closed, _ = await service.resolve(root_cause="x", fix="y")
        assert closed.resolved_at == T0 + timedelta(minutes=75)
        assert "45 min downtime" in next(
            e.text for e in closed.timeline if e.kind is EntryKind.ALL_CLEAR
        )
    finally:
        await store.close()


# -- the handover reports this shift's checklist, not an old one ----------------------------


async def test_handover_reports_this_shifts_checklist_only(tmp_path: Path) -> None:
    """The handover listed the failures of the latest checklist run ever, however old
    (last week's failures read as this shift's), and "none" when no checklist was run."""
    from opsconsole.core.checklists import DAILY_ITEMS, ItemResult, ItemStatus
    from opsconsole.reporting import make_handover

    config = config_for(tmp_path)  # shifts start at the default times, in UTC
    now = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    item = DAILY_ITEMS[0]
    store = await SqliteStore.open(tmp_path / "h.db", clock=MutableClock(now))
    try:
        old = now - timedelta(days=6)
        run_id = await store.start_checklist_run("ana", old)
        failing = ItemResult(item.key, item.text, item.cadence, ItemStatus.FAIL, "minor: old")
        await store.record_checklist_item(run_id, failing, old)

        async def handover() -> list[str]:
            text = await make_handover(store=store, config=config, now=now, probes=[], alerts=None)
            lines = text.splitlines()
            start = lines.index(next(x for x in lines if x.startswith("*Checklist items")))
            return lines[start : start + 2]

        assert await handover() == ["*Checklist items that failed*", "not run this shift"]
        run_id = await store.start_checklist_run("bo", now - timedelta(minutes=5))
        fresh = replace(failing, evidence="major: now")
        await store.record_checklist_item(run_id, fresh, now - timedelta(minutes=5))
        assert await handover() == [
            "*Checklist items that failed* (1)",
            f"- {item.text} — major: now",
        ]
    finally:
        await store.close()


# -- shift starts on DST nights --------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Berlin springs forward at 02:00 → 03:00 on 29 March 2026: a 02:30 start does
        # not exist that night; it used to come out 20 minutes in the *future*
        ("2026-03-29T01:10:00+00:00", "2026-03-28T01:30:00+00:00"),
        ("2026-03-29T01:40:00+00:00", "2026-03-29T01:30:00+00:00"),
        # ... and falls back 03:00 → 02:00 on 25 October: during the second 02:10 the
        # first 02:30 (00:30 UTC) is past; it used to say yesterday's shift
        ("2026-10-25T01:10:00+00:00", "2026-10-25T00:30:00+00:00"),
        ("2026-10-25T00:20:00+00:00", "2026-10-24T00:30:00+00:00"),
    ],
)
def test_shift_start_on_dst_nights(now: str, expected: str) -> None:
    from zoneinfo import ZoneInfo

    from opsconsole.core.shift import shift_start

    moment = datetime.fromisoformat(now)
    got = shift_start(moment, ["02:30"], ZoneInfo("Europe/Berlin"))
    assert got == datetime.fromisoformat(expected)
    assert got <= moment and got.tzinfo is UTC
