"""Incident clocks, playbook, metrics and the ``incident:`` config (guide §8, §1.4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsconsole.config.incident import DEFAULT_COMPONENTS, IncidentConfig
from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.core.incidents import (
    MONITORING_WINDOW,
    PLAYBOOK,
    PLAYBOOK_STEPS,
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
    UpdateState,
    all_clear_allowed,
    duration_label,
    incident_metrics,
    mean_time_to_resolve,
    next_update_due,
    playbook_step,
    suggest_declaring,
    update_state,
)

T0 = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
EVERY = 15 * M


def incident(**changes: object) -> Incident:
    base = Incident(
        id=7,
        title="API returning 500s",
        component="API",
        severity=IncidentSeverity.CRITICAL,
        status=IncidentStatus.INVESTIGATING,
        started_at=T0,
    )
    return replace(base, **changes)


def updates(*minutes: float) -> tuple[TimelineEntry, ...]:
    return tuple(
        TimelineEntry(T0 + timedelta(minutes=m), EntryKind.UPDATE, "update") for m in minutes
    )


# -- cadence ---------------------------------------------------------------------------------


def test_first_update_is_due_15_minutes_after_the_start() -> None:
    assert next_update_due(incident(), EVERY) == T0 + EVERY


@pytest.mark.parametrize(
    ("elapsed", "state", "remaining"),
    [
        (0 * S, UpdateState.OK, 15 * M),
        (12 * M + 59 * S, UpdateState.OK, 2 * M + S),
        (13 * M, UpdateState.WARNING, 2 * M),
        (13 * M + S, UpdateState.WARNING, 2 * M - S),
        (15 * M, UpdateState.WARNING, 0 * S),
        (15 * M + S, UpdateState.OVERDUE, -S),
        (22 * M, UpdateState.OVERDUE, -7 * M),
    ],
)
def test_update_countdown_warns_two_minutes_before_and_goes_overdue(
    elapsed: timedelta, state: UpdateState, remaining: timedelta
) -> None:
    """The banner's countdown: OK, WARNING in the last 2 minutes, OVERDUE (negative) after."""
    assert update_state(incident(), EVERY, T0 + elapsed) == (state, remaining)


def test_warn_before_is_configurable() -> None:
    result = update_state(incident(), EVERY, T0 + 10 * M, warn_before=5 * M)
    assert result == (UpdateState.WARNING, 5 * M)


def test_sending_an_update_resets_the_countdown() -> None:
    """last_update_at restarts the 15 minutes: an overdue incident is OK again after sending."""
    late = incident()
    assert update_state(late, EVERY, T0 + 20 * M)[0] is UpdateState.OVERDUE
    sent = replace(late, last_update_at=T0 + 20 * M)
    assert next_update_due(sent, EVERY) == T0 + 35 * M
    assert update_state(sent, EVERY, T0 + 20 * M) == (UpdateState.OK, 15 * M)


def test_snooze_moves_the_due_time_only_when_later() -> None:
    snoozed = incident(snoozed_until=T0 + 20 * M)
    assert next_update_due(snoozed, EVERY) == T0 + 20 * M
    assert update_state(snoozed, EVERY, T0 + 16 * M) == (UpdateState.OK, 4 * M)
    assert update_state(snoozed, EVERY, T0 + 21 * M) == (UpdateState.OVERDUE, -M)
    stale = incident(snoozed_until=T0 + 5 * M)
    assert next_update_due(stale, EVERY) == T0 + EVERY


def test_a_resolved_incident_is_never_overdue() -> None:
    done = incident(status=IncidentStatus.RESOLVED, resolved_at=T0 + 40 * M)
    assert update_state(done, EVERY, T0 + 3 * EVERY)[0] is UpdateState.OK


def test_overdue_updates_are_detected_after_a_restart() -> None:
    """Pure function of stored instants: a console started late sees the overdue update."""
    stored = incident(last_update_at=T0 + 5 * M)
    assert update_state(stored, EVERY, T0 + 3 * 60 * M) == (UpdateState.OVERDUE, -160 * M)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        update_state(incident(), EVERY, datetime(2025, 3, 4, 15))


# -- monitoring window -----------------------------------------------------------------------


def test_all_clear_waits_for_the_30_minute_monitoring_window() -> None:
    assert MONITORING_WINDOW == 30 * M
    assert all_clear_allowed(incident(), T0 + 60 * M) == (False, 30 * M)
    monitoring = incident(status=IncidentStatus.MONITORING, monitoring_since=T0 + 20 * M)
    assert all_clear_allowed(monitoring, T0 + 20 * M) == (False, 30 * M)
    assert all_clear_allowed(monitoring, T0 + 49 * M + 59 * S) == (False, S)
    assert all_clear_allowed(monitoring, T0 + 50 * M) == (True, 0 * S)
    assert all_clear_allowed(monitoring, T0 + 90 * M) == (True, 0 * S)


def test_monitoring_override_with_a_reason_allows_the_all_clear() -> None:
    early = incident(monitoring_since=T0 + 20 * M, monitoring_override="verified by vendor")
    assert all_clear_allowed(early, T0 + 21 * M) == (True, 0 * S)
    assert all_clear_allowed(replace(early, monitoring_override="  "), T0 + 21 * M) == (
        False,
        29 * M,
    )


def test_monitoring_window_is_configurable() -> None:
    monitoring = incident(monitoring_since=T0)
    assert all_clear_allowed(monitoring, T0 + 10 * M, window=10 * M) == (True, 0 * S)


# -- playbook --------------------------------------------------------------------------------


def test_playbook_covers_the_guide_steps_in_order() -> None:
    assert [s.step for s in PLAYBOOK] == sorted(s.step for s in PLAYBOOK)
    assert {s.step for s in PLAYBOOK} == set(PLAYBOOK_STEPS) == set(range(1, 8))
    keys = [s.key for s in PLAYBOOK]
    assert len(keys) == len(set(keys))
    by_step = {n: [s.text for s in PLAYBOOK if s.step == n] for n in range(1, 8)}
    assert by_step[1][0] == "API /health endpoint responding"
    assert len(by_step[1]) == 5 and len(by_step[3]) == 6 and len(by_step[6]) == 4
    assert "Monitor metrics for 30 minutes" in by_step[6]
    evidence = {s.key: s.evidence for s in PLAYBOOK if s.evidence}
    assert evidence["1.health"] == "probe:API health"
    assert evidence["1.dashboard"] == "probe:Dashboard"
    assert evidence["1.sentry"] == "sentry"
    assert evidence["1.metrics"] == "metrics"
    assert evidence["3.deployments"] == "deployments"
    assert playbook_step("7.review").step == 7
    with pytest.raises(KeyError):
        playbook_step("8.party")


def test_ticked_at_reads_the_latest_tick() -> None:
    ticked = incident(
        playbook=frozenset({"1.health"}),
        playbook_times=(("1.health", T0 + M), ("1.health", T0 + 2 * M)),
    )
    assert ticked.ticked_at("1.health") == T0 + 2 * M
    assert ticked.ticked_at("1.dashboard") is None


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_of_a_resolved_incident_with_on_time_and_late_updates() -> None:
    """Updates at +10, +25 (on time), +45 (late: 20 min gap), +55 (on time) -> 75 %."""
    done = incident(
        status=IncidentStatus.RESOLVED,
        resolved_at=T0 + 62 * M,
        timeline=updates(10, 25, 45, 55),
    )
    metrics = incident_metrics(done, EVERY, T0 + 5 * 60 * M)
    assert metrics.duration == 62 * M
    assert metrics.mttr == 62 * M
    assert metrics.time_to_first_update == 10 * M
    assert metrics.cadence_kept == 75.0


def test_first_update_later_than_15_minutes_is_late() -> None:
    late = incident(timeline=updates(16))
    assert incident_metrics(late, EVERY, T0 + 20 * M).cadence_kept == 0.0


def test_an_active_overdue_update_counts_as_late() -> None:
    active = incident(timeline=updates(10))
    assert incident_metrics(active, EVERY, T0 + 20 * M).cadence_kept == 100.0
    metrics = incident_metrics(active, EVERY, T0 + 26 * M)
    assert metrics.cadence_kept == 50.0
    assert metrics.mttr is None
    assert metrics.duration == 26 * M


def test_no_update_yet() -> None:
    metrics = incident_metrics(incident(), EVERY, T0 + 5 * M)
    assert metrics.time_to_first_update is None
    assert metrics.cadence_kept is None
    assert incident_metrics(incident(), EVERY, T0 + 16 * M).cadence_kept == 0.0


def test_mean_time_to_resolve_over_resolved_incidents_only() -> None:
    a = incident(status=IncidentStatus.RESOLVED, resolved_at=T0 + 30 * M)
    b = incident(status=IncidentStatus.RESOLVED, resolved_at=T0 + 90 * M)
    assert mean_time_to_resolve([a, b, incident()]) == 60 * M
    assert mean_time_to_resolve([incident()]) is None


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (0 * S, "0 min"),
        (59 * S, "0 min"),
        (47 * M + 30 * S, "47 min"),
        (65 * M, "1 h 05 min"),
        (26 * 60 * M, "26 h 00 min"),
        (-3 * M, "-3 min"),
    ],
)
def test_duration_label(delta: timedelta, label: str) -> None:
    assert duration_label(delta) == label


def test_impact_label_uses_the_guide_wording() -> None:
    assert Impact(3, 2.0).label() == "3 customers, ~2% of requests failing"
    assert Impact(1).label() == "1 customer"
    assert Impact(failing_percent=0.25).label() == "~0.2% of requests failing"
    assert Impact(note="EU\nonly").label() == "EU only"
    assert Impact().label() == "unknown"


# -- suggesting a declaration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("down_for", "expected"),
    [
        (14 * M, None),
        (15 * M, None),  # the guide says "> 15 minutes"
        (15 * M + S, "API health down for 15 min (guide §1.4: > 15 minutes)"),
        (17 * M, "API health down for 17 min (guide §1.4: > 15 minutes)"),
    ],
)
def test_suggest_declaring_after_a_probe_is_down_15_minutes(
    down_for: timedelta, expected: str | None
) -> None:
    now = T0 + 60 * M
    assert suggest_declaring({"API health": now - down_for}, [], now) == expected


def test_suggest_declaring_names_the_longest_outage_first() -> None:
    now = T0 + 60 * M
    down = {"Dashboard": now - 20 * M, "API health": now - 40 * M, "Redis": now - M}
    assert suggest_declaring(down, ["HighErrorRate"], now) == (
        "API health down for 40 min (guide §1.4: > 15 minutes)"
    )


def test_suggest_declaring_on_critical_alerts() -> None:
    now = T0
    assert suggest_declaring({}, ["HighErrorRate"], now) == "critical alert HighErrorRate firing"
    assert suggest_declaring({"API": now - M}, ["A", "B\x1b[2J"], now) == (
        "critical alerts A, B^[[2J firing"
    )
    assert suggest_declaring({}, [], now) is None


def test_suggest_after_is_configurable() -> None:
    now = T0 + 60 * M
    assert suggest_declaring({"API": now - 6 * M}, [], now, after=5 * M) == (
        "API down for 6 min (guide §1.4: > 5 minutes)"
    )


# -- config ----------------------------------------------------------------------------------

HOOK = "https://hooks.slack.com/services/T000/B000/canary_hook_1234"


def load(text: str, env: dict[str, str] | None = None) -> IncidentConfig:
    return loads_config(text, env=env or {"SLACK_WEBHOOK_URL": HOOK}).incident


def error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text, env=env or {"SLACK_WEBHOOK_URL": HOOK})
    return str(info.value)


def test_incident_defaults_follow_the_guide(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    config = load("service: API\n")
    assert config == IncidentConfig()
    assert config.update_every == 15 * M
    assert config.warn_before == 2 * M
    assert config.monitoring_window == MONITORING_WINDOW
    assert config.suggest_after == 15 * M
    assert config.review_due == timedelta(hours=24)
    assert config.reviews_dir == tmp_path / "opsconsole" / "reviews"
    assert config.slack is None
    assert config.postmortem_url(7) == ""
    assert config.components == DEFAULT_COMPONENTS


def test_incident_keys_parse() -> None:
    config = load(
        """
incident:
  update_every: 10m
  warn_before: 90s
  review_due: 48h
  reviews_dir: ~/reviews
  slack: {webhook: "${SLACK_WEBHOOK_URL}"}
  postmortem_url_template: https://wiki.company.com/incidents/{id}
  components: [API, " Billing "]
"""
    )
    assert config.update_every == 10 * M
    assert config.warn_before == 90 * S
    assert config.reviews_dir == Path("~/reviews").expanduser()
    assert config.slack is not None
    assert config.slack.webhook.get_secret_value() == HOOK
    assert config.slack.channel_label == "#incidents"
    assert HOOK not in repr(config)
    assert config.postmortem_url(7) == "https://wiki.company.com/incidents/7"
    assert config.components == ("API", "Billing")


def test_loopback_http_webhook_is_allowed_for_tests() -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook"):
        config = load(
            'incident: {slack: {webhook: "${SLACK_WEBHOOK_URL}"}}\n', {"SLACK_WEBHOOK_URL": url}
        )
        assert config.slack is not None
        assert config.slack.webhook.get_secret_value() == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.slack.com/services/T0/B0/canary_x", "must use https://"),
        ("ftp://hooks.slack.com/services/T0/B0/canary_x", "must be an https:// URL"),
        ("hooks.slack.com/services/T0/B0/canary_x", "must be an https:// URL"),
        ("https:///canary_x", "must be an https:// URL"),
    ],
)
def test_bad_webhook_is_rejected_without_quoting_it(url: str, reason: str) -> None:
    """The webhook URL is the credential: no error message may contain it."""
    via_env = error(
        'incident:\n  slack: {webhook: "${SLACK_WEBHOOK_URL}"}\n', {"SLACK_WEBHOOK_URL": url}
    )
    assert via_env.startswith("checks.yaml:2: incident.slack.webhook: " + reason)
    assert "canary_x" not in via_env
    literal = error(f'incident:\n  slack: {{webhook: "{url}"}}\n')
    assert reason in literal
    assert "canary_x" not in literal


def test_incident_config_errors() -> None:
    assert error("incident:\n  update_evry: 5m\n") == (
        "checks.yaml:2: incident.update_evry: unknown key (did you mean 'update_every'?)"
    )
    assert "must be shorter than update_every (15m00s)" in error("incident: {warn_before: 15m}\n")
    assert "duplicate component 'api'" in error("incident: {components: [API, api]}\n")
    assert "only {id}" in error("incident: {postmortem_url_template: 'https://x/{number}'}\n")
    assert "incident.slack.webhook" in error("incident: {slack: {channel_label: '#x'}}\n")
