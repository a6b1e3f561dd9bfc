"""The guide's fill-in placeholders (``[Customer Name]``, ``[Describe the fix]``,
``[Next steps]``), so a text is not sent to a customer or to stakeholders with one left in.

Only the guide's own placeholders count: the ones written in the §6 reply templates and the
§3.1 acknowledgement, and the ones the escalation block (§5), the incident update (§8 Step
5) and the all-clear (Step 6) put in when they have nothing to fill in. A bracketed word a
customer wrote (``[URGENT]``, ``[Feature] SSO``) is not one, so it never blocks a send.
"""

from __future__ import annotations

import re
from functools import lru_cache

from opsconsole.core.incident_text import ALL_CLEAR_PLACEHOLDERS, STEP_5_LINES
from opsconsole.core.templates import ACKNOWLEDGEMENT, ESCALATION_PLACEHOLDERS, TEMPLATES

__all__ = ["guide_placeholders", "unfilled_placeholders"]

_TOKEN = re.compile(r"\[[^\[\]\n]{2,80}\]")


def _instruction(token: str) -> bool:
    """``[Customer Name]`` is an instruction; ``[BUG]`` (the guide's subject tag) is not."""
    return any(ch.islower() for ch in token)


@lru_cache(maxsize=1)
def guide_placeholders() -> frozenset[str]:
    """Every fill-in placeholder the console's drafts can contain."""
    texts = [ACKNOWLEDGEMENT.subject, ACKNOWLEDGEMENT.body, *STEP_5_LINES]
    for template in TEMPLATES.values():
        texts += [template.subject, template.body]
    tokens = {t for text in texts for t in _TOKEN.findall(text) if _instruction(t)}
    return frozenset(tokens | ESCALATION_PLACEHOLDERS | ALL_CLEAR_PLACEHOLDERS)


def unfilled_placeholders(text: str) -> list[str]:
    """The guide placeholders still in ``text``, each once, in the order they appear."""
    known = guide_placeholders()
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(text):
        if token in known:
            seen.setdefault(token)
    return list(seen)
