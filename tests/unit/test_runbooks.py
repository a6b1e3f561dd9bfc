"""Runbooks: the guide's §4 issues matched to realistic tickets."""

from __future__ import annotations

import pytest

from opsconsole.core.runbooks import DEFAULT_RUNBOOKS, Runbook, RunbookStep, match_runbook

CASES = [
    # Issue 1
    ("Dashboard not loading", "", "dashboard_not_loading"),
    ("[BUG] Dashboard won't load after login", "", "dashboard_not_loading"),
    (
        "Blank white page",
        "The dashboard is just a blank page since this morning.",
        "dashboard_not_loading",
    ),
    ("Can't open the dashboard", "", "dashboard_not_loading"),
    ("Help", "Dashboard stuck loading, spinner never ends", "dashboard_not_loading"),
    # Issue 2
    ("API key not working", "", "api_key_not_working"),
    ("Our new API key stopped working", "", "api_key_not_working"),
    (
        "401 Unauthorized with our key",
        "Authorization: Bearer key_123.secret",
        "api_key_not_working",
    ),
    ("Invalid API key error", "", "api_key_not_working"),
    # Issue 3
    ("Rate limiting too strict", "", "rate_limiting_too_strict"),
    ("Getting 429s during bursts", "", "rate_limiting_too_strict"),
    ("Too Many Requests", "We send about 150 requests per minute.", "rate_limiting_too_strict"),
    ("Throttled", "", "rate_limiting_too_strict"),
    # Issue 4
    ("Policy blocking legitimate requests", "", "policy_blocking"),
    ("Why was my request blocked?", "", "policy_blocking"),
    ("Requests getting flagged", "The 'prompt' field triggers the PII filter.", "policy_blocking"),
    ("False positives", "Risk detection has false positives on our traffic.", "policy_blocking"),
    # Issue 5
    ("Can't see audit logs", "", "cant_see_audit_logs"),
    ("Audit log page empty", "", "cant_see_audit_logs"),
    ("Unable to view logs", "", "cant_see_audit_logs"),
    ("Question", "GET /api/admin/logs returns 403", "cant_see_audit_logs"),
    # Nothing
    ("Invoice for November", "Please resend it.", None),
    ("Love the metrics!", "", None),
]


@pytest.mark.parametrize(("subject", "body", "key"), CASES, ids=[c[0] for c in CASES])
def test_default_runbooks_match_realistic_tickets(subject: str, body: str, key: str | None) -> None:
    runbook = match_runbook(subject, body)
    assert (runbook.key if runbook else None) == key


def test_subject_wins_over_body() -> None:
    runbook = match_runbook("API key not working", "The dashboard is not loading either.")
    assert runbook is not None and runbook.key == "api_key_not_working"


def test_every_guide_issue_ships_with_its_steps() -> None:
    keys = [r.key for r in DEFAULT_RUNBOOKS]
    assert keys == [
        "dashboard_not_loading",
        "api_key_not_working",
        "rate_limiting_too_strict",
        "policy_blocking",
        "cant_see_audit_logs",
    ]
    by_key = {r.key: r for r in DEFAULT_RUNBOOKS}
    dashboard = by_key["dashboard_not_loading"]
    assert dashboard.diagnosis[0] == RunbookStep("Check status page for outages", "statuspage")
    assert [len(r.diagnosis) for r in DEFAULT_RUNBOOKS] == [4, 4, 3, 3, 4]
    assert [len(r.resolution) for r in DEFAULT_RUNBOOKS] == [5, 4, 4, 4, 2]
    assert dashboard.escalate == "Escalate to engineering (likely backend issue)"
    assert len(dashboard.steps) == 9
    assert "https://api.domain.com/v1/check" in by_key["api_key_not_working"].resolution[3].text
    evidence = {s.evidence for r in DEFAULT_RUNBOOKS for s in r.steps} - {None}
    assert evidence == {
        "statuspage",
        "probe:API health",
        "probe:Dashboard",
        "probe:API check endpoint",
        "metric:429 rate",
        "metric:request rate",
    }


def test_custom_runbooks_come_first() -> None:
    custom = Runbook(
        key="sso",
        title="SSO login failing",
        patterns=(r"\bsso\b",),
        diagnosis=(RunbookStep("Check the IdP status"),),
        resolution=(),
        escalate="",
    )
    runbook = match_runbook("SSO broken, dashboard not loading", "", (custom, *DEFAULT_RUNBOOKS))
    assert runbook is custom


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "x", "patterns": ("(",)}, "invalid regex"),
        ({"key": "x", "patterns": ()}, "at least one pattern"),
        ({"key": " ", "patterns": ("x",)}, "needs a key"),
    ],
)
def test_invalid_runbooks(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Runbook(title="t", diagnosis=(), resolution=(), escalate="", **kwargs)  # type: ignore[arg-type]


def test_built_in_runbooks_compile_on_first_use_and_user_runbooks_at_once() -> None:
    for runbook in DEFAULT_RUNBOOKS:
        assert runbook.trusted
        assert len(runbook.compiled) == len(runbook.patterns)
    with pytest.raises(ValueError, match="invalid regex"):
        Runbook("mine", "Mine", ("[unclosed",), (), (), "Tier 2")
