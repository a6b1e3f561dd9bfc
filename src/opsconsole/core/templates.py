"""Reply templates (guide §6), the intake auto-reply (§3.1) and the escalation block (§5).

The template text is the guide's own. :func:`render` fills the placeholders it knows from
the ticket and the operator's profile in a single pass, so text taken from a ticket (a
subject or a name containing ``[Your Name]`` or ``#XXX``) is inserted verbatim and never
substituted again. Placeholders it cannot fill stay as written for the operator to edit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsconsole.core.tickets import Level, Ticket

__all__ = [
    "ACKNOWLEDGEMENT",
    "ESCALATION_PLACEHOLDERS",
    "TEMPLATES",
    "Evidence",
    "Operator",
    "Template",
    "escalation_block",
    "render",
    "reply_subject",
]


@dataclass(frozen=True, slots=True)
class Operator:
    """The on-call engineer signing replies (config ``operator:``)."""

    name: str
    email: str
    team: str = "Support Team"


@dataclass(frozen=True, slots=True)
class Template:
    """A mail template: ``subject`` and ``body`` hold the guide's placeholders."""

    key: str
    title: str
    subject: str
    body: str


def _template(key: str, title: str, text: str) -> Template:
    """Split the guide's ``Subject: …`` block into subject and body."""
    head, _, body = text.partition("\n\n")
    return Template(key, title, head.removeprefix("Subject: "), body)


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        _template(
            "initial_response",
            "Initial response (bug report)",
            """Subject: RE: [BUG] Your dashboard issue - Ticket #XXX

Hi [Customer Name],

Thanks for reporting this! I've received your ticket and started investigating.

Summary:
- Issue: [One-line summary of their problem]
- Severity: [Medium/High/Critical]
- Current Status: Investigating

Next Steps:
1. I'll reproduce the issue locally
2. Check our logs (Sentry and backend)
3. Provide update within 24 hours

If you have additional info (screenshots, timestamps), please reply to this email.

Best,
[Your Name]
Support Team
support@company.com
""",
        ),
        _template(
            "root_cause",
            "Found root cause",
            """Subject: RE: [BUG] Your dashboard issue - Found cause - Ticket #XXX

Hi [Customer Name],

I found the issue! Here's what happened:

Root Cause:
[Explain what went wrong clearly]

Why It Happened:
[2-3 sentences explaining the reason]

Fix:
- [Already deployed / Will deploy in X hours / Workaround: ...]

Your Action (if needed):
[What the customer needs to do]

We apologize for the inconvenience. If you have questions, let me know.

Best,
[Your Name]
Support Team
""",
        ),
        _template(
            "unable_to_reproduce",
            "Unable to reproduce",
            """Subject: RE: [BUG] Your dashboard issue - Need more info - Ticket #XXX

Hi [Customer Name],

I've tried to reproduce the issue but couldn't get the same result.

To help me debug, can you provide:
1. Exact browser/OS (e.g., "Chrome 120 on macOS 14.1")
2. Screenshot of the error (if any)
3. Timestamp (UTC) when it occurred
4. Steps to reproduce (very detailed)

Once I have this info, I can dig deeper.

Thanks!
[Your Name]
Support Team
""",
        ),
        _template(
            "resolution",
            "Resolution confirmation",
            """Subject: RE: [BUG] Your dashboard issue - RESOLVED - Ticket #XXX

Hi [Customer Name],

Good news! I've deployed the fix and verified it works.

What Changed:
[Describe the fix]

How to Verify:
[Steps for customer to confirm fix]

Please let me know if the issue is resolved on your end. If you run into anything else, \
just reply to this ticket.

Best,
[Your Name]
Support Team
""",
        ),
        _template(
            "feature_request",
            "Feature request response",
            """Subject: RE: Feature request - [Feature name] - Ticket #XXX

Hi [Customer Name],

Thanks for the suggestion! [Feature request] is great feedback.

Current Status:
- Priority: [High/Medium/Low]
- Timeline: [Q1 2026 / Post-pilot / Backlog]

We're tracking this in our product roadmap. I've marked your vote for this feature, which \
helps prioritization.

Would you be open to a brief call to discuss this in more detail?

Best,
[Your Name]
Support Team
""",
        ),
    )
}
"""The guide's §6 templates, by key, in the guide's order."""

ACKNOWLEDGEMENT = _template(
    "acknowledgement",
    "Auto-reply (intake)",
    """Subject: RE: [BUG] Your dashboard issue - Ticket #XXX

Thanks for contacting AI Governance support!

We received your email and assigned ticket #XXX.

We'll respond with next steps within 24-48 hours.

Ticket: https://support.company.com/tickets/XXX
Status: Open
Category: [Auto-detected category]
""",
)
"""The §3.1 auto-reply sent on intake (its subject follows the §6 reply subjects)."""

_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|aw|sv|wg|antw|antwort|tr|rv|enc|vs|rif|odp|ynt|回复|回覆|答复|转发|轉寄)"
    r"\s*(?:\[\d+\])?\s*[:：]\s*)+",
    re.I,
)
"""Reply and forward prefixes of English, German, Nordic, Dutch, French, Spanish,
Portuguese, Italian, Polish, Turkish and Chinese mail clients."""
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def reply_subject(subject: str) -> str:
    """The ticket subject without ``Re:``/``Fwd:`` prefixes, on one line."""
    return _REPLY_PREFIX.sub("", _one_line(subject)).strip()


def render(
    template: Template,
    ticket: Ticket,
    operator: Operator,
    *,
    ticket_url: str,
    response_window: str,
    extra: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Fill a template from the ticket and the operator's profile.

    Filled: ``[Customer Name]`` (requester name, else address), ``#XXX`` (ticket number),
    the ticket URL, ``[One-line summary of their problem]`` (the subject),
    ``[Medium/High/Critical]`` (severity), ``[Auto-detected category]``, ``[Your Name]``,
    the ``Support Team`` signature line (operator team), ``support@company.com`` (operator
    email) and ``24-48 hours`` (``response_window``). The guide's example subject
    ``[BUG] Your dashboard issue`` becomes the ticket's own subject.

    Args:
        template: one of :data:`TEMPLATES` or :data:`ACKNOWLEDGEMENT`.
        ticket: the ticket replied to.
        operator: who signs.
        ticket_url: the ticket's link, replacing the guide's example URL.
        response_window: e.g. ``"4 hours"``, replacing the guide's ``24-48 hours``.
        extra: more placeholders, e.g. ``{"[Feature name]": "IP allowlisting"}``; a key
            without brackets is bracketed.

    Returns:
        ``(subject, body)``; the subject is a single line.
    """
    requester = ticket.requester
    values = {
        "[Customer Name]": _one_line(requester.name) or requester.address,
        "#XXX": f"#{ticket.number}",
        "https://support.company.com/tickets/XXX": ticket_url,
        "[One-line summary of their problem]": _one_line(ticket.subject),
        "[Medium/High/Critical]": ticket.severity.value.title(),
        "[Auto-detected category]": ticket.category.value.title(),
        "[Your Name]": operator.name,
        "Support Team\n": f"{operator.team}\n",
        "support@company.com": operator.email,
        "24-48 hours": response_window,
        "[BUG] Your dashboard issue": reply_subject(ticket.subject),
    }
    for key, value in (extra or {}).items():
        values[key if key.startswith("[") else f"[{key}]"] = value
    subject = _one_line(_fill(template.subject, values))
    return subject, _fill(template.body, values)


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Replace every key of ``values`` in one pass: inserted values are never re-read."""
    keys = sorted(values, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in keys))
    return pattern.sub(lambda m: values[m.group(0)], text)


def _one_line(text: str) -> str:
    """Keep a value on its line: a line break in a subject must not forge a header line."""
    return _LINE_BREAKS.sub(" ", text).strip()


# -- escalation (§5) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """Live evidence attached to an escalation.

    Attributes:
        probes: probe states, e.g. ``API health: down — [STATUS] (503) == 200``.
        sentry: Sentry counts, e.g. ``42 unresolved, 5 new in 24h``; None when unknown.
        links: URLs (Sentry issue, backend logs, dashboards).
    """

    probes: tuple[str, ...] = ()
    sentry: str | None = None
    links: tuple[str, ...] = ()


_LEVEL_TITLES = {
    Level.L1: "L1 Support Engineer",
    Level.L2: "L2 Engineering Team",
    Level.L3: "L3 On-Call (Critical Only)",
}


ESCALATION_PLACEHOLDERS = frozenset(
    {
        "[Company name]",
        "[One-line summary]",
        "[Customers and requests affected]",
        "[Yes/No]",
        "[Step]",
        "[What should happen]",
        "[What happens instead]",
        "[URL to Render logs]",
        "[Link to Sentry issue]",
        "[Exact command]",
    }
)
"""What :func:`escalation_block` writes where it has nothing to fill in (the guide's §5)."""


def escalation_block(
    ticket: Ticket,
    level: Level,
    evidence: Evidence,
    *,
    steps: Sequence[str] = (),
    expected: str = "",
    actual: str = "",
) -> str:
    """The guide's §5 "Info to Provide" block, pre-filled.

    Ticket text (subject, names) is included as plain text, each on its own line; missing
    steps, expected and actual keep the guide's placeholders for the operator to fill.
    """
    requester = ticket.requester
    domain = requester.address.rpartition("@")[2]
    customer = _one_line(requester.company) or domain or "[Company name]"
    who = _one_line(requester.name)
    contact = _one_line(f"{who} <{requester.address}>" if who else requester.address)
    lines = [
        f"Escalation to {_LEVEL_TITLES[level]}",
        "",
        f"Customer: {customer} ({contact})" if contact else f"Customer: {customer}",
        f"Issue: {_one_line(ticket.subject) or '[One-line summary]'}",
        f"Severity: {ticket.severity.value.title()}",
        f"Ticket: #{ticket.number}",
    ]
    if level is Level.L3:
        lines += ["Impact: [Customers and requests affected]", "Reproducible: [Yes/No]"]
    lines += ["", "Reproduction Steps:"]
    lines += [f"{i}. {step}" for i, step in enumerate(steps or ("[Step]", "[Step]"), 1)]
    lines += [
        "",
        f"Expected: {expected or '[What should happen]'}",
        f"Actual: {actual or '[What happens instead]'}",
        "",
        "Logs:",
        "- Backend logs: [URL to Render logs]",
        f"- Sentry errors: {evidence.sentry or '[Link to Sentry issue]'}",
        "- Customer curl request: [Exact command]",
    ]
    if evidence.probes:
        lines.append("- Probe states:")
        lines += [f"  - {_one_line(p)}" for p in evidence.probes]
    if evidence.links:
        lines.append("- Links:")
        lines += [f"  - {_one_line(link)}" for link in evidence.links]
    return "\n".join(lines) + "\n"


_SECTION = re.compile(
    r"^\s*(what happened|expected(?: behaviou?r)?|actual(?: behaviou?r)?|steps to reproduce)"
    r"\s*:\s*(.*)$",
    re.IGNORECASE,
)


def bug_report_sections(body: str) -> tuple[tuple[str, ...], str, str]:
    """Steps, expected and actual from a guide §1.1 bug report (empty when absent).

    The guide asks customers for "What happened:", "Expected behavior:" and "Steps to
    reproduce:" sections; "What happened" is the actual behaviour.
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in body.splitlines()[:400]:
        match = _SECTION.match(line)
        if match:
            name = match.group(1).lower()
            current = (
                "steps"
                if name.startswith("steps")
                else "expected"
                if name.startswith("expected")
                else "actual"
            )
            sections.setdefault(current, [])
            if match.group(2).strip():
                sections[current].append(match.group(2).strip())
            continue
        if current is not None:
            text = line.strip()
            if not text and sections[current]:
                current = None  # a blank line ends the section
            elif text:
                sections[current].append(text)
    steps = tuple(
        re.sub(r"^(\d+[.)]|[-*])\s*", "", s)[:200] for s in sections.get("steps", [])[:10]
    )
    expected = " ".join(sections.get("expected", []))[:300]
    actual = " ".join(sections.get("actual", []))[:300]
    return steps, expected, actual
