"""Auto-triage on intake: a category (guide §3.2) and a severity (§3.3) from rules.

A rule is a list of case-insensitive regular expressions searched in the subject, the body
or both, and the category and/or severity it assigns. Severity comes from the first
matching rule that sets one, category likewise, so order is priority: config rules come
before :data:`DEFAULT_RULES`. When nothing matches, the category is ``question`` and the
severity follows the category (see :data:`FALLBACK_SEVERITY`). The result names the rules
that decided, so the ticket can show why.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from opsconsole.core.regex import LazyPatterns, compile_patterns
from opsconsole.core.tickets import Category, Severity

__all__ = [
    "DEFAULT_RULES",
    "FALLBACK_CATEGORY",
    "FALLBACK_SEVERITY",
    "MAX_SCAN_CHARS",
    "TriageResult",
    "TriageRule",
    "triage",
]

MAX_SCAN_CHARS = 65_536
"""Only this much of a body is searched: a huge mail must not stall intake."""

FALLBACK_CATEGORY = Category.QUESTION
"""Category when no rule matches: a general inquiry."""

FALLBACK_SEVERITY: Mapping[Category, Severity] = MappingProxyType(
    {
        # §2 Medium: "Feature not working as expected".
        Category.BUG: Severity.MEDIUM,
        # §2 Low: "Feature request, documentation question"; §3.3 Low: general inquiry,
        # feedback or suggestions. Billing inquiries share email's 24-48h window (§1.1).
        Category.FEATURE: Severity.LOW,
        Category.QUESTION: Severity.LOW,
        Category.BILLING: Severity.LOW,
        Category.FEEDBACK: Severity.LOW,
    }
)
"""Severity when no severity rule matches, by the ticket's category."""

Field = Literal["subject", "body", "any"]


@dataclass(frozen=True)
class TriageRule(LazyPatterns):
    """One triage rule.

    Attributes:
        name: shown on the ticket as the reason, e.g. ``production 500s``.
        patterns: case-insensitive regular expressions; any one matching is a match.
        field: where to search: ``subject``, ``body`` or ``any`` (both).
        category: the category it assigns, if any.
        severity: the severity it assigns, if any.

    Raises:
        ValueError: for an invalid regex, no patterns, or neither category nor severity.
    """

    name: str
    patterns: tuple[str, ...]
    field: Field = "any"
    category: Category | None = None
    severity: Severity | None = None
    trusted: bool = dataclasses.field(default=False, repr=False, compare=False, kw_only=True)
    """Built-in (known-good) patterns: compiled on first use, not at import."""
    negatable: bool = dataclasses.field(default=False, repr=False, compare=False, kw_only=True)
    """A match right after "no", "not", "isn't" … (up to two words between) does not count:
    "no data loss" is not §3.3's "data loss suspected". Built-in critical rules only."""
    _compiled: tuple[re.Pattern[str], ...] | None = dataclasses.field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ValueError(f"rule {self.name!r} needs at least one pattern")
        if self.category is None and self.severity is None:
            raise ValueError(f"rule {self.name!r} sets neither a category nor a severity")
        if not self.trusted:
            object.__setattr__(self, "_compiled", compile_patterns(self.patterns))

    def matches(self, subject: str, body: str) -> bool:
        """Whether any pattern is found in the rule's field."""
        if self.field == "subject":
            text = subject
        elif self.field == "body":
            text = body
        else:
            text = f"{subject}\n{body}"
        if not self.negatable:
            return any(p.search(text) for p in self.compiled)
        return any(
            _NEGATION.search(text, max(0, m.start() - 40), m.start()) is None
            for p in self.compiled
            for m in p.finditer(text)
        )


@dataclass(frozen=True, slots=True)
class TriageResult:
    """The outcome of :func:`triage`.

    Attributes:
        category: the assigned category.
        severity: the assigned severity.
        rule: why, e.g. ``severity: critical — production 500s; category: bug — [BUG] prefix``.
    """

    category: Category
    severity: Severity
    rule: str


# -- default rules (guide §3.2, §3.3; issue #4 item 3) ----------------------------------------

_REPLY = (
    r"^\s*(?:(?:re|fwd?|fw|aw|sv|wg|antw|antwort|tr|rv|enc|vs|rif|odp|ynt|回复|回覆|答复|转发|轉寄)"
    r"\s*(?:\[\d+\])?\s*[:：]\s*)*"
)
"""Reply/forward prefixes that may precede a subject tag: ``Re: Fwd: [BUG] …``."""
_KEY = r"\bapi[- _]?keys?\b"
_POLICY = r"\bpolic(?:y|ies)\b"
_RATE = r"\brate[- ]?limit(?:s|ing|er|ed)?\b"
_BLOCKED = r"(?:blocked|rejected|throttled|rate[- ]limited|denied|getting\s+429s?)"
_NEAR = r".{0,60}?"  # the same line, nearby
_NEGATION = re.compile(r"(?:\b(?:no|not|never|without|nor)|n['’]t)(?:\s+[\w-]+){0,2}\s+$", re.I)
"""A negation just before a match (searched in the 40 characters before it)."""
_BOILERPLATE = re.compile(
    r"\bintended\s+recipients?\b|\bto\s+unsubscribe\s+from\s+this\b"
    r"|\byou\s+(?:received|are\s+receiving)\s+this\s+(?:message|e-?mail)\s+because\b"
    r"|\bconfidential(?:ity)?\b[^\n]{0,80}\b(?:privileged|prohibited|notice|disclaimer)\b"
    r"|\b(?:this|the)\s+(?:e-?mail|message)\b[^\n]{0,80}\bconfidential\b",
    re.IGNORECASE,
)
"""Markers of a corporate disclaimer or a mailing-list footer: the rest of that paragraph
("unauthorized access … breach of confidentiality") is not the customer's request."""
_PARAGRAPH = re.compile(r"\n[ \t]*\n")

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

_builtin = functools.partial(TriageRule, trusted=True)
"""A built-in TriageRule: its patterns are known good, so they compile on first use."""

_SEVERITY_RULES: tuple[TriageRule, ...] = (
    # Critical: escalate immediately (§3.3, §1.4). The issue puts the [BUG] prefix here too.
    _builtin("[BUG] prefix", (_REPLY + r"\[\s*bug\s*\]",), "subject", severity=C),
    _builtin(
        "CRITICAL: prefix", (_REPLY + r"\[?\s*critical\s*\]?\s*[:\-!]",), "subject", severity=C
    ),
    _builtin(
        "production 500s",
        (
            r"\b(?:http\s*)?5\d\d\s*(?:errors?|responses?|status(?:es)?|codes?)\b",
            r"\b(?:http|status|error)\s*(?:code\s*)?5\d\d\b",
            r"\b5\d\d\s*s\b|\b5xx\b",
            r"\binternal\s+server\s+errors?\b",
            r"\b(?:returning|returns|returned|throwing|throws|getting|got|seeing)\s+"
            r"(?:an?\s+|lots\s+of\s+|many\s+)?(?:http\s*)?5\d\d\b",
        ),
        severity=C,
        negatable=True,
    ),
    _builtin(
        "API down",
        (
            r"\b(?:api|service|production|prod|platform|backend)\s+(?:is\s+|was\s+)?"
            r"(?:completely\s+|totally\s+|fully\s+)?(?:down|offline|unreachable|unavailable)\b",
            r"\b(?:total|full|complete|major)\s+outage\b",
            r"\b[\w-]+(?:\.[\w-]+)+\s+(?:is\s+|was\s+)?(?:completely\s+|totally\s+)?"
            r"(?:down|offline|unreachable|unavailable)\b",  # api.company.com is down
        ),
        severity=C,
        negatable=True,
    ),
    _builtin(
        "database connection failing",
        (
            r"\b(?:database|db|postgres(?:ql)?)\b"
            + _NEAR
            + r"\bconnect(?:ion|ions|ing)?\b"
            + _NEAR
            + r"\b(?:fail\w*|refused|errors?|lost|drop\w*|time[sd]?\s*out|timeouts?)",
            r"\b(?:can(?:no|')?t|cannot|unable\s+to|fail(?:s|ed|ing)?\s+to)\s+connect\s+to\s+"
            r"(?:the\s+)?(?:database|db|postgres(?:ql)?)\b",
            r"\b(?:database|db)\s+(?:is\s+|was\s+)?(?:down|unreachable|unavailable)\b",
        ),
        severity=C,
        negatable=True,
    ),
    _builtin(
        "rate limiting broken for everyone",
        (
            _RATE + r"\s+(?:is\s+|are\s+|seems\s+)?(?:completely\s+|totally\s+)?"
            r"(?:broken|not\s+working|down)\b",
            r"\b(?:all|every)\s+(?:of\s+(?:our|the)\s+)?(?:customers?|users?|clients?|tenants?|"
            r"requests?|api\s+calls?|calls?|traffic)\s+(?:(?:are|is|being|getting|now|get)\s+)*"
            + _BLOCKED,
            r"\b(?:everyone|everybody)\s+(?:(?:is|are|being|getting|now|gets)\s+)*" + _BLOCKED,
        ),
        severity=C,
        negatable=True,
    ),
    _builtin(
        "data loss",
        (
            r"\bdata[\s-]+(?:loss|lost|corrupt\w*|(?:is\s+|was\s+|has\s+been\s+)?(?:deleted|wiped|"
            r"gone|missing|disappeared))\b",
            r"\b(?:lost|losing|deleted|wiped|corrupted)\s+(?:all\s+)?(?:of\s+)?(?:our\s+|my\s+|"
            r"the\s+)?(?:data|records|audit\s+logs|logs|policies|keys)\b",
            r"\bcorrupt(?:ed|ion)\b",
        ),
        severity=C,
        negatable=True,
    ),
    _builtin(
        "security breach",
        (
            r"\bsecurity\s+(?:breach|incident|vulnerabilit(?:y|ies)|hole|issue|problem)\b",
            r"\bbreach(?:ed)?\b",
            r"\b(?:leak(?:ed|ing)?|exposed|compromised|stolen)\b"
            + _NEAR
            + r"\b(?:keys?|data|credentials?|secrets?|tokens?|passwords?)\b",
            r"\b(?:keys?|data|credentials?|secrets?|tokens?|passwords?)\b"
            + _NEAR
            + r"\b(?:leak(?:ed)?|exposed|compromised|stolen)\b",
            r"\bunauthori[sz]ed\s+access\b",
            r"\b(?:been|got|were|was)\s+hacked\b",
        ),
        severity=C,
        negatable=True,
    ),
    # High: resolve within 24 hours (§3.3).
    _builtin(
        "dashboard wrong data or not loading",
        (
            r"\bdashboards?\b" + _NEAR + r"(?:\b(?:wrong|incorrect|inaccurate|stale|bogus)\b|"
            r"\bnot\s+(?:loading|load|showing|working|updating|displaying|rendering)\b|"
            r"\bwon'?t\s+(?:load|open)|\b(?:doesn|don)'?t\s+(?:load|work|show)|\bblank\b|\bempty\b|"
            r"\bbroken\b|\bcrash\w*|\bfreez\w*|\bhangs?\b|\bspinner\b|\bstuck\b)",
            r"\b(?:wrong|incorrect|inaccurate)\s+(?:data|numbers|metrics|counts|stats)\b",
            r"\b(?:metrics|numbers|counts|stats|charts?)\s+(?:are|is)\s+(?:wrong|incorrect|off)\b",
        ),
        severity=H,
    ),
    _builtin(
        "API slow (p95)",
        (
            r"\bp9[59]\b",
            r"\b(?:api|requests?|responses?|endpoints?|calls?)\s+(?:is\s+|are\s+)?(?:very\s+|"
            r"really\s+|extremely\s+|super\s+)?(?:slow|sluggish|timing\s+out|lagging)\b",
            r"\bslow\s+(?:api|responses?|requests?|endpoints?)\b",
            r"\b(?:high|huge|spiking|increased)\s+latency\b",
            r"\blatency\b" + _NEAR + r"\b\d{4,}\s*ms\b",
        ),
        severity=H,
    ),
    _builtin(
        "customer API key not working",
        (
            _KEY + _NEAR + r"(?:\bnot\s+(?:working|accepted|valid|recogni[sz]ed)\b|"
            r"\b(?:doesn'?t|does\s+not|stopped)\s+work|\binvalid\b|\brejected\b|\bfail\w*|"
            r"\b40[13]\b|\bunauthori[sz]ed\b|\bforbidden\b|\bdenied\b|\bexpired\b)",
            r"\binvalid\s+(?:api\s+)?key\b",
            r"\b40[13]\b" + _NEAR + r"\b(?:api[- _]?)?keys?\b",
        ),
        severity=H,
    ),
    _builtin(
        "policy not evaluating",
        (
            _POLICY + _NEAR + r"\bnot\s+(?:being\s+)?(?:evaluat\w*|applied|enforced|working|"
            r"triggering|firing|matching)\b",
            _POLICY + _NEAR + r"\b(?:wrong|incorrect|unexpected)\s+(?:results?|decisions?|"
            r"outcomes?|evaluations?)\b",
            r"\bpolicy\s+evaluation\b" + _NEAR + r"\b(?:wrong|incorrect|broken|fail\w*)",
            _POLICY + _NEAR + r"\bblock\w*\s+(?:legitimate|valid|normal|good|safe)\b",
        ),
        severity=H,
    ),
    _builtin(
        "rate limit false positives",
        (
            _RATE + _NEAR + r"\bfalse\s+positives?\b",
            r"\bfalse\s+positives?\b",
            _RATE + r"\s+(?:is\s+|are\s+|seems\s+)?(?:way\s+|far\s+)?too\s+"
            r"(?:strict|aggressive|low|tight)\b",
            r"\b(?:unexpected|wrongly|incorrectly|spurious|random)\s+(?:getting\s+)?"
            r"(?:http\s+)?429s?\b",
            r"\b429s?\b" + _NEAR + r"\b(?:well\s+)?(?:under|below)\s+(?:the\s+)?(?:rate\s+)?limit",
        ),
        severity=H,
    ),
    # Low rules that would otherwise lose to the broader medium rules below.
    _builtin(
        "documentation typo",
        (
            r"\b(?:docs?|documentation|readme|guide|quickstart)\b"
            + _NEAR
            + r"\b(?:typos?|misspel\w*|spelling|mistakes?|outdated|broken\s+links?)\b",
            r"\b(?:typos?|misspel\w*|mistakes?|broken\s+links?)\b"
            + _NEAR
            + r"\b(?:docs?|documentation|readme|guide|quickstart)\b",
        ),
        severity=L,
    ),
    _builtin(
        "nice-to-have feature request",
        (
            r"\bnice[- ]to[- ]have\b",
            r"\bwould\s+be\s+(?:nice|cool|great|handy)\b",
            r"\b(?:no\s+rush|low\s+priority|not\s+urgent)\b",
        ),
        severity=L,
    ),
    # Medium: resolve within 3 days (§3.3).
    _builtin(
        "minor UI bug",
        (
            r"\bminor\s+(?:ui\s+|visual\s+|display\s+)?(?:bug|glitch|issue)\b",
            r"\b(?:cosmetic|misaligned|alignment|layout)\b",
            r"\b(?:typos?|misspel\w*)\b",
            r"\b(?:button|label|menu|tooltip|modal|text|column)\b"
            + _NEAR
            + r"\b(?:cut\s+off|overlap\w*|truncated|wrong\s+colou?r|off[- ]screen)\b",
        ),
        severity=M,
    ),
    _builtin(
        "slower than expected",
        (
            r"\bslower\s+than\s+(?:expected|usual|normal|before|it\s+used\s+to)\b",
            r"\b(?:a\s+bit|a\s+little|somewhat|kind\s+of|slightly)\s+slow(?:er)?\b",
            r"\bperformance\s+(?:has\s+)?(?:degraded|regress\w*|dropped)\b",
        ),
        severity=M,
    ),
    _builtin(
        "policy question",
        (
            r"\b(?:question|clarif\w*|unclear|confused)\b" + _NEAR + _POLICY,
            _POLICY + _NEAR + r"\b(?:question|clarif\w*|unclear)\b",
            r"\bhow\s+(?:do|can|should|would)\s+(?:i|we)\s+(?:create|configure|set\s+up|"
            r"write|edit|update|change|test|disable)\s+(?:a\s+|the\s+|our\s+|my\s+)?"
            r"(?:new\s+)?polic(?:y|ies)\b",
            r"\bwhy\s+(?:was|were|is|are|did|does)\s+(?:my|our|this|these|the|a)\s+"
            r"(?:api\s+)?(?:requests?|calls?)\s+(?:get\s+|being\s+)?blocked\b",
        ),
        severity=M,
    ),
    _builtin(
        "feature request",
        (
            r"\bfeature\s+requests?\b",
            r"\bcan\s+(?:we|you|i)\s+(?:please\s+)?(?:add|get|have)\b",
            r"\b(?:please|could\s+you|would\s+you)\s+(?:please\s+)?add\b",
            r"\bwould\s+(?:love|like)\s+(?:to\s+)?(?:see|have|get)\b",
            r"\b(?:ip\s+)?(?:white|allow)[- ]?list(?:s|ing)?\b",
            r"\bis\s+it\s+possible\s+to\s+add\b",
        ),
        severity=M,
    ),
    # Low: resolve within a week (§3.3).
    _builtin(
        "feedback or suggestion",
        (
            r"\bfeedback\b",
            r"\bsuggest(?:ion|ions|ed)?\b",
            r"\bconfusing\b",
            r"\blove\b",
            r"\b(?:great|nice|awesome)\s+(?:job|work|product|dashboard|tool)\b",
            r"\bkudos\b",
        ),
        severity=L,
    ),
    _builtin(
        "general inquiry",
        (
            r"\b(?:general\s+)?(?:inquiry|enquiry)\b",
            r"\bquick\s+question\b|\bquestion\b",
            r"\bhow\s+(?:do|can|does|should)\s+(?:i|we|you|it)\b|\bhow\s+to\b",
            r"\bis\s+(?:it|there)\s+(?:possible|a\s+way)\b",
            r"\b(?:docs?|documentation)\b",
        ),
        severity=L,
    ),
)

_CATEGORY_RULES: tuple[TriageRule, ...] = (
    _builtin("[BUG] prefix", (_REPLY + r"\[\s*bug\s*\]",), "subject", category=Category.BUG),
    _builtin(
        "feature request",
        (
            r"\bfeature\s+requests?\b",
            r"\bcan\s+(?:we|you)\s+(?:please\s+)?(?:add|get|have)\b",
            r"\b(?:please|could\s+you|would\s+you)\s+(?:please\s+)?add\b",
            r"\bwould\s+(?:love|like)\s+(?:to\s+)?(?:see|have|get)\b",
            r"\b(?:would\s+be\s+)?nice[- ]to[- ]have\b",
            r"\b(?:ip\s+)?(?:white|allow)[- ]?list(?:s|ing)?\b",
            r"\bis\s+it\s+possible\s+to\s+add\b",
            r"\broadmap\b",
        ),
        category=Category.FEATURE,
    ),
    _builtin(
        "billing",
        (
            r"\bbill(?:ing|ed)\b",
            r"\bcharged?\b|\bcharges\b",
            r"\binvoices?\b|\breceipts?\b",
            r"\brefunds?\b",
            r"\b(?:payment|subscription|pricing|credit\s+card)s?\b",
            r"\bupgrad(?:e|ing)\b" + _NEAR + r"\b(?:plan|tier|paid|pro|enterprise|account)\b",
            r"\b(?:can|could|how\s+do|how\s+can)\s+(?:i|we)\s+upgrade\b",
        ),
        category=Category.BILLING,
    ),
    _builtin(
        "reported malfunction",
        (
            r"\b(?:http\s*)?5\d\ds?\b|\b5xx\b|\binternal\s+server\s+errors?\b",
            r"\bcrash(?:es|ed|ing)?\b|\bfreez\w*\b",
            r"\bnot\s+(?:loading|working|evaluat\w*|showing|updating|applied|enforced)\b",
            r"\b(?:doesn'?t|does\s+not|don'?t|won'?t|stopped)\s+(?:work|load|show)\w*\b",
            r"\b(?:broken|down|outage|fail(?:s|ed|ing|ure)?|errors?|bugs?|glitch\w*)\b",
            r"\b(?:wrong|incorrect)\s+(?:data|results?|numbers)\b",
            r"\bslow(?:er)?\b|\bp9[59]\b|\btiming\s+out\b|\btimeouts?\b",
            r"\bfalse\s+positives?\b|\bblock\w*\s+(?:legitimate|valid)\b",
            r"\bdata[\s-]+loss\b|\bcorrupt\w*\b|\bbreach\w*\b|\bleak\w*\b",
            r"\btypos?\b|\bmisspel\w*\b|\blayout\b|\bmisaligned\b",
            r"\b40[13]s?\b|\b429s?\b|\bunauthori[sz]ed\b|\btoo\s+(?:strict|aggressive)\b",
            r"\b(?:can(?:no|')?t|cannot|unable\s+to)\s+(?:connect|log\s*in|access|reach|see)\b",
        ),
        category=Category.BUG,
    ),
    _builtin(
        "question",
        (
            r"\bhow\s+(?:do|can|should|would|does)\s+(?:i|we|you|it)\b|\bhow\s+to\b",
            r"\bwhy\s+(?:was|were|is|are|did|does|do)\b",
            r"\bis\s+(?:it|there)\s+(?:possible|a\s+way)\b",
            r"\b(?:what|where|when|which)\s+(?:is|are|does|do|can)\b",
            r"\bquestions?\b|\bclarif\w*\b|\binquiry\b|\benquiry\b",
        ),
        category=Category.QUESTION,
    ),
    _builtin(
        "feedback",
        (
            r"\bfeedback\b",
            r"\bconfusing\b|\bunintuitive\b|\bhard\s+to\s+(?:use|find|understand)\b",
            r"\blove\b|\bkudos\b",
            r"\bsuggest(?:ion|ions|ed)?\b",
            r"\b(?:great|nice|awesome)\s+(?:job|work|product|dashboard|tool)\b",
        ),
        category=Category.FEEDBACK,
    ),
)

DEFAULT_RULES: tuple[TriageRule, ...] = _SEVERITY_RULES + _CATEGORY_RULES
"""The guide's §3.3 severity lists (critical first) and §3.2 categories."""


def triage(subject: str, body: str, rules: Sequence[TriageRule] = DEFAULT_RULES) -> TriageResult:
    """Assign a category and a severity to a new ticket.

    Args:
        subject: the mail subject (untrusted; only searched).
        body: the plain-text body; only its first :data:`MAX_SCAN_CHARS` are searched.
        rules: in priority order; config rules first, then :data:`DEFAULT_RULES`.
    """
    body = _without_boilerplate(body[:MAX_SCAN_CHARS])
    subject = subject[:MAX_SCAN_CHARS]
    category: tuple[Category, str] | None = None
    severity: tuple[Severity, str] | None = None
    for rule in rules:
        wants_category = category is None and rule.category is not None
        wants_severity = severity is None and rule.severity is not None
        if not (wants_category or wants_severity) or not rule.matches(subject, body):
            continue
        if wants_category and rule.category is not None:
            category = (rule.category, rule.name)
        if wants_severity and rule.severity is not None:
            severity = (rule.severity, rule.name)
        if category is not None and severity is not None:
            break
    if category is None:
        category = (FALLBACK_CATEGORY, "default")
    if severity is None:
        severity = (FALLBACK_SEVERITY[category[0]], f"default for {category[0]}")
    return TriageResult(
        category=category[0],
        severity=severity[0],
        rule=f"severity: {severity[0]} — {severity[1]}; category: {category[0]} — {category[1]}",
    )


def _without_boilerplate(body: str) -> str:
    """``body`` without disclaimers and list footers: each paragraph is cut at the start of
    the line where one begins (the text before it, in the same paragraph, is kept)."""
    if _BOILERPLATE.search(body) is None:
        return body
    kept = []
    for paragraph in _PARAGRAPH.split(body):
        marker = _BOILERPLATE.search(paragraph)
        if marker is not None:
            paragraph = paragraph[: paragraph.rfind("\n", 0, marker.start()) + 1]
        kept.append(paragraph)
    return "\n\n".join(kept)
