"""Auto-triage: the guide's §3.2 categories and §3.3 severities from realistic mail."""

from __future__ import annotations

import re
import time

import pytest

from opsconsole.core.tickets import Category, Severity
from opsconsole.core.triage import DEFAULT_RULES, TriageRule, triage

BUG, FEATURE, QUESTION, BILLING, FEEDBACK = (
    Category.BUG,
    Category.FEATURE,
    Category.QUESTION,
    Category.BILLING,
    Category.FEEDBACK,
)
CRIT, HIGH, MED, LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

BUG_TEMPLATE = """What happened:
The dashboard shows a blank page after login.

Expected behavior:
The policy list.

Steps to reproduce:
1. Log in
2. Open Policies

Environment:
- Browser: Chrome 120
- OS: macOS 14.1
"""

CASES = [
    # (subject, body, category, severity, severity rule, category rule)
    # -- critical (§3.3, §1.4; the issue puts the [BUG] prefix here)
    ("[BUG] Dashboard not loading", BUG_TEMPLATE, BUG, CRIT, "[BUG] prefix", "[BUG] prefix"),
    ("Re: [BUG] typo on settings page", "", BUG, CRIT, "[BUG] prefix", "[BUG] prefix"),
    (
        "CRITICAL: API down",
        "Nothing responds since 14:30 UTC.",
        BUG,
        CRIT,
        "CRITICAL: prefix",
        "reported malfunction",
    ),
    (
        "Production API returning 500 errors",
        "Every /v1/check call fails.",
        BUG,
        CRIT,
        "production 500s",
        "reported malfunction",
    ),
    ("Getting HTTP 500 on /v1/check", "", BUG, CRIT, "production 500s", "reported malfunction"),
    (
        "Internal Server Error on every request",
        "",
        BUG,
        CRIT,
        "production 500s",
        "reported malfunction",
    ),
    ("API is completely down", "for 20 minutes now", BUG, CRIT, "API down", "reported malfunction"),
    (
        "Database connection failing",
        "Backend logs: could not connect, connection refused",
        BUG,
        CRIT,
        "database connection failing",
        "reported malfunction",
    ),
    (
        "Backend can't connect to the database",
        "",
        BUG,
        CRIT,
        "database connection failing",
        "reported malfunction",
    ),
    (
        "Rate limiting broken",
        "All customers are blocked with 429 since the deploy.",
        BUG,
        CRIT,
        "rate limiting broken for everyone",
        "reported malfunction",
    ),
    (
        "Everyone is getting 429s",
        "",
        BUG,
        CRIT,
        "rate limiting broken for everyone",
        "reported malfunction",
    ),
    (
        "Audit logs disappeared",
        "We think we lost all our data from last week - data loss?",
        BUG,
        CRIT,
        "data loss",
        "reported malfunction",
    ),
    (
        "Possible security breach",
        "An API key was leaked on GitHub.",
        BUG,
        CRIT,
        "security breach",
        "reported malfunction",
    ),
    # -- high
    (
        "Dashboard showing wrong data",
        "Request counts don't match our logs.",
        BUG,
        HIGH,
        "dashboard wrong data or not loading",
        "reported malfunction",
    ),
    (
        "Dashboard won't load",
        "Just a spinner forever.",
        BUG,
        HIGH,
        "dashboard wrong data or not loading",
        "reported malfunction",
    ),
    (
        "API slow",
        "p95 is above 1000ms since this morning",
        BUG,
        HIGH,
        "API slow (p95)",
        "reported malfunction",
    ),
    ("Requests are very slow today", "", BUG, HIGH, "API slow (p95)", "reported malfunction"),
    (
        "Our API key is not working",
        "We get 401 Unauthorized with Bearer key_id.secret",
        BUG,
        HIGH,
        "customer API key not working",
        "reported malfunction",
    ),
    ("401 with our new key", "", BUG, HIGH, "customer API key not working", "reported malfunction"),
    (
        "Policy not evaluating",
        "The PII policy is not being evaluated for /v1/check.",
        BUG,
        HIGH,
        "policy not evaluating",
        "reported malfunction",
    ),
    (
        "Policy blocking legitimate requests",
        "Our 'prompt' field gets flagged.",
        BUG,
        HIGH,
        "policy not evaluating",
        "reported malfunction",
    ),
    (
        "Rate limit false positives",
        "We are well under 100 req/60s.",
        BUG,
        HIGH,
        "rate limit false positives",
        "reported malfunction",
    ),
    (
        "Rate limiting too strict",
        "We hit the limit during bursts.",
        BUG,
        HIGH,
        "rate limit false positives",
        "reported malfunction",
    ),
    # -- medium
    (
        "Typo in the dashboard button",
        "'Polcies' instead of 'Policies'",
        BUG,
        MED,
        "minor UI bug",
        "reported malfunction",
    ),
    (
        "Minor layout issue on the keys page",
        "The table overlaps the sidebar.",
        BUG,
        MED,
        "minor UI bug",
        "reported malfunction",
    ),
    (
        "Audit log export works but slower than expected",
        "",
        BUG,
        MED,
        "slower than expected",
        "reported malfunction",
    ),
    ("How do I create a policy?", "", QUESTION, MED, "policy question", "question"),
    ("Why was my request blocked?", "request id 42", QUESTION, MED, "policy question", "question"),
    (
        "Clarification on the PII policy",
        "Does it cover phone numbers?",
        QUESTION,
        MED,
        "policy question",
        "question",
    ),
    ("Can we add IP whitelisting?", "", FEATURE, MED, "feature request", "feature request"),
    (
        "Feature request: Slack notifications",
        "",
        FEATURE,
        MED,
        "feature request",
        "feature request",
    ),
    # -- low
    (
        "Typo in the quickstart docs",
        "Step 3 says 'genrate'.",
        BUG,
        LOW,
        "documentation typo",
        "reported malfunction",
    ),
    (
        "Dark mode",
        "Would be nice to have a dark mode, no rush.",
        FEATURE,
        LOW,
        "nice-to-have feature request",
        "feature request",
    ),
    (
        "General inquiry",
        "Do you have an SLA for the pilot?",
        QUESTION,
        LOW,
        "general inquiry",
        "question",
    ),
    ("Your dashboard is confusing", "", FEEDBACK, LOW, "feedback or suggestion", "feedback"),
    (
        "Love the metrics!",
        "Great job on the new charts.",
        FEEDBACK,
        LOW,
        "feedback or suggestion",
        "feedback",
    ),
    (
        "A suggestion",
        "Maybe group policies by team.",
        FEEDBACK,
        LOW,
        "feedback or suggestion",
        "feedback",
    ),
    # -- billing (no severity rule: the billing fallback)
    (
        "Why am I charged?",
        "I thought the pilot was free.",
        BILLING,
        LOW,
        "default for billing",
        "billing",
    ),
    ("Can I upgrade?", "We'd like the paid tier.", BILLING, LOW, "default for billing", "billing"),
    ("Invoice for November", "Please resend it.", BILLING, LOW, "default for billing", "billing"),
    # -- nothing matches
    ("Hello", "Hi there", QUESTION, LOW, "default for question", "default"),
]


@pytest.mark.parametrize(
    ("subject", "body", "category", "severity", "severity_rule", "category_rule"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_default_rules(
    subject: str,
    body: str,
    category: Category,
    severity: Severity,
    severity_rule: str,
    category_rule: str,
) -> None:
    result = triage(subject, body)
    assert (result.category, result.severity) == (category, severity)
    assert result.rule == (
        f"severity: {severity} — {severity_rule}; category: {category} — {category_rule}"
    )


def test_table_covers_every_category_and_severity() -> None:
    assert len(CASES) >= 30
    assert {c[2] for c in CASES} == set(Category)
    assert {c[3] for c in CASES} == set(Severity)


def test_bug_without_a_severity_match_defaults_to_medium() -> None:
    result = triage("Export button broken", "")
    assert (result.category, result.severity) == (BUG, MED)
    assert result.rule == "severity: medium — default for bug; category: bug — reported malfunction"


def test_feature_without_a_severity_match_defaults_to_low() -> None:
    rules = [r for r in DEFAULT_RULES if r.severity is None]
    result = triage("Can we add SSO?", "", rules)
    assert (result.category, result.severity) == (FEATURE, LOW)


def test_config_rules_take_priority_over_defaults() -> None:
    vip = TriageRule("VIP customer", (r"@bigbank\.example\b",), "body", severity=CRIT)
    billing = TriageRule("pilot pricing", (r"\bpilot\s+pricing\b",), category=BILLING)
    rules = (vip, billing, *DEFAULT_RULES)
    result = triage("Feature request: pilot pricing page", "from ops@bigbank.example", rules)
    assert (result.category, result.severity) == (BILLING, CRIT)
    assert result.rule == "severity: critical — VIP customer; category: billing — pilot pricing"
    # A config rule only decides what it sets; the rest still comes from the defaults.
    result = triage("Dashboard won't load", "ops@bigbank.example", rules)
    assert (result.category, result.severity) == (BUG, CRIT)
    assert "category: bug — reported malfunction" in result.rule


@pytest.mark.parametrize(
    ("field", "subject", "body", "hit"),
    [
        ("subject", "urgent", "", True),
        ("subject", "", "urgent", False),
        ("body", "urgent", "", False),
        ("body", "", "URGENT", True),
        ("any", "", "Urgent", True),
    ],
)
def test_rule_field_and_case(field: str, subject: str, body: str, hit: bool) -> None:
    rule = TriageRule("urgent", (r"\burgent\b",), field, severity=HIGH)  # type: ignore[arg-type]
    assert rule.matches(subject, body) is hit


@pytest.mark.parametrize(
    ("patterns", "category", "severity", "message"),
    [
        (("(unclosed",), BUG, None, "invalid regex '(unclosed'"),
        ((), BUG, None, "at least one pattern"),
        (("x",), None, None, "neither a category nor a severity"),
    ],
)
def test_invalid_rules(
    patterns: tuple[str, ...],
    category: Category | None,
    severity: Severity | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        TriageRule("r", patterns, category=category, severity=severity)


def test_untrusted_text_is_only_searched() -> None:
    """Markup, control characters and regex syntax in mail are plain text to triage."""
    result = triage("[b]CRITICAL[/b] \x1b[31m(.*)+", "\x00" * 10 + "[link](javascript:x)")
    assert result.category is QUESTION
    assert result.severity is LOW


def test_huge_bodies_are_cut_before_searching() -> None:
    body = "a" * 5_000_000 + " internal server error"
    start = time.perf_counter()
    result = triage("hello", body)
    assert time.perf_counter() - start < 2.0
    assert result.severity is LOW  # the match lies beyond MAX_SCAN_CHARS


def test_built_in_rules_compile_on_first_use_and_user_rules_at_once() -> None:
    """Built-ins skip the import-time compile (startup); every one of them still compiles."""
    for rule in DEFAULT_RULES:
        assert rule.trusted
        assert len(rule.compiled) == len(rule.patterns)
        assert all(p.flags & re.IGNORECASE for p in rule.compiled)
    with pytest.raises(ValueError, match="invalid regex"):
        TriageRule("broken", ("(unclosed",), severity=Severity.HIGH)
