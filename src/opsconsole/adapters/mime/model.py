"""What the parser returns (:class:`ParsedMail`, :class:`MailRejected`) and the state it
carries through one message (:class:`_Context`, :class:`_Part`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy

from opsconsole.adapters.mime.limits import _MAX_STRUCTURED_CHARS, _STDLIB_BUDGET
from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Attachment

_HEADER_FACTORY = email_policy.default.header_factory
_SURROGATES = re.compile("[\ud800-\udfff]")


class MailRejected(Exception):
    """The message was not imported; ``reason`` is one line fit for the import report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What intake keeps of one message; every text field is already sanitized.

    Attributes:
        message_id: ``<...>``; when missing, synthesized from a SHA-256 of the fields the
            sender wrote (From, To, Subject, Date…) and the body, not trace fields.
        in_reply_to: The first message id in ``In-Reply-To``.
        references: The message ids in ``References``, oldest first, deduplicated.
        subject: One line.
        from_name: The display name, one line (never trust it: see ``from_address``).
        from_address: The sender's addr-spec, domain lower-cased; ``""`` when unreadable.
        date: The ``Date`` header as an aware UTC datetime, or None.
        body: The plain-text body (HTML rendered to text when there is no plain part).
        attachments: Name (sanitized), decoded size and content type of each attachment.
        defects: Human notes on anything malformed, guessed or cut.
        auto_submitted: An auto-reply, bounce or bulk message: never ticket, never answer.
        size: The raw size in bytes.
        reply_to: The first ``Reply-To`` address (addr-spec, domain lower-cased), or ``""``.
        reply_to_name: Its display name (one line).
        bounced_message_id: For a bounce (delivery report), the Message-ID of the returned
            message, read from its attached copy or headers; None otherwise.
    """

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str
    date: datetime | None
    body: str
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    auto_submitted: bool
    size: int
    reply_to: str = ""
    reply_to_name: str = ""
    bounced_message_id: str | None = None


@dataclass(slots=True)
class _Context:
    """Per-message state: defect notes, the part count and the stdlib budget."""

    defects: dict[str, None] = field(default_factory=dict)
    parts: int = 0
    stdlib_budget: int = _STDLIB_BUDGET

    def note(self, text: str) -> None:
        self.defects.setdefault(text, None)

    def may_use_stdlib(self, value: str) -> bool:
        """Charge ``value`` to the stdlib budget; False when too long or out of budget."""
        if len(value) > _MAX_STRUCTURED_CHARS or len(value) > self.stdlib_budget:
            return False
        self.stdlib_budget -= len(value)
        return True


@dataclass(slots=True)
class _Part:
    """One MIME entity: decoded header fields (lower-case names) and the raw body."""

    headers: list[tuple[str, str]]
    body: bytes
    content_type: str = "text/plain"
    params: dict[str, str] = field(default_factory=dict)
    children: list[_Part] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def is_multipart(self) -> bool:
        return bool(self.children)


def _clean(text: str, ctx: _Context, *, single_line: bool, limit: int | None = None) -> str:
    """Remove NULs, replace lone surrogates and escape terminal controls."""
    if "\x00" in text:
        text = text.replace("\x00", "")
        ctx.note("NUL bytes removed")
    text = _SURROGATES.sub("\ufffd", text)
    return sanitize_terminal(text, single_line=single_line, limit=limit)
