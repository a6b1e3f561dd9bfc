""" "Any alerts overnight?": the alerts source also reads the ALERTS history from the
previous shift's start, and the start-of-shift checklist answers from that window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsconsole.core.checklists import DAILY_ITEMS, Facts, ItemStatus, evaluate
from opsconsole.core.shift import previous_shift_start, shift_start
from opsconsole.core.sources import FiredAlert, SentryProjectCounts, SentrySnapshot
from opsconsole.polling import build_sources

from fakes import alerts_snapshot, sources_config

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 29, 9, 5, tzinfo=UTC)
NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)  # the previous shift's start
MORNING = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # this shift's start
ALERTS_ITEM = next(i for i in DAILY_ITEMS if i.auto == "alerts")


def _verdict(**snapshot: object) -> tuple[ItemStatus, str]:
    alerts = replace(alerts_snapshot(), firing=(), **snapshot)  # type: ignore[arg-type]
    result = evaluate(ALERTS_ITEM, Facts(now=NOW, since=NIGHT, alerts=alerts))
    return result.status, result.evidence


def test_previous_shift_start_with_two_shifts_and_with_one() -> None:
    now = datetime(2026, 11, 29, 8, 5, tzinfo=UTC)  # 09:05 in Berlin
    starts = ("09:00", "21:00")
    assert shift_start(now, starts, BERLIN) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert previous_shift_start(now, starts, BERLIN) == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    one = previous_shift_start(now, ("09:00",), BERLIN)
    assert one == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


async def test_the_alerts_source_reads_this_shift_and_the_night() -> None:
    base = sources_config()
    config = base.model_copy(
        update={"shift": base.shift.model_copy(update={"starts": ("09:00", "21:00")})}
    )
    sources = build_sources(config, clock=lambda: NOW)
    try:
        alerts = sources["alerts"]
        assert alerts._shift_start() == MORNING  # type: ignore[attr-defined]
        assert alerts._overnight_start() == NIGHT  # type: ignore[attr-defined]
    finally:
        for source in sources.values():
            await source.aclose()


def test_an_alert_that_fired_overnight_fails_the_item_though_this_shift_is_quiet() -> None:
    status, evidence = _verdict(
        fired_since_shift=(),
        since=MORNING,
        fired_overnight=(FiredAlert("RedisDown", "critical"),),
        overnight_since=NIGHT,
    )
    assert status is ItemStatus.FAIL
    assert evidence == "fired overnight: RedisDown"


def test_a_quiet_night_passes_and_names_the_window() -> None:
    status, evidence = _verdict(
        fired_since_shift=(), since=MORNING, fired_overnight=(), overnight_since=NIGHT
    )
    assert status is ItemStatus.PASS
    assert evidence == "nothing fired since Sat 21:00"


def test_only_this_shifts_history_leaves_the_item_unknown() -> None:
    status, evidence = _verdict(fired_since_shift=(), since=MORNING)
    assert status is ItemStatus.UNKNOWN
    assert "was not read" in evidence
    later = NIGHT + timedelta(hours=1)
    status, _ = _verdict(
        fired_since_shift=(), since=MORNING, fired_overnight=(), overnight_since=later
    )
    assert status is ItemStatus.UNKNOWN


SENTRY_ITEM = next(i for i in DAILY_ITEMS if i.auto == "sentry")


def _sentry(*counts: tuple[str, int, int | None], overnight: datetime | None) -> SentrySnapshot:
    return SentrySnapshot(
        projects=tuple(
            SentryProjectCounts(
                project, unresolved=9, new_24h=9, new_since_shift=shift, new_overnight=night
            )
            for project, shift, night in counts
        ),
        top=(),
        shift_start=MORNING,
        overnight_since=overnight,
    )


def test_sentry_item_counts_the_errors_new_since_the_last_shift() -> None:
    snapshot = _sentry(("api", 0, 3), ("dashboard", 0, 0), overnight=NIGHT)
    result = evaluate(SENTRY_ITEM, Facts(now=NOW, since=NIGHT, sentry=snapshot))
    assert result.status is ItemStatus.FAIL
    assert result.evidence.startswith("3 new since Sat 21:00 (api 3);")


def test_sentry_item_without_overnight_counts_says_its_own_window() -> None:
    snapshot = _sentry(("api", 0, None), overnight=None)
    result = evaluate(SENTRY_ITEM, Facts(now=NOW, since=NIGHT, sentry=snapshot))
    assert result.status is ItemStatus.PASS
    assert result.evidence.startswith("0 new since 09:00;")
