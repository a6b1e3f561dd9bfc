"""Keep the console up when a write or read behind a key or a timer fails.

Textual ends the app on an exception escaping a message handler, a timer or a worker, and
ends that widget's message loop even if the exception is swallowed later. So each handler
that touches the history database or a mail server runs its I/O inside :func:`noted`: a
failure (a disk I/O error, a lock held past the busy timeout, SMTP refusing) is logged,
shown as one redacted line, and the handler goes on with what it has.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from textual.app import App

from opsconsole.core.redact import redact_text
from opsconsole.core.text import sanitize_terminal

__all__ = ["Outcome", "noted", "one_line"]

log = logging.getLogger(__name__)

_FAILING = "_opsconsole_failing"
"""App attribute: the ``once`` keys whose last run failed (told once, until they work)."""


@dataclass
class Outcome:
    """Whether the block of :func:`noted` failed, and why."""

    error: Exception | None = None

    @property
    def failed(self) -> bool:
        """True when the block raised."""
        return self.error is not None


def one_line(error: BaseException) -> str:
    """``error`` as one printable, redacted line (its type when it has no message)."""
    text = str(error).strip() or type(error).__name__
    return sanitize_terminal(redact_text(text), single_line=True, limit=200)


@contextmanager
def noted(app: App[Any], what: str, *, once: bool = False) -> Iterator[Outcome]:
    """Run the block; on an exception log it and tell the operator in one line.

    With ``once`` (periodic work: reloads every few seconds) the operator is told when
    ``what`` starts failing and again when it works again, not on every failed run.
    """
    outcome = Outcome()
    failing: set[str] = app.__dict__.setdefault(_FAILING, set())
    try:
        yield outcome
    except Exception as exc:  # the console must outlive a failing database or server
        outcome.error = exc
        log.warning("%s: %s", what, one_line(exc))
        if once and what in failing:
            return
        failing.add(what)
        app.bell()
        app.notify(f"{what}: {one_line(exc)}", severity="error", timeout=12, markup=False)
    else:
        if what in failing:  # a key's failure is cleared by its next success too
            failing.discard(what)
            if once:
                app.notify(f"{what}: working again", markup=False)
