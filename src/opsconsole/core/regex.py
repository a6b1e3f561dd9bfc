"""Case-insensitive pattern lists for triage rules and runbooks."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["LazyPatterns", "compile_patterns"]


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


class LazyPatterns:
    """Mixin for a frozen slots dataclass with ``patterns`` and a ``_compiled`` field."""

    __slots__ = ()
    patterns: tuple[str, ...]
    _compiled: tuple[re.Pattern[str], ...] | None

    @property
    def compiled(self) -> tuple[re.Pattern[str], ...]:
        """The patterns, compiled case-insensitively (built-ins on first use)."""
        if self._compiled is None:
            object.__setattr__(self, "_compiled", compile_patterns(self.patterns))
        return self._compiled  # type: ignore[return-value]
