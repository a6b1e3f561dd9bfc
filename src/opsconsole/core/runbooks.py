"""Runbooks: the guide's §4 common issues as checklists, matched to tickets by regex.

Steps may name an evidence key that the UI fills live beside the step: ``probe:<name>``
(a configured probe's state), ``sentry`` (error counts), ``statuspage`` (open incidents)
or ``metric:<name>`` (a configured Prometheus query such as ``429 rate``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from opsconsole.core.regex import LazyPatterns, compile_patterns

__all__ = [
    "DEFAULT_RUNBOOKS",
    "MAX_SCAN_CHARS",
    "Runbook",
    "RunbookStep",
    "match_runbook",
]

MAX_SCAN_CHARS = 65_536
"""Only this much of a body is searched."""


@dataclass(frozen=True, slots=True)
class RunbookStep:
    """One checklist step.

    Attributes:
        text: the step as the guide writes it (may span lines, e.g. a curl command).
        evidence: key of live evidence shown beside it, e.g. ``probe:API health``.
    """

    text: str
    evidence: str | None = None


@dataclass(frozen=True)
class Runbook(LazyPatterns):
    """A runbook for one common issue.

    Attributes:
        key: stable identifier stored on the ticket (ticks persist under it).
        title: the issue as customers put it, e.g. ``Dashboard not loading``.
        patterns: case-insensitive regexes searched in the subject and body.
        diagnosis: what to check first.
        resolution: what to try, as a checklist.
        escalate: what to do if it is still broken.
        notes: extra guidance, e.g. the guide's "Common Causes".

    Raises:
        ValueError: for an empty key, no patterns or an invalid regex.
    """

    key: str
    title: str
    patterns: tuple[str, ...]
    diagnosis: tuple[RunbookStep, ...]
    resolution: tuple[RunbookStep, ...]
    escalate: str
    notes: tuple[str, ...] = ()
    trusted: bool = dataclasses.field(default=False, repr=False, compare=False, kw_only=True)
    """Built-in (known-good) patterns: compiled on first use, not at import."""
    _compiled: tuple[re.Pattern[str], ...] | None = dataclasses.field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        if not self.key.strip():
            raise ValueError("a runbook needs a key")
        if not self.patterns:
            raise ValueError(f"runbook {self.key!r} needs at least one pattern")
        if not self.trusted:
            object.__setattr__(self, "_compiled", compile_patterns(self.patterns))

    @property
    def steps(self) -> tuple[RunbookStep, ...]:
        """Diagnosis then resolution steps; a ticket's ticks index into this."""
        return self.diagnosis + self.resolution

    def matches(self, text: str) -> bool:
        """Whether any pattern is found in ``text``."""
        return any(p.search(text) for p in self.compiled)


def _steps(*items: str | tuple[str, str]) -> tuple[RunbookStep, ...]:
    return tuple(
        RunbookStep(item) if isinstance(item, str) else RunbookStep(*item) for item in items
    )


_NEAR = r".{0,60}?"

_builtin = functools.partial(Runbook, trusted=True)
"""A built-in Runbook: its patterns are known good, so they compile on first use."""

DEFAULT_RUNBOOKS: tuple[Runbook, ...] = (
    _builtin(
        key="dashboard_not_loading",
        title="Dashboard not loading",
        patterns=(
            r"\bdashboard\b" + _NEAR + r"(?:\bnot\s+(?:loading|load|opening|working|rendering)\b"
            r"|\bwon'?t\s+(?:load|open)|\b(?:doesn'?t|does\s+not|can'?t|cannot)\s+(?:load|open)"
            r"|\bblank\b|\bwhite\s+(?:page|screen)\b|\bspinner\b|\bstuck\s+loading\b"
            r"|\bcrash\w*|\bbroken\b|\bcors\b)",
            r"\b(?:can'?t|cannot|unable\s+to)\s+(?:load|open|access|reach)\s+(?:the\s+)?dashboard\b",
        ),
        diagnosis=_steps(
            ("Check status page for outages", "statuspage"),
            "Ask customer for error message/screenshot",
            "Check if API key is correct",
            "Try in incognito mode (clear cookies)",
        ),
        resolution=_steps(
            "Browser cache cleared",
            "Try different browser",
            "Verify API key in NEXT_PUBLIC_ADMIN_KEY environment variable",
            ("Backend API responding (curl https://api.domain.com/health)", "probe:API health"),
            ("CORS configured for dashboard domain", "probe:Dashboard"),
        ),
        escalate="Escalate to engineering (likely backend issue)",
    ),
    _builtin(
        key="api_key_not_working",
        title="API key not working",
        patterns=(
            r"\b(?:api[- _]?|admin\s+)?keys?\b" + _NEAR + r"(?:\bnot\s+(?:working|accepted|valid"
            r"|recogni[sz]ed)\b|\b(?:doesn'?t|does\s+not|stopped)\s+work|\binvalid\b|\brejected"
            r"\b|\bexpired\b|\b401\b|\bunauthori[sz]ed\b)",
            r"\binvalid\s+(?:api\s+)?key\b",
            r"\b401\b" + _NEAR + r"\b(?:api[- _]?)?keys?\b",
            r"\bauthori[sz]ation\s+header\b",
        ),
        diagnosis=_steps(
            "Verify key_id format (should be UUID)",
            "Check key is not expired/deleted",
            "Verify Authorization header format: `Bearer key_id.secret`",
            ("Check if rate limited (429 status)", "metric:429 rate"),
        ),
        resolution=_steps(
            "Regenerate API key: `python scripts/generate_api_key.py`",
            "Update in dashboard: Keys → Create New",
            "Add 5 minute delay (DB replication)",
            (
                "Verify curl request format:\n"
                'curl -H "Authorization: Bearer YOUR_KEY_ID.SECRET" \\\n'
                "     https://api.domain.com/v1/check",
                "probe:API check endpoint",
            ),
        ),
        escalate="Check backend logs in Render dashboard",
    ),
    _builtin(
        key="rate_limiting_too_strict",
        title="Rate limiting too strict",
        patterns=(
            r"\brate[- ]?limit(?:s|ing|ed|er)?\b",
            r"\b429s?\b",
            r"\btoo\s+many\s+requests\b",
            r"\bthrottl\w*\b",
            r"\b100\s*req(?:uests)?\s*(?:/|per)\s*(?:60\s*s(?:ec(?:onds?)?)?|min(?:ute)?)\b",
        ),
        diagnosis=_steps(
            ("Customer hitting 100 req/60 sec limit", "metric:429 rate"),
            ("Check actual request rate", "metric:request rate"),
            "Ask if burst traffic expected",
        ),
        resolution=_steps(
            "Increase rate limit (update rate_limit.py)",
            "Implement request queuing on customer side",
            "Deploy multiple API keys (distribute across keys)",
            "Batch requests on customer's backend",
        ),
        escalate="For production customers: custom rate limits per key (post-pilot feature)",
    ),
    _builtin(
        key="policy_blocking",
        title="Policy blocking legitimate requests",
        patterns=(
            r"\bpolic(?:y|ies)\b" + _NEAR + r"\bblock\w*",
            r"\bblock\w*\b" + _NEAR + r"\bpolic(?:y|ies)\b",
            r"\b(?:requests?|calls?|prompts?)\s+(?:(?:is|are|was|were|being|get|got|getting)\s+)+"
            r"(?:blocked|flagged|rejected)\b",
            r"\bwhy\s+(?:was|were|is|are)\s+(?:my|our|this|these|the)\s+(?:api\s+)?"
            r"(?:requests?|calls?)\s+blocked\b",
            r"\bfalse\s+positives?\b" + _NEAR + r"\b(?:risk|polic(?:y|ies)|filter|detection)\b",
            r"\b(?:risk|polic(?:y|ies)|filter|detection)\b" + _NEAR + r"\bfalse\s+positives?\b",
        ),
        diagnosis=_steps(
            "Ask what request was blocked",
            "Check policy configuration",
            "Review risk score (in audit logs)",
        ),
        resolution=_steps(
            "Review policy settings with customer",
            "Adjust if needed",
            "Test with sample requests",
            "Document decision",
        ),
        escalate="Policy evaluation producing wrong results → escalate to L2 engineering",
        notes=(
            "Common cause: policy set too strict (toggle off temporarily to test)",
            "Common cause: false positive in risk detection",
            'Common cause: legitimate field name triggering filter (e.g., "prompt" field)',
        ),
    ),
    _builtin(
        key="cant_see_audit_logs",
        title="Can't see audit logs",
        patterns=(
            r"\b(?:can'?t|cannot|can\s+not|unable\s+to|not\s+able\s+to)\s+(?:see|view|find|"
            r"access|load|get)\s+(?:the\s+|our\s+|my\s+|any\s+)?(?:audit\s+)?logs\b",
            r"\baudit\s+logs?\b" + _NEAR + r"(?:\b(?:empty|missing|gone|blank|disappeared)\b"
            r"|\bnot\s+(?:showing|loading|visible|there|working|appearing)\b|\b40[13]\b)",
            r"/api/admin/logs\b",
        ),
        diagnosis=_steps(
            "Verify admin API key is correct",
            "Check /api/admin/logs endpoint",
            "Verify CORS configured",
            "Check date range (logs only retained 90 days)",
        ),
        resolution=_steps(
            "Test API endpoint directly:\n"
            'curl -H "Authorization: Bearer YOUR_ADMIN_KEY" \\\n'
            "     https://api.domain.com/api/admin/logs",
            "Specify date range if needed:\n"
            'curl -H "Authorization: Bearer YOUR_ADMIN_KEY" \\\n'
            "     https://api.domain.com/api/admin/logs?page=1&page_size=50",
        ),
        escalate=(
            "If returning 401: admin API key incorrect (regenerate if needed). "
            "If returning 403: API key not marked as admin (update in database)"
        ),
    ),
)
"""The guide's §4 issues 1–5, in the guide's order."""


def match_runbook(
    subject: str, body: str, runbooks: Sequence[Runbook] = DEFAULT_RUNBOOKS
) -> Runbook | None:
    """The runbook for a ticket: the first matching its subject, else its body, else None.

    ``runbooks`` is in priority order (config runbooks first).
    """
    subject = subject[:MAX_SCAN_CHARS]
    for runbook in runbooks:
        if runbook.matches(subject):
            return runbook
    text = f"{subject}\n{body[:MAX_SCAN_CHARS]}"
    for runbook in runbooks:
        if runbook.matches(text):
            return runbook
    return None
