"""Case-insensitive pattern lists for triage rules and runbooks."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["compile_patterns"]


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile each pattern with ``re.IGNORECASE``.

    Raises:
        ValueError: naming the first invalid pattern and why.
    """
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    return tuple(compiled)
