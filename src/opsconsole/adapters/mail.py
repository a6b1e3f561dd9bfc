"""Turn untrusted email into a :class:`ParsedMail`, and read raw messages from disk.

The one import path for mail intake. The parser lives in :mod:`opsconsole.adapters.mime`
(whose docstring holds the decisions worth knowing: caps before parsing, its own MIME
splitter, the HTML tokenizer, sanitizing at ingest, charsets as mail clients mean them) and
the mailbox readers in :mod:`opsconsole.adapters.mail_sources`.
"""

from __future__ import annotations

from opsconsole.adapters.mail_sources import MailSourceError, delivery_order, iter_source
from opsconsole.adapters.mime.html_text import html_to_text
from opsconsole.adapters.mime.limits import (
    MAX_BODY_CHARS,
    MAX_DEPTH,
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
    MAX_HEADER_SECTION_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_PARTS,
    MAX_SUBJECT_CHARS,
    format_size,
)
from opsconsole.adapters.mime.model import MailRejected, ParsedMail
from opsconsole.adapters.mime.parser import parse_message

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_DEPTH",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_FIELDS",
    "MAX_HEADER_SECTION_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_PARTS",
    "MAX_SUBJECT_CHARS",
    "MailRejected",
    "MailSourceError",
    "ParsedMail",
    "delivery_order",
    "format_size",
    "html_to_text",
    "iter_source",
    "parse_message",
]
