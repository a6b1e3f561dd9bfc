"""Guide placeholders left in a text about to be sent (core.placeholders)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from test_templates import OPERATOR, URL

from opsconsole.core.incident_text import compose_all_clear, compose_update
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.placeholders import guide_placeholders, unfilled_placeholders
from opsconsole.core.templates import TEMPLATES, Evidence, escalation_block, render
from opsconsole.core.tickets import Category, Level, Requester, Severity, Ticket
from opsconsole.screens.placeholder_guard import PlaceholderGuard, placeholder_warning

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
BRACKETS = re.compile(r"\[[^\[\]\n]+\]")


def bare_ticket(subject: str = "") -> Ticket:
    return Ticket(
        number=7,
        subject=subject,
        requester=Requester("", "x@", ""),
        received_at=T0,
        category=Category.BUG,
        severity=Severity.HIGH,
    )


def test_every_placeholder_the_escalation_block_can_write_is_known() -> None:
    """Drift guard: a new `[...]` in escalation_block must join ESCALATION_PLACEHOLDERS."""
    for level in Level:
        block = escalation_block(bare_ticket(), level, Evidence())
        found = set(BRACKETS.findall(block))
        assert found and found <= guide_placeholders(), found - guide_placeholders()


def test_every_placeholder_of_the_all_clear_and_step_5_is_known() -> None:
    incident = Incident(
        id=1,
        title="",
        component="API",
        severity=IncidentSeverity.HIGH,
        status=IncidentStatus.MONITORING,
        started_at=T0,
        impact=Impact(),
    )
    found = set(BRACKETS.findall(compose_all_clear(incident, T0 + timedelta(hours=1))))
    assert {"[What happened]", "[Why it happened]", "[What we did]"} <= found
    assert found <= guide_placeholders()
    sent = TimelineEntry(T0 + timedelta(minutes=5), EntryKind.UPDATE, "first")
    later = compose_update(
        replace(incident, timeline=(sent,)),
        T0 + timedelta(minutes=20),
        T0 + timedelta(minutes=35),
        UTC,
    )
    assert unfilled_placeholders(later) == [
        "[Next steps]",
        "[Expected resolution time]",
        "[Any customer action needed]",
    ]


def test_what_a_filled_reply_still_asks_for_is_reported_in_order() -> None:
    subject, body = render(
        TEMPLATES["root_cause"], bare_ticket("Login broken"), OPERATOR,
        ticket_url=URL, response_window="4 hours",
    )  # fmt: skip
    left = unfilled_placeholders(f"{subject}\n{body}")
    assert left[0] == "[Explain what went wrong clearly]"
    assert "[Customer Name]" not in left and "[Your Name]" not in left  # filled by render
    assert len(left) == len(set(left))


def test_brackets_a_customer_wrote_are_not_placeholders() -> None:
    text = "RE: [URGENT] [Feature] SSO - Ticket #7\nSee [1] and [BUG] and [x]"
    assert unfilled_placeholders(text) == []
    assert "[BUG]" not in guide_placeholders()  # the guide's subject tag, not an instruction


def test_the_guard_warns_once_per_text_and_again_after_an_edit() -> None:
    guard = PlaceholderGuard()
    text = "Hi [Customer Name],\nNext Steps: [Next steps]"
    warning = guard.check(text)
    assert warning == placeholder_warning(["[Customer Name]", "[Next steps]"])
    assert warning.endswith("ctrl+s again sends it as is")
    assert guard.check(text) is None  # the second ctrl+s sends
    other = PlaceholderGuard()
    assert other.check(text) is not None
    assert other.check(text, "ctrl+o") is not None  # another key: its own warning first
    assert other.check(text, "ctrl+o") is None
    edited = text.replace("[Customer Name]", "Ada")
    assert guard.check(edited, "ctrl+o") == (
        "Still to fill in: [Next steps] — ctrl+o again sends it as is"
    )
    assert guard.check("Hi Ada, all fixed.") is None


def test_a_long_list_is_cut_to_three_names() -> None:
    left = ["[A a]", "[B b]", "[C c]", "[D d]", "[E e]"]
    assert placeholder_warning(left) == (
        "Still to fill in: [A a], [B b], [C c] and 2 more — ctrl+s again sends it as is"
    )
