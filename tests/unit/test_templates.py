"""Reply templates (§6), the intake auto-reply (§3.1) and the escalation block (§5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconsole.core.templates import (
    ACKNOWLEDGEMENT,
    TEMPLATES,
    Evidence,
    Operator,
    escalation_block,
    render,
    reply_subject,
)
from opsconsole.core.tickets import Category, Level, Requester, Severity, Ticket

T0 = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)
OPERATOR = Operator("Grace Hopper", "grace@ops.example", "Pilot Support")
URL = "https://tickets.example/101"


def ticket(
    subject: str = "[BUG] Dashboard not loading",
    name: str = "Ada Lovelace",
    address: str = "ada@acme.io",
    company: str = "Acme",
) -> Ticket:
    return Ticket(
        number=101,
        subject=subject,
        requester=Requester(name, address, company),
        received_at=T0,
        category=Category.BUG,
        severity=Severity.HIGH,
    )


def fill(key: str, t: Ticket | None = None, **extra: str) -> tuple[str, str]:
    template = ACKNOWLEDGEMENT if key == "acknowledgement" else TEMPLATES[key]
    return render(
        template, t or ticket(), OPERATOR, ticket_url=URL, response_window="4 hours", extra=extra
    )


def test_the_guide_templates_are_all_there_in_order() -> None:
    assert list(TEMPLATES) == [
        "initial_response",
        "root_cause",
        "unable_to_reproduce",
        "resolution",
        "feature_request",
    ]
    assert TEMPLATES["initial_response"].subject == "RE: [BUG] Your dashboard issue - Ticket #XXX"
    assert TEMPLATES["initial_response"].body.startswith("Hi [Customer Name],\n\nThanks for")
    assert ACKNOWLEDGEMENT.body.startswith("Thanks for contacting AI Governance support!\n")


@pytest.mark.parametrize("key", [*TEMPLATES, "acknowledgement"])
def test_every_template_renders_with_known_placeholders_filled(key: str) -> None:
    subject, body = fill(key)
    for placeholder in (
        "[Customer Name]",
        "#XXX",
        "[Your Name]",
        "[Medium/High/Critical]",
        "[Auto-detected category]",
        "[One-line summary of their problem]",
        "support@company.com",
        "tickets/XXX",
        "24-48 hours",
    ):
        assert placeholder not in subject + body
    assert "Ticket #101" in subject
    assert "\n" not in subject
    if key != "acknowledgement":
        assert body.startswith("Hi Ada Lovelace,\n")
        assert "\nGrace Hopper\nPilot Support\n" in body


def test_initial_response_reads_like_the_guide() -> None:
    subject, body = fill("initial_response")
    assert subject == "RE: [BUG] Dashboard not loading - Ticket #101"
    assert "- Issue: [BUG] Dashboard not loading\n- Severity: High\n" in body
    assert body.endswith("Best,\nGrace Hopper\nPilot Support\ngrace@ops.example\n")


def test_acknowledgement() -> None:
    subject, body = fill("acknowledgement", ticket("Re: Re: API key not working"))
    assert subject == "RE: API key not working - Ticket #101"
    assert "We received your email and assigned ticket #101.\n" in body
    assert "We'll respond with next steps within 4 hours.\n" in body
    assert f"Ticket: {URL}\nStatus: Open\nCategory: Bug\n" in body


def test_unknown_placeholders_stay_for_the_operator() -> None:
    _, body = fill("root_cause")
    assert "[Explain what went wrong clearly]" in body
    assert "[Already deployed / Will deploy in X hours / Workaround: ...]" in body
    subject, body = fill("feature_request")
    assert subject == "RE: Feature request - [Feature name] - Ticket #101"
    assert "- Priority: [High/Medium/Low]" in body


def test_extra_placeholders() -> None:
    subject, body = fill("feature_request", **{"Feature name": "IP allowlisting"})
    assert subject == "RE: Feature request - IP allowlisting - Ticket #101"
    _, body = fill("feature_request", **{"[Feature request]": "IP allowlisting"})
    assert "Thanks for the suggestion! IP allowlisting is great feedback." in body


def test_customer_without_a_name_is_addressed_by_email() -> None:
    _, body = fill("unable_to_reproduce", ticket(name="  "))
    assert body.startswith("Hi ada@acme.io,\n")


@pytest.mark.parametrize(
    "hostile",
    [
        "[Your Name] #XXX support@company.com 24-48 hours",
        "[b]bold[/b] [red]x[/red] <script>alert(1)</script>",
        r"\1 \g<0> {number} %s $HOME ${SMTP_PASSWORD}",
        "\x1b[31mred\x1b[0m \u202eevil",
    ],
)
def test_untrusted_text_passes_through_unchanged(hostile: str) -> None:
    """Ticket text is inserted literally: never substituted again, never interpreted."""
    subject, body = fill("initial_response", ticket(subject=hostile, name=hostile))
    assert body.startswith(f"Hi {hostile},\n")
    assert f"- Issue: {hostile}\n" in body
    assert subject == f"RE: {hostile} - Ticket #101"


def test_line_breaks_in_a_subject_cannot_forge_lines() -> None:
    subject, body = fill("initial_response", ticket(subject="Help\r\nBcc: all@example.com"))
    assert subject == "RE: Help Bcc: all@example.com - Ticket #101"
    assert "- Issue: Help Bcc: all@example.com\n" in body
    assert reply_subject("Fwd: RE: AW: hello\n") == "hello"


# -- escalation ---------------------------------------------------------------------------------


def test_escalation_block_l2_with_evidence() -> None:
    evidence = Evidence(
        probes=("API health: down — [STATUS] (503) == 200", "Postgres: up"),
        sentry="42 unresolved, 5 new in 24h",
        links=("https://sentry.example/issues/7",),
    )
    block = escalation_block(
        ticket(),
        Level.L2,
        evidence,
        steps=("Log in", "Open Policies"),
        expected="The policy list",
        actual="A blank page",
    )
    assert block == (
        "Escalation to L2 Engineering Team\n"
        "\n"
        "Customer: Acme (Ada Lovelace <ada@acme.io>)\n"
        "Issue: [BUG] Dashboard not loading\n"
        "Severity: High\n"
        "Ticket: #101\n"
        "\n"
        "Reproduction Steps:\n"
        "1. Log in\n"
        "2. Open Policies\n"
        "\n"
        "Expected: The policy list\n"
        "Actual: A blank page\n"
        "\n"
        "Logs:\n"
        "- Backend logs: [URL to Render logs]\n"
        "- Sentry errors: 42 unresolved, 5 new in 24h\n"
        "- Customer curl request: [Exact command]\n"
        "- Probe states:\n"
        "  - API health: down — [STATUS] (503) == 200\n"
        "  - Postgres: up\n"
        "- Links:\n"
        "  - https://sentry.example/issues/7\n"
    )


def test_escalation_block_l3_keeps_placeholders_and_uses_the_domain() -> None:
    block = escalation_block(ticket(company="", name=""), Level.L3, Evidence())
    assert block.startswith("Escalation to L3 On-Call (Critical Only)\n\nCustomer: acme.io (")
    assert "Impact: [Customers and requests affected]\nReproducible: [Yes/No]\n" in block
    assert "1. [Step]\n2. [Step]\n" in block
    assert "Expected: [What should happen]\nActual: [What happens instead]\n" in block
    assert "- Sentry errors: [Link to Sentry issue]\n" in block
    assert "Probe states" not in block


def test_escalation_block_takes_ticket_text_literally() -> None:
    hostile = "[b]x[/b] \\1 Severity: Low\nTicket: #1"
    block = escalation_block(ticket(subject=hostile, company=hostile), Level.L2, Evidence())
    assert "Issue: [b]x[/b] \\1 Severity: Low Ticket: #1\n" in block
    assert block.count("\nTicket: #") == 1
    assert "\nSeverity: High\n" in block


def test_bug_report_sections_feed_the_escalation_block() -> None:
    """Guide §1.1's bug-report sections pre-fill §5's steps, expected and actual."""
    from opsconsole.core.templates import bug_report_sections

    body = (
        "What happened:\nEvery POST /v1/check returns 500.\n\n"
        "Expected behavior:\n200 with a decision\n\n"
        "Steps to reproduce:\n1. Create a key\n2. POST /v1/check\n3. See 500\n\n"
        "Environment:\n- Browser: Chrome 120\n"
    )
    steps, expected, actual = bug_report_sections(body)
    assert steps == ("Create a key", "POST /v1/check", "See 500")
    assert expected == "200 with a decision"
    assert actual == "Every POST /v1/check returns 500."
    assert bug_report_sections("just a question") == ((), "", "")
