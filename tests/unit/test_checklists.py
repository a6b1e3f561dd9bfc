"""Checklists (guide §9): automatic verification, due dates and the ``checklists:`` config."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from opsconsole.config.checklists import ChecklistsConfig
from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.core.checklists import (
    AUTO_KEYS,
    DAILY_ITEMS,
    MONTHLY_ITEMS,
    WEEKLY_ITEMS,
    Cadence,
    ChecklistItem,
    Facts,
    ItemResult,
    ItemStatus,
    check_auto_key,
    checklist_exit_code,
    due_items,
    evaluate,
    evaluate_due,
    item_key,
)
from opsconsole.core.models import ProbeState
from opsconsole.core.sources import (
    Alert,
    AlertsSnapshot,
    FiredAlert,
    MetricReading,
    MetricsSnapshot,
    SentryProjectCounts,
    SentrySnapshot,
    StatusComponent,
    StatusIncident,
    StatusPageSnapshot,
)

NOW = datetime(2025, 3, 14, 9, 5, tzinfo=UTC)  # a Friday, at the start of the day shift
SINCE = datetime(2025, 3, 13, 21, 0, tzinfo=UTC)  # the night shift started
SHIFT = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
S = ItemStatus


# -- realistic snapshots -------------------------------------------------------------------------


def page(indicator: str = "none", *incidents: StatusIncident, **kw: object) -> StatusPageSnapshot:
    values: dict[str, object] = {
        "page": "Company",
        "indicator": indicator,
        "description": "All Systems Operational" if indicator == "none" else "Minor Service Outage",
        "components": (),
        "incidents": incidents,
        "maintenances": (),
    }
    values.update(kw)
    return StatusPageSnapshot(**values)  # type: ignore[arg-type]


ELEVATED = StatusIncident(
    name="Elevated API errors",
    status="investigating",
    impact="minor",
    started_at=NOW - timedelta(minutes=20),
    shortlink="https://stspg.io/x",
)


def sentry(*projects: tuple[str, int, int], start: datetime = SHIFT) -> SentrySnapshot:
    return SentrySnapshot(
        projects=tuple(
            SentryProjectCounts(project=p, unresolved=u, new_24h=n, new_since_shift=n)
            for p, u, n in projects
        ),
        top=(),
        shift_start=start,
    )


def reading(name: str, value: float | None, level: str, **kw: object) -> MetricReading:
    unit = str(kw.pop("unit", "ms"))
    return MetricReading(name=name, unit=unit, value=value, level=level, **kw)  # type: ignore[arg-type]


LATENCY_OK = reading("p95 latency", 420.0, "ok", warn=800.0, crit=1000.0)
ERRORS_OK = reading("5xx error rate", 0.12, "ok", unit="%", warn=1.0, crit=5.0)
LATENCY_CRIT = reading("p95 latency", 1250.0, "crit", warn=800.0, crit=1000.0)
ERRORS_WARN = reading("5xx error rate", 2.5, "warn", unit="%", warn=1.0, crit=5.0)


def alert(name: str, severity: str = "critical", **kw: object) -> Alert:
    values: dict[str, object] = {
        "name": name,
        "severity": severity,
        "summary": "",
        "starts_at": NOW - timedelta(hours=1),
        "state": "active",
        "silenced": False,
        "inhibited": False,
        "fingerprint": name,
    }
    values.update(kw)
    return Alert(**values)  # type: ignore[arg-type]


def alerts(
    fired: tuple[FiredAlert, ...] | None = (), firing: tuple[Alert, ...] = (), **kw: object
) -> AlertsSnapshot:
    return AlertsSnapshot(firing=firing, fired_since_shift=fired, **kw)  # type: ignore[arg-type]


PROBES = (
    ("API health", ProbeState.UP, "120 ms"),
    ("Dashboard", ProbeState.DEGRADED, "[RESPONSE_TIME] (2300) < 2000"),
    ("API check endpoint", ProbeState.DOWN, "connection refused"),
    ("Redis", ProbeState.UNKNOWN, ""),
)


def facts(**kw: object) -> Facts:
    return Facts(now=NOW, since=SINCE, **kw)  # type: ignore[arg-type]


def auto(key: str) -> ChecklistItem:
    return ChecklistItem(key=f"item-{key}", text=f"check {key}", cadence=Cadence.DAILY, auto=key)


# -- evaluate: one row per automatic check and situation -----------------------------------------

CASES = [
    # status page
    ("statuspage", facts(statuspage=page()), S.PASS, "status page: all operational"),
    (
        "statuspage",
        facts(statuspage=page("minor", ELEVATED)),
        S.FAIL,
        "minor: Elevated API errors (investigating)",
    ),
    (
        "statuspage",
        facts(statuspage=page("none", ELEVATED)),
        S.FAIL,
        "none: Elevated API errors (investigating)",
    ),
    (
        "statuspage",
        facts(statuspage=page("major", components=(StatusComponent("API", "partial_outage"),))),
        S.FAIL,
        "major: API partial outage",
    ),
    ("statuspage", facts(), S.UNKNOWN, "The status page is not configured"),
    (
        "statuspage",
        facts(statuspage=page(), errors={"statuspage": "timed out after 10s"}),
        S.UNKNOWN,
        "the status page: timed out after 10s",
    ),
    # Sentry
    (
        "sentry",
        facts(sentry=sentry(("api", 30, 0), ("dashboard", 12, 0))),
        S.PASS,
        "0 new since 09:00; 42 unresolved",
    ),
    (
        "sentry",
        facts(sentry=sentry(("api", 30, 2), ("dashboard", 12, 0))),
        S.FAIL,
        "2 new since 09:00 (api 2); 42 unresolved",
    ),
    (
        "sentry",
        facts(sentry=sentry(("api", 5, 3), ("web", 1, 1), start=SINCE)),
        S.FAIL,
        "4 new since Thu 21:00 (api 3, web 1); 6 unresolved",
    ),
    ("sentry", facts(), S.UNKNOWN, "Sentry is not configured"),
    (
        "sentry",
        facts(errors={"sentry": "401 Unauthorized: the Sentry token is invalid or expired"}),
        S.UNKNOWN,
        "Sentry: 401 Unauthorized: the Sentry token is invalid or expired",
    ),
    # metrics
    (
        "metrics",
        facts(metrics=MetricsSnapshot((LATENCY_OK, ERRORS_OK))),
        S.PASS,
        "all 2 metrics within thresholds",
    ),
    (
        "metrics",
        facts(metrics=MetricsSnapshot((ERRORS_WARN, LATENCY_OK, LATENCY_CRIT))),
        S.FAIL,
        "p95 latency 1,250 ms (crit ≥ 1,000 ms); 5xx error rate 2.50% (warn ≥ 1.00%)",
    ),
    (
        "metrics",
        facts(
            metrics=MetricsSnapshot(
                (LATENCY_OK, reading("p95 latency", None, "unknown", error="empty result"))
            )
        ),
        S.UNKNOWN,
        "no reading: p95 latency (empty result)",
    ),
    ("metrics", facts(metrics=MetricsSnapshot(())), S.UNKNOWN, "no metric queries configured"),
    ("metrics", facts(), S.UNKNOWN, "Prometheus is not configured"),
    (
        "metrics",
        facts(errors={"metrics": "connection refused (127.0.0.1:9090)"}),
        S.UNKNOWN,
        "Prometheus: connection refused (127.0.0.1:9090)",
    ),
    # alerts
    (
        "alerts",
        facts(alerts=alerts((FiredAlert("Watchdog", "none"), FiredAlert("Deploy", "info")))),
        S.PASS,
        "nothing fired since Thu 21:00",
    ),
    (
        "alerts",
        facts(
            alerts=alerts(
                (
                    FiredAlert("HighErrorRate", "critical"),
                    FiredAlert("RedisDown", "warning"),
                    FiredAlert("HighErrorRate", "critical", (("instance", "b"),)),
                    FiredAlert("Watchdog", "none"),
                )
            )
        ),
        S.FAIL,
        "fired overnight: HighErrorRate, RedisDown",
    ),
    (
        "alerts",
        facts(
            alerts=alerts(
                (),
                (
                    alert("DiskFull", "warning"),
                    alert("Muted", silenced=True),
                    alert("Heartbeat", "info"),
                ),
            )
        ),
        S.FAIL,
        "firing now: DiskFull",
    ),
    (
        "alerts",
        facts(alerts=alerts(None, (alert("RedisDown"),), history_error="query timed out")),
        S.FAIL,
        "firing now: RedisDown",
    ),
    (
        "alerts",
        facts(alerts=alerts(None, history_error="Prometheus: 503 Service Unavailable")),
        S.UNKNOWN,
        "nothing firing now; alert history unavailable: Prometheus: 503 Service Unavailable",
    ),
    ("alerts", facts(), S.UNKNOWN, "Alertmanager is not configured"),
    (
        "alerts",
        facts(errors={"alerts": "401 Unauthorized"}),
        S.UNKNOWN,
        "Alertmanager: 401 Unauthorized",
    ),
    # critical tickets
    ("tickets", facts(critical_tickets_waiting=0), S.PASS, "no critical tickets waiting"),
    (
        "tickets",
        facts(critical_tickets_waiting=1),
        S.FAIL,
        "1 critical ticket is waiting for a reply",
    ),
    (
        "tickets",
        facts(critical_tickets_waiting=3),
        S.FAIL,
        "3 critical tickets are waiting for a reply",
    ),
    ("tickets", facts(), S.UNKNOWN, "The ticket queue is not configured"),
    (
        "tickets",
        facts(critical_tickets_waiting=0, errors={"tickets": "database is locked"}),
        S.UNKNOWN,
        "the ticket queue: database is locked",
    ),
    # probes
    ("probe:API health", facts(probes=PROBES), S.PASS, "API health: up, 120 ms"),
    ("probe:api HEALTH", facts(probes=PROBES), S.PASS, "API health: up, 120 ms"),
    (
        "probe:Dashboard",
        facts(probes=PROBES),
        S.FAIL,
        "Dashboard: degraded, [RESPONSE_TIME] (2300) < 2000",
    ),
    (
        "probe:API check endpoint",
        facts(probes=PROBES),
        S.FAIL,
        "API check endpoint: down, connection refused",
    ),
    ("probe:Redis", facts(probes=PROBES), S.UNKNOWN, "Redis: no result yet"),
    (
        "probe:Dashbord",
        facts(probes=PROBES),
        S.UNKNOWN,
        "no probe named 'Dashbord' (did you mean 'Dashboard'?)",
    ),
    ("probe:API health", facts(), S.UNKNOWN, "Health probes is not configured"),
    (
        "probe:API health",
        facts(probes=PROBES, errors={"probes": "store is closed"}),
        S.UNKNOWN,
        "API health: store is closed",
    ),
    # weekly and monthly
    ("stale_tickets", facts(stale_tickets=0), S.PASS, "no open ticket idle for more than 7 days"),
    (
        "stale_tickets",
        facts(stale_tickets=4),
        S.FAIL,
        "4 open tickets with no activity for more than 7 days",
    ),
    ("stale_tickets", facts(), S.UNKNOWN, "The ticket queue is not configured"),
    (
        "sla_review",
        facts(sla_summary="response SLA met 94% (3 breaches)"),
        S.MANUAL,
        "response SLA met 94% (3 breaches)",
    ),
    ("sla_review", facts(), S.MANUAL, "no SLA report available"),
    (
        "sla_review",
        facts(sla_summary="x", errors={"sla": "no tickets table"}),
        S.UNKNOWN,
        "the SLA report: no tickets table",
    ),
]


@pytest.mark.parametrize(("key", "known", "status", "evidence"), CASES)
def test_evaluate_automatic_checks(
    key: str, known: Facts, status: ItemStatus, evidence: str
) -> None:
    result = evaluate(auto(key), known)
    assert (result.status, result.evidence) == (status, evidence)
    assert (result.key, result.text, result.cadence) == (f"item-{key}", f"check {key}", "daily")
    assert not result.overdue and result.note == ""


def test_every_auto_key_has_a_case() -> None:
    covered = {key.split(":")[0] for key, *_ in CASES}
    assert covered >= {*AUTO_KEYS, "probe"} - {"metric_trends"}  # trends: own tests below


def test_manual_items_wait_for_the_operator() -> None:
    result = evaluate(WEEKLY_ITEMS[1], facts(stale_tickets=0))
    assert result == ItemResult(
        key="check-backup-status",
        text="Check backup status (Neon snapshots created)",
        cadence=Cadence.WEEKLY,
        status=S.MANUAL,
        evidence="",
    )


def test_evidence_is_one_terminal_safe_line() -> None:
    """Untrusted status-page text cannot move the cursor or break the evidence line."""
    evil = replace(ELEVATED, name="Outage\x1b[2J\nnext line")
    result = evaluate(auto("statuspage"), facts(statuspage=page("minor", evil)))
    assert "\x1b" not in result.evidence and "\n" not in result.evidence
    assert result.evidence.startswith("minor: Outage^[[2J")


def test_sentry_times_follow_the_operator_zone() -> None:
    paris = facts(sentry=sentry(("api", 1, 1)), tz=ZoneInfo("Europe/Paris"))
    assert evaluate(auto("sentry"), paris).evidence == "1 new since 10:00 (api 1); 1 unresolved"


def test_an_auto_key_error_overrides_its_source() -> None:
    only_this = facts(probes=PROBES, errors=MappingProxyType({"probe:Dashboard": "paused"}))
    assert evaluate(auto("probe:Dashboard"), only_this).evidence == "Dashboard: paused"
    assert evaluate(auto("probe:API health"), only_this).status is S.PASS


# -- metric trends (weekly) ---------------------------------------------------------------------


def series(*values: float) -> tuple[tuple[float, float], ...]:
    start = NOW.timestamp() - 3600
    step = 3600 / (len(values) - 1)
    return tuple((start + i * step, v) for i, v in enumerate(values))


@pytest.mark.parametrize(
    ("readings", "status", "evidence"),
    [
        (
            (
                replace(LATENCY_OK, series=series(400, 410, 395, 405, 420, 400)),
                replace(ERRORS_OK, series=series(0.1, 0.2, 0.1, 0.3, 0.4, 0.4)),
            ),
            S.PASS,
            "no metric rising over the last 60 min",
        ),
        (
            (replace(LATENCY_OK, series=series(300, 300, 350, 420, 480, 520)),),
            S.FAIL,
            "p95 latency up 67% over the last 60 min",
        ),
        (
            (replace(LATENCY_CRIT, series=series(1200, 1250, 1200, 1250, 1200, 1250)),),
            S.FAIL,
            "p95 latency 1,250 ms (crit ≥ 1,000 ms) over the last 60 min",
        ),
        ((LATENCY_OK,), S.UNKNOWN, "no metric history to compare"),
        ((LATENCY_CRIT,), S.FAIL, "p95 latency 1,250 ms (crit ≥ 1,000 ms)"),
    ],
)
def test_metric_trends(
    readings: tuple[MetricReading, ...], status: ItemStatus, evidence: str
) -> None:
    """A tiny error rate doubling is noise; a latency rising toward its threshold is not."""
    result = evaluate(auto("metric_trends"), facts(metrics=MetricsSnapshot(readings)))
    assert (result.status, result.evidence) == (status, evidence)


def test_metric_trends_need_metrics() -> None:
    assert evaluate(auto("metric_trends"), facts()).status is S.UNKNOWN


# -- the guide's lists --------------------------------------------------------------------------


def test_default_lists_are_the_guides_verbatim() -> None:
    assert [i.text for i in DAILY_ITEMS] == [
        "Check status page (any open incidents)",
        "Review Sentry (new error counts)",
        "Check Grafana dashboard (metrics normal?)",
        "Review Slack #alerts channel (any alerts overnight?)",
        "Skim support email (new critical issues?)",
        "Verify API health: curl https://api.domain.com/health",
        "Verify dashboard: open https://dashboard.domain.com",
    ]
    assert [i.auto for i in DAILY_ITEMS] == [
        "statuspage",
        "sentry",
        "metrics",
        "alerts",
        "tickets",
        "probe:API health",
        "probe:Dashboard",
    ]
    assert [(i.text, i.auto) for i in WEEKLY_ITEMS] == [
        ("Review all open support tickets (any stale?)", "stale_tickets"),
        ("Check backup status (Neon snapshots created)", None),
        ("Review metrics trends (any degradation?)", "metric_trends"),
        ("Check security alerts (anything suspicious?)", None),
        ("Prepare incident summary (if any occurred)", None),
        ("Schedule on-call for next week", None),
    ]
    assert [(i.text, i.auto) for i in MONTHLY_ITEMS] == [
        ("Security audit (pip-audit, npm audit)", None),
        ("Dependency updates available (check for patches)", None),
        ("Database size check (growing too fast?)", None),
        ("Backup test (restore to test DB and verify)", None),
        ("SLA review (how many 99.5% uptime incidents?)", "sla_review"),
        ("Customer satisfaction check-in (brief surveys)", None),
        ("Runbook update (any new procedures?)", None),
    ]
    every = DAILY_ITEMS + WEEKLY_ITEMS + MONTHLY_ITEMS
    assert len({i.key for i in every}) == len(every)
    assert {i.cadence for i in WEEKLY_ITEMS} == {Cadence.WEEKLY}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Check status page (any open incidents)", "check-status-page"),
        ("Verify API health: curl https://api.domain.com/health", "verify-api-health"),
        ("Review Slack #alerts channel (any alerts overnight?)", "review-slack-alerts-channel"),
        ("  Schedule on-call for next week ", "schedule-on-call-for-next-week"),
        ("(only a hint)", ""),
    ],
)
def test_item_keys_survive_edits_of_the_hint(text: str, key: str) -> None:
    assert item_key(text) == key


def test_check_auto_key() -> None:
    assert check_auto_key(" sentry ") == "sentry"
    assert check_auto_key("probe: API health ") == "probe:API health"
    with pytest.raises(ValueError, match=r"did you mean 'stale_tickets'\?"):
        check_auto_key("stale_ticket")


# -- due dates with a frozen calendar -------------------------------------------------------------

FRIDAY = date(2025, 3, 14)
DAILY, WEEKLY, MONTHLY = DAILY_ITEMS[0], WEEKLY_ITEMS[0], MONTHLY_ITEMS[0]
EVERY = (DAILY, WEEKLY, MONTHLY)


def due(
    today: date, *, done: dict[str, date] | None = None, weekly_day: int = 4, monthly_day: int = 1
) -> list[tuple[str, bool]]:
    shown = due_items(
        EVERY, today, weekly_day=weekly_day, monthly_day=monthly_day, last_done=done or {}
    )
    return [(item.cadence.value, overdue) for item, overdue in shown]


@pytest.mark.parametrize(
    ("today", "done", "expected"),
    [
        # Thursday: last Friday's review was done, this week's is not due yet
        (
            date(2025, 3, 13),
            {WEEKLY.key: date(2025, 3, 7), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False)],
        ),
        # Friday: due today, not overdue
        (FRIDAY, {MONTHLY.key: date(2025, 3, 1)}, [("daily", False), ("weekly", False)]),
        # done on Friday: gone for the weekend and the next week
        (
            date(2025, 3, 15),
            {WEEKLY.key: FRIDAY, MONTHLY.key: date(2025, 3, 3)},
            [("daily", False)],
        ),
        (
            date(2025, 3, 20),
            {WEEKLY.key: FRIDAY, MONTHLY.key: date(2025, 3, 3)},
            [("daily", False)],
        ),
        # ... and back on the next Friday
        (
            date(2025, 3, 21),
            {WEEKLY.key: FRIDAY, MONTHLY.key: date(2025, 3, 3)},
            [("daily", False), ("weekly", False)],
        ),
        # the Monday after an undone Friday: overdue
        (
            date(2025, 3, 17),
            {WEEKLY.key: date(2025, 3, 7), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False), ("weekly", True)],
        ),
        # caught up on Monday: that covers the missed Friday
        (
            date(2025, 3, 18),
            {WEEKLY.key: date(2025, 3, 17), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False)],
        ),
        # done on Wednesday, before the due day, does not cover Friday
        (
            FRIDAY,
            {WEEKLY.key: date(2025, 3, 12), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False), ("weekly", False)],
        ),
        # never done: overdue since the last due day
        (date(2025, 3, 13), {}, [("daily", False), ("weekly", True), ("monthly", True)]),
        # monthly on the 1st, then overdue after it until done that month
        (
            date(2025, 4, 1),
            {WEEKLY.key: date(2025, 3, 28), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False), ("monthly", False)],
        ),
        (
            date(2025, 4, 2),
            {WEEKLY.key: date(2025, 3, 28), MONTHLY.key: date(2025, 3, 1)},
            [("daily", False), ("monthly", True)],
        ),
        (
            date(2025, 4, 2),
            {WEEKLY.key: date(2025, 3, 28), MONTHLY.key: date(2025, 4, 1)},
            [("daily", False)],
        ),
        # a year boundary: January 1st
        (
            date(2026, 1, 2),
            {WEEKLY.key: date(2026, 1, 2), MONTHLY.key: date(2025, 12, 1)},
            [("daily", False), ("monthly", True)],
        ),
    ],
)
def test_due_items(today: date, done: dict[str, date], expected: list[tuple[str, bool]]) -> None:
    assert due(today, done=done) == expected


@pytest.mark.parametrize(
    ("today", "done", "expected"),
    [
        # day 31 in February is the 28th (29th in a leap year)
        (date(2025, 2, 27), date(2025, 1, 31), []),
        (date(2025, 2, 28), date(2025, 1, 31), [("monthly", False)]),
        (date(2024, 2, 28), date(2024, 1, 31), []),
        (date(2024, 2, 29), date(2024, 1, 31), [("monthly", False)]),
        # ... and in April the 30th
        (date(2025, 4, 29), date(2025, 3, 31), []),
        (date(2025, 4, 30), date(2025, 3, 31), [("monthly", False)]),
        # missed at February's end: overdue through March until the 31st comes
        (date(2025, 3, 15), date(2025, 1, 31), [("monthly", True)]),
        # done on February 28th: nothing until March 31st
        (date(2025, 3, 30), date(2025, 2, 28), []),
        (date(2025, 3, 31), date(2025, 2, 28), [("monthly", False)]),
    ],
)
def test_monthly_day_is_clamped_to_month_ends(
    today: date, done: date, expected: list[tuple[str, bool]]
) -> None:
    shown = due_items(
        (MONTHLY,), today, weekly_day=4, monthly_day=31, last_done={MONTHLY.key: done}
    )
    assert [(i.cadence.value, overdue) for i, overdue in shown] == expected


def test_weekly_on_another_day() -> None:
    """Monday reviews: due on Monday, overdue from Tuesday."""
    done = {MONTHLY.key: date(2025, 3, 1), WEEKLY.key: date(2025, 3, 10)}
    assert due(date(2025, 3, 16), done=done, weekly_day=0) == [("daily", False)]
    assert due(date(2025, 3, 17), done=done, weekly_day=0) == [("daily", False), ("weekly", False)]
    assert due(date(2025, 3, 18), done=done, weekly_day=0) == [("daily", False), ("weekly", True)]


def test_due_items_rejects_bad_days() -> None:
    with pytest.raises(ValueError, match="weekly_day"):
        due(FRIDAY, weekly_day=7)
    with pytest.raises(ValueError, match="monthly_day"):
        due(FRIDAY, monthly_day=0)


def test_evaluate_due_carries_overdue_and_the_exit_code() -> None:
    """The CLI exits 1 only for failing automatic items, never for manual or unknown ones."""
    shown = due_items(
        (DAILY_ITEMS[0], WEEKLY_ITEMS[1]),
        date(2025, 3, 17),
        weekly_day=4,
        monthly_day=1,
        last_done={},
    )
    results = evaluate_due(shown, facts(statuspage=page()))
    assert [(r.status, r.overdue) for r in results] == [(S.PASS, False), (S.MANUAL, True)]
    assert checklist_exit_code(results) == 0
    assert checklist_exit_code([*results, evaluate(auto("sentry"), facts())]) == 0
    failing = evaluate(auto("statuspage"), facts(statuspage=page("minor", ELEVATED)))
    assert checklist_exit_code([*results, failing]) == 1
    assert checklist_exit_code([]) == 0


# -- the checklists: config key ------------------------------------------------------------------


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text)
    return str(info.value)


def test_config_defaults_are_the_guides_lists() -> None:
    config = loads_config("service: API\n").checklists
    assert config == ChecklistsConfig()
    assert config.daily_items() == DAILY_ITEMS
    assert config.weekly_items() == WEEKLY_ITEMS
    assert config.monthly_items() == MONTHLY_ITEMS
    assert config.all_items() == DAILY_ITEMS + WEEKLY_ITEMS + MONTHLY_ITEMS
    assert (config.weekly.on, config.weekly_day, config.monthly_day) == ("friday", 4, 1)
    assert config.auto_open is True


def test_config_items_strings_and_auto() -> None:
    config = loads_config(
        """
checklists:
  daily:
    - {text: "Check status page", auto: statuspage}
    - {text: "Verify API", auto: "probe:API health"}
    - Read the   overnight handover
  weekly: {on: Mon, items: ["Review tickets (stale?)"]}
  monthly: {day: 31, items: [{text: SLA review, auto: sla_review}]}
  auto_open: false
"""
    ).checklists
    assert config.daily_items() == (
        ChecklistItem("check-status-page", "Check status page", Cadence.DAILY, "statuspage"),
        ChecklistItem("verify-api", "Verify API", Cadence.DAILY, "probe:API health"),
        ChecklistItem("read-the-overnight-handover", "Read the overnight handover", Cadence.DAILY),
    )
    assert config.weekly_items() == (
        ChecklistItem("review-tickets", "Review tickets (stale?)", Cadence.WEEKLY),
    )
    assert config.monthly_items()[0].auto == "sla_review"
    assert (config.weekly_day, config.monthly_day, config.auto_open) == (0, 31, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "checklists: {weekly: {on: fryday}}",
            "checks.yaml:1: checklists.weekly.on: unknown day 'fryday' (did you mean 'friday'?); "
            "expected monday … sunday or mon … sun",
        ),
        (
            "checklists: {weekly: {on: 5}}",
            "checks.yaml:1: checklists.weekly.on: expected a day name like 'friday', got 5",
        ),
        (
            "checklists:\n  daily:\n    - {text: Review Sentry, auto: sentri}",
            "checks.yaml:3: checklists.daily[0].auto: unknown check 'sentri' (did you mean "
            "'sentry'?); expected one of: statuspage, sentry, metrics, alerts, tickets, "
            "stale_tickets, metric_trends, sla_review, probe:<name>",
        ),
        (
            "checklists: {daily: [{text: API, auto: 'probe: '}]}",
            "checks.yaml:1: checklists.daily[0].auto: 'probe:' needs a probe name, "
            "e.g. 'probe:API health'",
        ),
        (
            "checklists:\n  daily:\n    - Check status page\n    - check status page (again)",
            "checks.yaml:4: checklists.daily[1]: duplicate item 'check status page (again)' "
            "(already at [0])",
        ),
        (
            "checklists:\n  daily: [Backup test]\n",
            "checks.yaml:1: checklists.monthly.items[3]: duplicate item 'Backup test (restore to "
            "test DB and verify)' (already in the daily list)",
        ),
        (
            "checklists: {daily: ['   ']}",
            "checks.yaml:1: checklists.daily[0].text: must not be empty",
        ),
        (
            "checklists: {daily: [[a]]}",
            "checks.yaml:1: checklists.daily[0]: expected an item text or {text, auto}, got a list",
        ),
        (
            "checklists: {monthly: {day: 32}}",
            "checks.yaml:1: checklists.monthly.day: must be at most 31, got 32",
        ),
        (
            "checklists: {weekly: {day: friday}}",
            "checks.yaml:1: checklists.weekly.day: unknown key (expected one of: on, items)",
        ),
    ],
)
def test_config_validation(text: str, message: str) -> None:
    assert error(text + "\n") == message
