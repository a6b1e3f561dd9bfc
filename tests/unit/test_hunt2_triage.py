"""Auto-triage on mail as real mailboxes deliver it (bug hunt 2).

Corporate disclaimers, mailing-list footers, negated phrases and plural or hyphenated
variants of the guide's §3.3 wording, each of which got a wrong severity before the fix.
"""

from __future__ import annotations

import pytest

from opsconsole.core.tickets import Category, Severity
from opsconsole.core.triage import triage

CRIT, HIGH, MED, LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be\n"
    "privileged. If you are not the intended recipient, any unauthorized access, use or\n"
    "disclosure is strictly prohibited and may be a breach of confidentiality. Please notify\n"
    "the sender and delete this message."
)
GROUPS_FOOTER = (
    "--\n"
    'You received this message because you are subscribed to the Google Groups "Support"\n'
    "group. To unsubscribe from this group and stop receiving emails from it, send an email\n"
    "to support+unsubscribe@company.com. Data loss prevention: see the group settings."
)


@pytest.mark.parametrize(
    ("subject", "body", "category", "severity"),
    [
        ("Question about invoices", "How do I download last month's invoice?", "billing", LOW),
        ("How do I create a policy?", "Step by step, please.", "question", MED),
        ("Feature request: dark mode", "Would be nice to have, no rush.", "feature", LOW),
    ],
)
def test_a_corporate_disclaimer_does_not_make_a_question_critical(
    subject: str, body: str, category: str, severity: Severity
) -> None:
    """Outlook appends "unauthorized access … breach of confidentiality" to every mail of
    many companies: that is not the §3.3 "security breach" of the message."""
    text = f"Hi team,\n\n{body}\n\nThanks,\nAna\n\n{DISCLAIMER}"
    result = triage(subject, text)
    assert (result.category.value, result.severity) == (category, severity), result.rule


def test_a_mailing_list_footer_is_not_read_as_the_request() -> None:
    result = triage("How do I rotate an API key?", f"Without downtime?\n\n{GROUPS_FOOTER}")
    assert (result.category, result.severity) == (Category.QUESTION, LOW), result.rule


def test_a_real_breach_next_to_a_disclaimer_is_still_critical() -> None:
    body = f"Our API key was leaked on GitHub this morning.\n\n{DISCLAIMER}"
    result = triage("Urgent", body)
    assert result.severity is CRIT and "security breach" in result.rule


def test_a_disclaimer_in_the_same_paragraph_keeps_the_text_before_it() -> None:
    body = "The production API is returning 500 errors.\n" + DISCLAIMER
    assert triage("Help", body).severity is CRIT


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Export question", "No data loss, just a typo in the docs."),
        (
            "Not a security issue",
            "This is not a security issue, just a question: how do I add a user?",
        ),
        ("Audit log export", "There's no data loss, the export is only slower than expected."),
        ("Dashboard colours", "It isn't a security breach, but the layout is odd."),
    ],
)
def test_negated_critical_phrases_are_not_critical(subject: str, body: str) -> None:
    """§3.3's critical list read literally: "no data loss" is not "data loss suspected"."""
    result = triage(subject, body)
    assert result.severity is not CRIT, result.rule


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("We cannot rule out data loss", ""),
        ("No response from support, and we see data loss", ""),
        ("Is this a security breach?", "Someone logged in from an unknown IP."),
    ],
)
def test_unnegated_critical_phrases_stay_critical(subject: str, body: str) -> None:
    assert triage(subject, body).severity is CRIT


@pytest.mark.parametrize(
    ("subject", "body", "severity", "category"),
    [
        ("Dashboards not loading", "", HIGH, Category.BUG),
        ("Both dashboards show wrong data", "", HIGH, Category.BUG),
        ("Possible data-loss in audit logs", "", CRIT, Category.BUG),
        ("Getting 502s from the gateway", "", CRIT, Category.BUG),
        ("The dashboard doesn't show any data", "", HIGH, Category.BUG),
        ("api.company.com is down", "", CRIT, Category.BUG),
        ("Policies not evaluating", "", HIGH, Category.BUG),
    ],
)
def test_plural_and_hyphen_variants_of_the_guides_phrases(
    subject: str, body: str, severity: Severity, category: Category
) -> None:
    result = triage(subject, body)
    assert (result.severity, result.category) == (severity, category), result.rule
