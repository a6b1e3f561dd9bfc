"""checks.yaml keys of the ticket queue: operator, team, sla, triage, runbooks, email, tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.config.tickets import default_outbox
from opsconsole.core.runbooks import DEFAULT_RUNBOOKS
from opsconsole.core.sla import DEFAULT_TARGETS, BusinessHours, SlaTarget, evaluate
from opsconsole.core.templates import Operator
from opsconsole.core.tickets import Category, Requester, Severity, Ticket
from opsconsole.core.triage import DEFAULT_RULES, triage

ENV = {"SMTP_PASSWORD": "smtp_canary_1234", "IMAP_PASSWORD": "imap_canary_5678"}
H = timedelta(hours=1)


def load(text: str):  # type: ignore[no-untyped-def]
    return loads_config(text, env=ENV)


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text, env=ENV)
    return str(info.value)


def test_defaults_validate_and_follow_the_guide() -> None:
    config = load("service: API\n")
    assert config.operator.to_operator() == Operator(
        "On-call engineer", "support@company.com", "Support Team"
    )
    assert config.team == ()
    assert config.email is None
    assert config.tickets.ticket_url(101) == "https://support.company.com/tickets/101"
    assert config.tickets.first_number == 101
    policy = config.sla.to_policy(config.timezone)
    assert dict(policy.targets) == dict(DEFAULT_TARGETS)
    assert policy.business_hours is None
    assert policy.tz == ZoneInfo("UTC")
    assert policy.pause_when_pending and policy.at_risk_fraction == 0.25
    assert config.triage.to_rules() == DEFAULT_RULES
    assert config.runbooks.to_runbooks() == DEFAULT_RUNBOOKS


def test_partial_sla_override_merges_with_defaults() -> None:
    config = load(
        """
timezone: Europe/Paris
sla:
  schedule: business
  business_hours: {start: "08:30", end: 17:00, days: [mon, tue, wed, thu, Friday, sat]}
  holidays: [2025-12-25, "2026-01-01"]
  at_risk: 0.5
  pause_when_pending: false
  targets:
    high: {response: 2h}
    low: {resolution: null}
    critical: {resolution: 8h}
"""
    )
    policy = config.sla.to_policy(config.timezone)
    assert policy.targets[Severity.HIGH] == SlaTarget(2 * H, 24 * H)
    assert policy.targets[Severity.LOW] == SlaTarget(48 * H, None)
    assert policy.targets[Severity.CRITICAL] == SlaTarget(H, 8 * H)
    assert policy.targets[Severity.MEDIUM] == SlaTarget(12 * H, timedelta(days=3))
    assert policy.business_hours == BusinessHours(time(8, 30), time(17), frozenset(range(6)))
    assert policy.holidays == frozenset({date(2025, 12, 25), date(2026, 1, 1)})
    assert policy.tz == ZoneInfo("Europe/Paris")
    assert not policy.pause_when_pending
    assert policy.at_risk_fraction == 0.5


def test_sla_policy_from_config_drives_the_engine() -> None:
    config = load(
        "sla: {schedule: business, timezone: America/New_York, "
        "business_hours: {start: '09:00', end: '17:00'}}\n"
    )
    policy = config.sla.to_policy("UTC")
    friday = datetime(2025, 3, 7, 15, tzinfo=ZoneInfo("America/New_York"))
    ticket = Ticket(101, "x", Requester("a", "a@b.c"), friday, Category.BUG, Severity.HIGH)
    due = evaluate(ticket, policy, friday).response.due
    assert due == datetime(2025, 3, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sla: {schedule: weekdays}\n",
            "checks.yaml:1: sla.schedule: must be one of 'calendar' or 'business', got 'weekdays'",
        ),
        (
            "sla:\n  holidays: [2025-12-25, christmas]\n",
            "checks.yaml:2: sla.holidays[1]: expected a date like 2025-12-25, got 'christmas'",
        ),
        (
            "sla:\n  holidays: ['2025-02-30']\n",
            "checks.yaml:2: sla.holidays[0]: expected a date like 2025-12-25, got '2025-02-30'",
        ),
        (
            "sla:\n  timezone: Mars/Olympus\n",
            "checks.yaml:2: sla.timezone: unknown time zone "
            "'Mars/Olympus' (use an IANA name like 'UTC' or 'Europe/Paris')",
        ),
        ("sla:\n  at_risk: 1.5\n", "checks.yaml:2: sla.at_risk: must be less than 1, got 1.5"),
        (
            "sla:\n  business_hours:\n    start: '18:00'\n    end: '09:00'\n",
            "checks.yaml:4: sla.business_hours.end: must be after start (18:00)",
        ),
        (
            "sla:\n  business_hours:\n    start: 9am\n",
            "checks.yaml:3: sla.business_hours.start: expected a time like '09:00', got '9am'",
        ),
        (
            "sla:\n  business_hours:\n    days: [mon, funday]\n",
            "checks.yaml:3: sla.business_hours.days[1]: expected one of mon, tue, wed, thu, fri, "
            "sat, sun, got 'funday'",
        ),
        (
            "sla:\n  targets:\n    high:\n      response: soon\n",
            "checks.yaml:4: sla.targets.high.response: expected a duration like 5s, got 'soon'",
        ),
        (
            "sla:\n  targets:\n    hgh: {response: 1h}\n",
            "checks.yaml:3: sla.targets.hgh: unknown key (did you mean 'high'?)",
        ),
        (
            "sla:\n  targets:\n    high: {respnse: 1h}\n",
            "checks.yaml:3: sla.targets.high.respnse: unknown key (did you mean 'response'?)",
        ),
    ],
)
def test_sla_errors(text: str, expected: str) -> None:
    assert error(text) == expected


def test_unquoted_times_survive_yaml_base_60() -> None:
    """``end: 17:00`` unquoted is the integer 1020 in YAML 1.1; it still means 17:00."""
    config = load("sla:\n  business_hours: {start: 7:30, end: 17:00}\n")
    assert config.sla.business_hours.start == time(7, 30)
    assert config.sla.business_hours.end == time(17)
    config = load("sla:\n  business_hours: {start: 0, end: '24:00'}\n")
    assert config.sla.business_hours.to_business_hours().end == time(0)


def test_triage_rules_come_first_and_validate() -> None:
    config = load(
        r"""
triage:
  rules:
    - name: VIP customer
      patterns: ['@bigbank\.example\b']
      field: body
      severity: critical
    - name: pilot pricing
      patterns: 'pilot\s+pricing'
      category: billing
"""
    )
    rules = config.triage.to_rules()
    assert [r.name for r in rules[:2]] == ["VIP customer", "pilot pricing"]
    assert rules[2:] == DEFAULT_RULES
    result = triage("pilot pricing?", "from cfo@bigbank.example", rules)
    assert (result.category, result.severity) == (Category.BILLING, Severity.CRITICAL)
    only = load(
        "triage: {replace_defaults: true, rules: [{name: x, patterns: [x], severity: low}]}\n"
    )
    assert len(only.triage.to_rules()) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "triage:\n  rules:\n    - name: broken\n      patterns:\n        - ok\n"
            "        - '(unclosed'\n      severity: high\n",
            "checks.yaml:6: triage.rules[0].patterns[1]: invalid regex '(unclosed': "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            "triage:\n  rules:\n    - {name: x, patterns: [x]}\n",
            "checks.yaml:3: triage.rules[0]: a rule must set a category, a severity or both",
        ),
        (
            "triage:\n  rules:\n    - {name: x, patterns: [x], severity: urgent}\n",
            "checks.yaml:3: triage.rules[0].severity: must be one of 'critical', 'high', "
            "'medium' or 'low', got 'urgent'",
        ),
        (
            "triage:\n  rules:\n    - {name: x, patterns: [x], field: header, category: bug}\n",
            "checks.yaml:3: triage.rules[0].field: must be one of 'subject', 'body' or 'any', "
            "got 'header'",
        ),
        (
            "triage:\n  rule: []\n",
            "checks.yaml:2: triage.rule: unknown key (did you mean 'rules'?)",
        ),
    ],
)
def test_triage_errors(text: str, expected: str) -> None:
    assert error(text) == expected


def test_custom_runbooks() -> None:
    config = load(
        r"""
runbooks:
  custom:
    - key: sso
      title: SSO login failing
      patterns: ['\bsso\b']
      diagnosis:
        - Check the IdP status
        - {text: Check the API, evidence: "probe:API health"}
    - key: dashboard_not_loading
      title: Dashboard down (ours)
      patterns: [dashboard]
      resolution: [Restart the CDN]
"""
    )
    runbooks = config.runbooks.to_runbooks()
    assert [r.key for r in runbooks] == [
        "sso",
        "dashboard_not_loading",
        "api_key_not_working",
        "rate_limiting_too_strict",
        "policy_blocking",
        "cant_see_audit_logs",
    ]
    assert runbooks[0].diagnosis[1].evidence == "probe:API health"
    assert runbooks[1].title == "Dashboard down (ours)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "runbooks:\n  custom:\n    - key: a\n      title: A\n      patterns: ['[z-a]']\n"
            "      diagnosis: [x]\n",
            "checks.yaml:5: runbooks.custom[0].patterns[0]: invalid regex '[z-a]': "
            "bad character range z-a at position 1",
        ),
        (
            "runbooks:\n  custom:\n    - key: a\n      title: A\n      patterns: [a]\n"
            "      diagnosis: [{text: x, evidence: grafana}]\n",
            "checks.yaml:6: runbooks.custom[0].diagnosis[0].evidence: expected "
            "'probe:<probe name>', 'metric:<query name>', 'sentry' or 'statuspage', "
            "got 'grafana'",
        ),
        (
            "runbooks:\n  custom:\n    - {key: a, title: A, patterns: [a], diagnosis: [x]}\n"
            "    - {key: a, title: B, patterns: [b], diagnosis: [y]}\n",
            "checks.yaml:4: runbooks.custom[1].key: duplicate runbook key 'a' "
            "(already used by custom[0])",
        ),
    ],
)
def test_runbook_errors(text: str, expected: str) -> None:
    assert error(text) == expected


def test_email_block_hides_passwords_and_expands_paths() -> None:
    config = load(
        """
operator: {name: Grace Hopper, email: grace@ops.example, team: Pilot Support}
team: [Grace Hopper, Alan Turing]
email:
  maildir: ~/Mail/support
  imap: {host: imap.example.com, user: support, password: "${IMAP_PASSWORD}"}
  smtp:
    host: smtp.example.com
    user: support
    password: ${SMTP_PASSWORD}
    from_address: "AI Governance Support <support@company.com>"
  outbox: ~/outbox
  poll_interval: 1m
  escalation: {L2: eng@company.com, L3: oncall@company.com}
tickets: {url: "https://desk.example/t/{number}", first_number: 1000}
"""
    )
    email = config.email
    assert email is not None and email.imap is not None and email.smtp is not None
    assert email.maildir == Path("~/Mail/support").expanduser()
    assert email.outbox == Path.home() / "outbox"
    assert email.imap.port == 993 and email.imap.tls and email.imap.folder == "INBOX"
    assert email.imap.password.get_secret_value() == "imap_canary_5678"
    assert email.smtp.port == 587 and email.smtp.starttls and not email.smtp.ssl
    assert email.smtp.password is not None
    assert email.smtp.password.get_secret_value() == "smtp_canary_1234"
    assert email.from_address == "AI Governance Support <support@company.com>"
    assert email.poll_interval == timedelta(minutes=1)
    assert email.max_message_bytes == 26_214_400
    assert email.escalation.L2 == "eng@company.com"
    assert "canary" not in repr(config)
    assert config.team == ("Grace Hopper", "Alan Turing")
    assert config.operator.to_operator().team == "Pilot Support"
    assert config.tickets.ticket_url(1000) == "https://desk.example/t/1000"


def test_mail_timeouts_reach_the_transports() -> None:
    """``timeout`` and ``deadline`` of ``email.imap``/``email.smtp``: defaults 30s and
    5m/2m, and what is configured is what the IMAP poller and SMTP sender use."""
    from opsconsole.tickets.runtime import imap_settings, make_sender

    config = load("email:\n  imap: {host: h, user: u, password: p}\n  smtp: {host: h}\n")
    assert config.email is not None and config.email.imap and config.email.smtp
    imap = imap_settings(config)
    assert (imap.timeout, imap.deadline) == (30.0, 300.0)  # type: ignore[attr-defined]
    smtp = make_sender(config)._settings  # type: ignore[attr-defined]
    assert (smtp.timeout, smtp.deadline) == (30.0, 120.0)
    config = load(
        "email:\n  imap: {host: h, user: u, password: p, timeout: 10s, deadline: 20m}\n"
        "  smtp: {host: h, timeout: 5s, deadline: 45s}\n"
    )
    imap = imap_settings(config)
    assert (imap.timeout, imap.deadline) == (10.0, 1200.0)  # type: ignore[attr-defined]
    smtp = make_sender(config)._settings  # type: ignore[attr-defined]
    assert (smtp.timeout, smtp.deadline) == (5.0, 45.0)


def test_email_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    config = load("email: {}\n")
    assert config.email is not None
    assert config.email.outbox == tmp_path / "opsconsole" / "outbox"
    assert config.email.from_address == "support@company.com"
    assert config.email.poll_interval == timedelta(seconds=30)
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_outbox() == Path.home() / ".local" / "share" / "opsconsole" / "outbox"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "email:\n  smtp: {host: h, ssl: true}\n",
            "checks.yaml:2: email.smtp.starttls: set starttls: false with ssl: true "
            "(implicit TLS, port 465)",
        ),
        (
            "email:\n  smtp: {host: h, user: u}\n",
            "checks.yaml:2: email.smtp.password: required with user (use ${SMTP_PASSWORD})",
        ),
        (
            "email:\n  imap: {host: h, user: u}\n",
            "checks.yaml:2: email.imap.password: required",
        ),
        (
            "email:\n  imap: {host: h, user: u, password: p, timeout: 5m}\n",
            "checks.yaml:2: email.imap.timeout: must be shorter than deadline (5m00s)",
        ),
        (
            "email:\n  smtp: {host: h, timeout: 1m, deadline: 30s}\n",
            "checks.yaml:2: email.smtp.timeout: must be shorter than deadline (30s)",
        ),
        (
            "email:\n  support_address: support\n",
            "checks.yaml:2: email.support_address: expected an email address like "
            "support@company.com, got 'support'",
        ),
        (
            "email:\n  escalation: {L4: x@y.z}\n",
            "checks.yaml:2: email.escalation.L4: unknown key (expected one of: L2, L3)",
        ),
        (
            "email:\n  max_message_bytes: 10\n",
            "checks.yaml:2: email.max_message_bytes: must be at least 1024, got 10",
        ),
        (
            "tickets:\n  url: https://desk.example/t/\n",
            "checks.yaml:2: tickets.url: must contain {number}, got 'https://desk.example/t/'",
        ),
        (
            "tickets:\n  url: 'https://desk.example/{id}/{number}'\n",
            "checks.yaml:2: tickets.url: only {number} may appear in braces (write {{ }} for "
            "a brace), got 'https://desk.example/{id}/{number}'",
        ),
        ("team: [Ada, Ada]\n", "checks.yaml:1: team[1]: duplicate team member 'Ada'"),
        (
            'operator: {email: "x\\n@y.z"}\n',
            "checks.yaml:1: operator.email: expected an email address like "
            "support@company.com, got 'x\\n@y.z'",
        ),
    ],
)
def test_email_and_ticket_errors(text: str, expected: str) -> None:
    assert error(text) == expected
