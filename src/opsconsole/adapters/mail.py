"""Turn untrusted email into a :class:`ParsedMail`, and read raw messages from disk.

``parse_message`` is the only way mail enters the ticket queue, so it must survive anything
a stranger can send. It never raises anything but :class:`MailRejected`, and it stays
linear-time on every input tried (see ``tests/hostile_mail.py``).

Decisions worth knowing:

* **Caps before parsing.** The raw size, every header field (unfolded), the header section
  and the number of header fields are checked by a byte scan before any decoding; breaking a
  cap rejects the message with a one-line reason.
* **Own MIME splitter, stdlib only for single header values.** The stdlib ``email``
  feedparser handles bodies line by line in Python: 25 MB of short lines took 5.5 s and
  3 million tiny parts over 200 s (measured on CPython 3.11.7). Here the structure is split
  with one compiled regex per multipart level (``bytes``-level, linear), transfer encodings
  are undone with ``binascii``, and part counts and nesting are capped (``MAX_PARTS``,
  ``MAX_DEPTH``). The stdlib header classes (``policy.default.header_factory``) still decode
  RFC 2047 words, addresses and RFC 2231 parameters, but its structured-header parsers are
  quadratic (a 16 KB ``From`` of dots: 3.2 s; a 16 KB ``Content-Type`` of ``;``: 0.7 s),
  so only values up to 1 KB, and at most 64 KB of them per message, are handed to it;
  the rest falls back to simple regular expressions.
* **HTML-only bodies** are rendered by a small linear tokenizer, not ``html.parser``:
  ``html.parser`` took 106 s on 500 KB of ``<!--`` (quadratic) on this interpreter.
* **Stored text is sanitized at ingest** with :func:`~opsconsole.core.text.sanitize_terminal`:
  subject, names and attachment names on one line, the body keeping ``\\n`` and ``\\t``. NULs
  are removed, lone surrogates become U+FFFD, CR/LF never survives in a header field.
* **Charsets as mail clients mean them**: text that is not valid UTF-8 under a missing,
  "us-ascii" or "utf-8" label is read as Windows-1252 byte by byte; "iso-8859-1", "gb2312",
  "ks_c_5601-1987" and "shift_jis" are read as their Windows supersets (WHATWG mapping).
* **Defects are human notes** (``"malformed MIME: CloseBoundaryNotFoundDefect"``), named
  after the stdlib defect classes where one exists, so the ticket can show them.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html
import mailbox
import mimetypes
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import AddressHeader, ParameterizedMIMEHeader
from email.utils import parsedate_to_datetime
from pathlib import Path

from opsconsole.core.text import sanitize_terminal
from opsconsole.core.tickets import Attachment

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_HEADER_BYTES",
    "MAX_MESSAGE_BYTES",
    "MailRejected",
    "MailSourceError",
    "ParsedMail",
    "format_size",
    "html_to_text",
    "iter_source",
    "parse_message",
]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""Largest raw message accepted (bytes)."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest header field accepted, unfolded, name included (bytes)."""
MAX_BODY_CHARS = 200_000
"""The stored body is cut here (characters)."""
MAX_HEADER_SECTION_BYTES = 256 * 1024
"""Largest top-level header section accepted (bytes)."""
MAX_HEADER_FIELDS = 1000
"""Most header fields accepted in the top-level header section."""
MAX_PARTS = 500
"""MIME parts read per message; later ones are skipped with a defect note."""
MAX_DEPTH = 8
"""Deepest multipart nesting read; deeper parts are skipped with a defect note."""
MAX_SUBJECT_CHARS = 1000
"""The stored subject is cut here (characters)."""

_MAX_NAME_CHARS = 200
_MAX_ADDRESS_CHARS = 320
_MAX_ATTACHMENT_NAME_CHARS = 255
_MAX_ID_CHARS = 500
_MAX_STRUCTURED_CHARS = 1024
_STDLIB_BUDGET = 64 * 1024
_MAX_ENCODED_WORDS = 200
_MAX_HTML_BYTES = 2_000_000
_MAX_REFERENCES = 100
_MAX_DEFECTS = 30
_PART_HEADER_FIELDS = 100
_PART_HEADER_SECTION = 64 * 1024
_MAX_BOUNDARY_CHARS = 200
_MAX_PARAMS = 50
_MAX_PARAM_TEXT = 4096

_HEADER_FACTORY = email_policy.default.header_factory
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]{1,200})[ \t]*:")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})")
_PARAM = re.compile(rf';\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.){{0,2000}}"|[^;\s]*)')
_NAME_PARAM = re.compile(r"(?:^|;)\s*(?:file)?name\*?[0-9]*\*?\s*=", re.IGNORECASE)
_QUOTED_PAIR = re.compile(r"\\(.)")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?[bBqQ]\?[^?\s]*\?=")
_MSG_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f-\x9f]{1,500})>")
_BARE_MSG_ID = re.compile(r"[^<>\s\x00-\x1f\x7f-\x9f]{1,500}@[^<>\s\x00-\x1f\x7f-\x9f]{1,255}")
_ANGLE_ADDR = re.compile(r"<([^<>\s@]{1,320}@[^<>\s@]{1,255})>")
_META_CHARSET = re.compile(
    rb"<meta\b[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE
)
_EW_CHARSET = re.compile(r"=\?([^?\s]{1,75})\?(?=[bBqQ]\?)")
_RETURNED_TYPES = frozenset(
    {
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
    }
)
_RETURNED_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^<>\s]{1,500}>)")
_MAILBOX = re.compile(r"[^\s@]+@[^\s@]+")
_COMMENT = re.compile(r"\(([^()\\]{1,200})\)")
_BARE_ADDR = re.compile(r"([^\s<>\",;:()@]{1,320}@[^\s<>\",;:()@]{1,255})")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_B64_RUN = re.compile(rb"([A-Za-z0-9+/]+)=*")
_CTE_TOKEN = re.compile(r"\s*([A-Za-z0-9_.+-]+)")
_SURROGATES = re.compile("[\ud800-\udfff]")
_BLOCKED_CODECS = frozenset(
    {"punycode", "idna", "undefined", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"}
)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
_DAEMON_SENDERS = frozenset({"mailer-daemon", "postmaster"})


class MailRejected(Exception):
    """The message was not imported; ``reason`` is one line fit for the import report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailSourceError(Exception):
    """A mail source (path) cannot be read at all; the message is one line."""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What intake keeps of one message; every text field is already sanitized.

    Attributes:
        message_id: ``<...>``; synthesized from a SHA-256 of the content when missing.
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


# -- parse_message ----------------------------------------------------------------------------


def parse_message(raw: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> ParsedMail:
    """Parse one raw RFC 5322 message.

    Args:
        raw: The message bytes (CRLF or LF line endings; a leading mbox ``From`` line is
            skipped).
        max_bytes: The size cap, checked before anything else.

    Returns:
        The sanitized :class:`ParsedMail`, with defect notes for whatever was malformed.

    Raises:
        MailRejected: When a cap is broken or the bytes are not an email. Nothing else
            escapes: an unexpected error inside the parser becomes a rejection too.
    """
    if len(raw) > max_bytes:
        raise MailRejected(f"message is {_fmt_size(len(raw))} (limit {_fmt_size(max_bytes)})")
    try:
        return _parse(bytes(raw))
    except MailRejected:
        raise
    except Exception as exc:
        raise MailRejected(f"unreadable message ({type(exc).__name__})") from None


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


def _parse(raw: bytes) -> ParsedMail:
    size = len(raw)
    ctx = _Context()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        ctx.note("byte-order mark before the headers removed")
    fields, body_start = _scan_headers(raw, ctx, strict=True)
    top = _Part(headers=_decode_fields(fields, ctx), body=raw[body_start:])
    _build_tree(top, ctx, depth=0, default_type="text/plain")

    message_id = _message_id(top.get("message-id"), raw, ctx)
    in_reply_to_ids = _msg_ids(top.get("in-reply-to") or "")
    if not in_reply_to_ids and (bare := _BARE_MSG_ID.search(top.get("in-reply-to") or "")):
        in_reply_to_ids = [_clean(f"<{bare.group(0)}>", ctx, single_line=True)]  # no <>
    references = _references(top.get("references") or "", ctx)
    subject = _subject(top.get("subject"), ctx)
    from_name, sender = _sender(top.get("from"), ctx)
    from_address = sender if _MAILBOX.fullmatch(sender) else ""
    if sender and not from_address:  # "kim at globex.com", "MAILER-DAEMON", a stray word
        ctx.note(f"unreadable From address: {sender[:80]!r}")
        from_name = from_name or sender
    date = _date(top.get("date"), ctx)
    body = _body_text(top, ctx)
    attachments = _attachments(top, ctx)
    auto = _is_auto_submitted(top, sender)
    reply_to_name, reply_to = _reply_to(top.get("reply-to"), ctx)

    defects = [sanitize_terminal(d, single_line=True, limit=300) for d in ctx.defects]
    if len(defects) > _MAX_DEFECTS:
        defects = [*defects[: _MAX_DEFECTS - 1], f"… {len(defects) - _MAX_DEFECTS + 1} more"]
    return ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        date=date,
        body=body,
        attachments=attachments,
        defects=tuple(defects),
        auto_submitted=auto,
        size=size,
        reply_to=reply_to,
        reply_to_name=reply_to_name,
        bounced_message_id=_bounced_message_id(top, ctx) if auto else None,
    )


# -- header section -----------------------------------------------------------------------------


def _scan_headers(
    data: bytes, ctx: _Context, *, strict: bool
) -> tuple[list[tuple[str, bytes]], int]:
    """Split the header section into ``(name, unfolded raw value)`` pairs.

    Returns the fields and the offset where the body starts. With ``strict`` (the top-level
    section) broken caps raise :class:`MailRejected`; inside MIME parts they drop the field or
    the rest of the section with a defect note.
    """
    section_limit = MAX_HEADER_SECTION_BYTES if strict else _PART_HEADER_SECTION
    field_limit = MAX_HEADER_FIELDS if strict else _PART_HEADER_FIELDS
    fields: list[tuple[str, bytes]] = []
    name: str | None = None
    chunks: list[bytes] = []
    size = 0
    dropped = False
    pos = 0
    n = len(data)
    body_start = n

    def finish() -> None:
        if name is not None and not dropped:
            fields.append((name, b"".join(chunks).strip()))

    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        next_pos = n if nl < 0 else nl + 1
        line = data[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            body_start = next_pos
            break
        if pos >= section_limit:
            if strict:
                raise MailRejected(f"header section is over the {_fmt_size(section_limit)} limit")
            ctx.note(f"MIME part header section over {_fmt_size(section_limit)}; rest skipped")
            body_start = pos
            break
        if line[:1] in (b" ", b"\t"):
            if name is None:
                ctx.note("malformed MIME: FirstHeaderLineIsContinuationDefect")
            else:
                chunks.append(line)
                size += len(line)
        else:
            match = _FIELD_NAME.match(line)
            if match is None:
                if pos == 0 and line.startswith(b"From "):
                    pos = next_pos  # mbox separator line
                    continue
                if name is None:
                    if strict:
                        raise MailRejected("not an email (no headers)")
                    body_start = pos  # a part without headers
                    break
                ctx.note("malformed MIME: MissingHeaderBodySeparatorDefect")
                body_start = pos
                break
            finish()
            if len(fields) >= field_limit:
                if strict:
                    count = _count_fields(data, pos, section_limit)
                    raise MailRejected(
                        f"message has {count:,} header fields (limit {field_limit:,})"
                    )
                ctx.note(f"MIME part has over {field_limit} header fields; rest skipped")
                name = None
                body_start = _section_end(data, pos)
                break
            name = match.group(1).decode("ascii").lower()
            chunks = [line[match.end() :]]
            size = len(line)
            dropped = False
        if name is not None and size > MAX_HEADER_BYTES and not dropped:
            if strict:
                total = _field_size(data, next_pos, size)
                raise MailRejected(
                    f"header {_header_label(name)} is {_fmt_size(total)} "
                    f"(limit {_fmt_size(MAX_HEADER_BYTES)})"
                )
            ctx.note(f"header {_header_label(name)} in a MIME part is over 16 KB; skipped")
            dropped = True
        pos = next_pos
    finish()
    if strict and not fields:
        raise MailRejected("not an email (no headers)")
    return fields, body_start


def _field_size(data: bytes, pos: int, size: int) -> int:
    """Measure the rest of an oversized folded field (for the rejection message)."""
    n = len(data)
    while pos < n and data[pos : pos + 1] in (b" ", b"\t"):
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        size += end - pos
        pos = n if nl < 0 else nl + 1
    return size


def _count_fields(data: bytes, pos: int, limit: int) -> int:
    """Roughly count the fields of an over-full header section (for the rejection message)."""
    end = _section_end(data, pos, limit)
    return MAX_HEADER_FIELDS + sum(
        1 for line in data[pos:end].split(b"\n") if line[:1] not in (b" ", b"\t", b"", b"\r")
    )


_SECTION_END = re.compile(rb"\n\r?\n")


def _section_end(data: bytes, pos: int, limit: int | None = None) -> int:
    match = _SECTION_END.search(data, pos, limit if limit else len(data))
    return match.end() if match else (limit or len(data))


def _decode_fields(fields: list[tuple[str, bytes]], ctx: _Context) -> list[tuple[str, str]]:
    """Decode raw header values: UTF-8 (RFC 6532), else latin-1 with a note; NULs removed."""
    out: list[tuple[str, str]] = []
    for name, raw in fields:
        value = raw.replace(b"\r\n", b"").replace(b"\n", b"")
        if b"\x00" in value:
            value = value.replace(b"\x00", b"")
            ctx.note("NUL bytes removed")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
            ctx.note(f"header {_header_label(name)} is not UTF-8 (decoded as latin-1)")
        out.append((name, text))
    return out


def _header_label(name: str) -> str:
    return "'" + "-".join(w.capitalize() for w in name[:40].split("-")) + "'"


# -- MIME structure ---------------------------------------------------------------------------


def _build_tree(part: _Part, ctx: _Context, *, depth: int, default_type: str) -> None:
    """Fill in ``part``'s content type and, for multiparts, its children (recursively)."""
    part.content_type, part.params = _content_type(part.get("content-type"), default_type, ctx)
    if not part.content_type.startswith("multipart/"):
        return
    boundary = part.params.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY_CHARS:
        ctx.note("malformed MIME: NoBoundaryInMultipartDefect")
        part.content_type, part.params = "text/plain", {}
        return
    if depth >= MAX_DEPTH:
        ctx.note(f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts not read")
        return
    pieces, found, closed = _split_multipart(part.body, boundary.encode("utf-8", "replace"))
    if not found:
        ctx.note("malformed MIME: StartBoundaryNotFoundDefect")
        part.content_type, part.params = "text/plain", {}
        return
    if not closed:
        ctx.note("malformed MIME: CloseBoundaryNotFoundDefect")
    child_default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    for piece in pieces:
        if ctx.parts >= MAX_PARTS:
            ctx.note(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            break
        ctx.parts += 1
        fields, body_start = _scan_headers(piece, ctx, strict=False)
        child = _Part(headers=_decode_fields(fields, ctx), body=piece[body_start:])
        _build_tree(child, ctx, depth=depth + 1, default_type=child_default)
        part.children.append(child)
    part.body = b""  # the children hold their slices; drop the parent's copy
    if not part.children:
        ctx.note("malformed MIME: multipart without parts")


def _split_multipart(body: bytes, boundary: bytes) -> tuple[list[bytes], bool, bool]:
    """Split a multipart body at its delimiter lines (RFC 2046 §5.1.1).

    Returns the parts, whether any delimiter was found and whether the close delimiter was.
    """
    delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    pieces: list[bytes] = []
    start: int | None = None
    found = closed = False
    for match in delimiter.finditer(body):
        found = True
        if start is not None:
            end = max(match.start() - 1, start)  # the line break before belongs to the delimiter
            if end > start and body[end - 1 : end] == b"\r":
                end -= 1
            pieces.append(body[start:end])
            if len(pieces) > MAX_PARTS:
                return pieces, found, True
        if match.group(1):
            closed = True
            break
        start = min(match.end() + 1, len(body))
    if start is not None and not closed:
        pieces.append(body[start:])
    return pieces, found, closed


def _content_type(value: str | None, default: str, ctx: _Context) -> tuple[str, dict[str, str]]:
    if value is None:
        return default, {}
    match = _CONTENT_TYPE.match(value)
    if match is None:
        ctx.note("malformed header 'Content-Type' (read as text/plain)")
        return "text/plain", {}
    return f"{match.group(1)}/{match.group(2)}".lower(), _params(value[match.end() :])


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for count, match in enumerate(_PARAM.finditer(text, 0, _MAX_PARAM_TEXT)):
        if count >= _MAX_PARAMS:
            break
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
        params.setdefault(key, value)
    return params


def _leaves(part: _Part) -> Iterator[_Part]:
    if part.is_multipart:
        for child in part.children:
            yield from _leaves(child)
    else:
        yield part


def _disposition(part: _Part) -> str:
    value = part.get("content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def _is_attachment(part: _Part) -> bool:
    if part.content_type not in ("text/plain", "text/html"):
        return True
    if _disposition(part) == "attachment":
        return True
    return any(
        _NAME_PARAM.search(v or "")
        for v in (part.get("content-disposition"), part.get("content-type"))
    )


def _payload(part: _Part, ctx: _Context) -> bytes:
    """Undo the Content-Transfer-Encoding."""
    value = part.get("content-transfer-encoding") or "7bit"
    token = _CTE_TOKEN.match(value)  # "base64 (comment)" and "base64;" occur in the wild
    cte = token.group(1).lower() if token else value.strip().lower()
    data = part.body
    if cte == "base64":
        if b"=" not in data.rstrip(b"= \t\r\n"):  # padding only at the end
            try:
                return binascii.a2b_base64(data)
            except (binascii.Error, ValueError):
                pass
        ctx.note("malformed MIME: InvalidBase64PaddingDefect (decoded what could be read)")
        return _lenient_base64(data)
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte not in ("7bit", "8bit", "binary", ""):
        ctx.note(f"unknown Content-Transfer-Encoding {cte[:40]!r} (read as is)")
    return data


def _lenient_base64(data: bytes) -> bytes:
    """Decode base64 with missing or misplaced padding, in linear time.

    ``binascii`` stops at the first ``=``, so a body whose lines were encoded one by one
    (``SGk=`` on each line) would lose everything after its first line, and one without its
    final ``=`` would be refused; here each padded run is decoded on its own, its padding
    restored.
    """
    clean = _B64_JUNK.sub(b"", data)
    out: list[bytes] = []
    for match in _B64_RUN.finditer(clean):
        run = match.group(1)
        run = run[: len(run) - 1] if len(run) % 4 == 1 else run  # a lone 6-bit tail is no byte
        if run:
            try:
                out.append(binascii.a2b_base64(run + b"=" * (-len(run) % 4)))
            except (binascii.Error, ValueError):  # pragma: no cover - the run is clean
                continue
    return b"".join(out)


def _windows_1252(data: bytes) -> str:
    """Decode as Windows-1252; its five undefined bytes stay C1 controls (Latin-1)."""
    return data.decode("latin-1").translate(_CP1252_TABLE)


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes UTF-8 refused as Windows-1252."""
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover - registered for decoding
        raise exc
    return _windows_1252(exc.object[exc.start : exc.end]), exc.end


def _utf8_else_cp1252(data: bytes) -> str:
    """UTF-8, with bytes that are not UTF-8 read as Windows-1252 (linear, C speed).

    A few stray bytes in UTF-8 text are decoded one by one; a body with many of them is a
    legacy single-byte body and is decoded as Windows-1252 as a whole.
    """
    if data.decode("utf-8", "replace").count("\ufffd") - data.count(b"\xef\xbf\xbd") > 64:
        return _windows_1252(data)
    return data.decode("utf-8", _CP1252_FALLBACK)


_CP1252_TABLE = {
    0x80 + i: ch
    for i, ch in enumerate(bytes(range(0x80, 0xA0)).decode("cp1252", "replace"))
    if ch != "\ufffd"
}
_CP1252_FALLBACK = "opsconsole-cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


_SUPERSETS = {
    "iso8859-1": "cp1252",
    "cp1252": "cp1252",
    "iso8859-9": "cp1254",
    "tis-620": "cp874",
    "iso8859-11": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
"""Labels mail clients use for their Windows supersets (the WHATWG Encoding Standard's
mapping): Outlook's "iso-8859-1" holds cp1252 smart quotes and the euro sign, "gb2312"
mail holds GBK characters, "ks_c_5601-1987" is cp949, "shift_jis" is cp932."""


def _superset_label(match: re.Match[str]) -> str:
    """An encoded word's charset, widened like a body's (see :data:`_SUPERSETS`)."""
    label = match.group(1)
    try:
        name = codecs.lookup(label.split("*", 1)[0]).name
    except LookupError:
        return match.group(0)
    wide = _SUPERSETS.get(name)
    return f"=?{wide}?" if wide and wide != name else match.group(0)


def _decode_text(data: bytes, charset: str | None, ctx: _Context) -> str:
    """Decode body bytes; unknown charsets fall back to latin-1 with a note."""
    name = (charset or "us-ascii").strip().strip("\"'").lower()[:60]
    try:
        info = codecs.lookup(name)
        if not getattr(info, "_is_text_encoding", True) or info.name in _BLOCKED_CODECS:
            raise LookupError(name)
    except LookupError:
        ctx.note(f"unknown charset {name!r} (decoded as latin-1)")
        return data.decode("latin-1")
    if info.name in ("ascii", "utf-8"):
        # "us-ascii" (also the default) is often a lie, and so is "utf-8": UTF-8 is the
        # guess, and a byte that is not UTF-8 is read as Windows-1252 (what Outlook and old
        # mailers send undeclared) rather than turned into U+FFFD.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        what = "8-bit body without a charset" if charset is None else f"body is not {name!r}"
        ctx.note(f"{what}: bytes that are not UTF-8 read as windows-1252")
        return _utf8_else_cp1252(data)
    codec = _SUPERSETS.get(info.name, info.name)
    if codec == "cp1252":
        return _windows_1252(data)
    try:
        return data.decode(codec, "replace")
    except Exception:
        ctx.note(f"charset {name!r} failed to decode (decoded as latin-1)")
        return data.decode("latin-1")


# -- body -------------------------------------------------------------------------------------


def _body_kind(part: _Part) -> str | None:
    """ "plain", "html" or None: what ``_render_body`` would produce, without decoding."""
    if part.is_multipart:
        kinds = {_body_kind(c) for c in part.children} - {None}
        if not kinds:
            return None
        return "plain" if "plain" in kinds else "html"
    if _is_attachment(part):
        return None
    return "html" if part.content_type == "text/html" else "plain"


def _render_body(part: _Part, ctx: _Context, budget: int) -> list[tuple[str, str]]:
    """Render the readable text of ``part`` as (text, kind) chunks, up to ``budget`` chars."""
    if budget <= 0:
        return []
    if part.is_multipart:
        if part.content_type == "multipart/alternative":
            # Plain text first, HTML next; a blank alternative (some senders put an empty
            # text/plain beside the real HTML) does not hide the others.
            for wanted in ("plain", "html"):
                for child in part.children:
                    if _body_kind(child) == wanted:
                        rendered = _render_body(child, ctx, budget)
                        if any(text.strip() for text, _ in rendered):
                            return rendered
            return []
        chunks: list[tuple[str, str]] = []
        for child in part.children:
            for chunk in _render_body(child, ctx, budget):
                chunks.append(chunk)
                budget -= len(chunk[0])
        return chunks
    leaf_kind = _body_kind(part)
    if leaf_kind is None:
        return []
    data = _payload(part, ctx)
    charset = part.params.get("charset")
    if leaf_kind == "html" and charset is None:  # declared only in the HTML (older mailers)
        meta = _META_CHARSET.search(data, 0, 4096)
        charset = meta.group(1).decode("ascii") if meta else None
    if leaf_kind == "html":
        if len(data) > _MAX_HTML_BYTES:
            ctx.note("HTML body truncated")
            data = data[:_MAX_HTML_BYTES]
        return [(html_to_text(_decode_text(data, charset, ctx), limit=budget + 1), "html")]
    if len(data) > budget * 4:
        data = _cut_utf8(data, budget * 4 + 4)
    return [(_decode_text(data, charset, ctx), "plain")]


def _cut_utf8(data: bytes, size: int) -> bytes:
    """``data[:size]`` without a UTF-8 sequence cut in half at the end."""
    data = data[:size]
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data[:-back] if need > back else data
    return data


def _body_text(top: _Part, ctx: _Context) -> str:
    chunks = [(t, k) for t, k in _render_body(top, ctx, MAX_BODY_CHARS) if t.strip()]
    if chunks and all(kind == "html" for _, kind in chunks):
        ctx.note("HTML-only body rendered as text")
    text = "\n\n".join(t.strip("\r\n") for t, _ in chunks)
    text = _clean(text.replace("\r\n", "\n").replace("\r", "\n"), ctx, single_line=False)
    if len(text) > MAX_BODY_CHARS:  # escapes made visible count too
        text = text[:MAX_BODY_CHARS]
        ctx.note(f"body truncated at {MAX_BODY_CHARS:,} characters")
    return text


# -- attachments --------------------------------------------------------------------------------


def _attachments(top: _Part, ctx: _Context) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for index, part in enumerate(_leaves(top), start=1):
        if not _is_attachment(part):
            continue
        size = (
            len(part.body) if part.content_type.startswith("message/") else len(_payload(part, ctx))
        )
        found.append(
            Attachment(
                name=_attachment_name(part, index, ctx),
                size=size,
                content_type=part.content_type[:100],
            )
        )
    return tuple(found)


def _attachment_name(part: _Part, index: int, ctx: _Context) -> str:
    name = ""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = part.get(header)
        if value is None or not _NAME_PARAM.search(value):
            continue
        name = _stdlib_param(header, value, param, ctx) or _params(
            ";" + value.split(";", 1)[-1]
        ).get(param, "")
        if name:
            break
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        ext = (
            ".eml"
            if part.content_type == "message/rfc822"
            else (mimetypes.guess_extension(part.content_type, strict=False) or ".bin")
        )
        name = f"attachment-{index}{ext}"
    return _clean(name, ctx, single_line=True, limit=_MAX_ATTACHMENT_NAME_CHARS)


def _stdlib_param(header: str, value: str, param: str, ctx: _Context) -> str:
    """Read one parameter with the stdlib (RFC 2231, encoded words), within the budget."""
    if not ctx.may_use_stdlib(value):
        return ""
    try:
        parsed = _HEADER_FACTORY(header, value)
    except Exception:
        return ""
    if not isinstance(parsed, ParameterizedMIMEHeader):  # pragma: no cover - registry types
        return ""
    return str(parsed.params.get(param) or "")


# -- top-level fields ---------------------------------------------------------------------------


def _message_id(value: str | None, raw: bytes, ctx: _Context) -> str:
    if value is not None:
        match = _MSG_ID.search(value)
        if match:
            return _clean(f"<{match.group(1)}>", ctx, single_line=True)
        bare = _BARE_MSG_ID.search(value)
        if bare:
            ctx.note("Message-ID without angle brackets")
            return _clean(f"<{bare.group(0)}>", ctx, single_line=True)
        ctx.note("unreadable Message-ID (synthesized one from the content)")
    else:
        ctx.note("no Message-ID (synthesized one from the content)")
    digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()[:40]
    return f"<{digest}@synthesized.opsconsole.invalid>"


def _msg_ids(value: str) -> list[str]:
    return [f"<{m.group(1)}>" for m in _MSG_ID.finditer(value[:MAX_HEADER_BYTES])]


def _references(value: str, ctx: _Context) -> tuple[str, ...]:
    ids = list(dict.fromkeys(_msg_ids(value)))
    if len(ids) > _MAX_REFERENCES:
        ctx.note(
            f"References has {len(ids)} ids; kept the first and the last {_MAX_REFERENCES - 1}"
        )
        ids = [ids[0], *ids[-(_MAX_REFERENCES - 1) :]]
    return tuple(_clean(i, ctx, single_line=True) for i in ids)


def _decode_words(value: str, label: str, ctx: _Context) -> str:
    """Decode RFC 2047 encoded words, at most ``_MAX_ENCODED_WORDS`` of them."""
    if "=?" not in value:
        return value
    charsets: dict[str, None] = {}
    for count, match in enumerate(_ENCODED_WORD.finditer(value)):
        if count == _MAX_ENCODED_WORDS:
            ctx.note(f"{label} has over {_MAX_ENCODED_WORDS} encoded words; decoded the first ones")
            value = value[: match.start()]
            break
        charsets.setdefault(match.group(1).split("*", 1)[0].lower(), None)
    for charset in list(charsets)[:20]:
        try:
            info = codecs.lookup(charset)
            if not getattr(info, "_is_text_encoding", True) or info.name in _BLOCKED_CODECS:
                raise LookupError(charset)
        except LookupError:
            ctx.note(f"unknown charset {charset[:40]!r} in an encoded word of {label}")
    try:
        return str(_HEADER_FACTORY("subject", _EW_CHARSET.sub(_superset_label, value)))
    except Exception:
        ctx.note(f"malformed encoded words in {label} (shown raw)")
        return value


def _subject(value: str | None, ctx: _Context) -> str:
    if value is None:
        return ""
    text = _clean(_decode_words(value, "'Subject'", ctx), ctx, single_line=True).strip()
    if len(text) > MAX_SUBJECT_CHARS:
        ctx.note("subject truncated")
        text = text[: MAX_SUBJECT_CHARS - 1] + "…"
    return text


def _sender(value: str | None, ctx: _Context) -> tuple[str, str]:
    """Return (display name, addr-spec) of the first From address."""
    if value is None or not value.strip():
        ctx.note("no From header")
        return "", ""
    name = address = ""
    parsed = False
    if ctx.may_use_stdlib(value):
        try:
            header = _HEADER_FACTORY("from", value)
            addresses = header.addresses if isinstance(header, AddressHeader) else ()
            if addresses and addresses[0].username:
                first = addresses[0]
                name = str(first.display_name)
                domain = str(first.domain).lower()
                address = f"{first.username}@{domain}" if domain else str(first.username)
                parsed = True
                if len(addresses) > 1:
                    ctx.note("several From addresses; using the first")
                if not name and (comment := _COMMENT.search(value)):  # addr (Real Name)
                    name = _decode_words(comment.group(1), "'From'", ctx).strip()
        except Exception:
            parsed = False
    else:
        ctx.note("header 'From' is too long to parse fully; read the first address only")
    if not parsed:
        name, address = _sender_fallback(value, ctx)
    address = _clean(address, ctx, single_line=True, limit=_MAX_ADDRESS_CHARS).strip()
    name = _clean(name, ctx, single_line=True, limit=_MAX_NAME_CHARS).strip()
    if not address:
        ctx.note("unreadable From address")
    elif "@" in name:
        claimed = _BARE_ADDR.search(name)
        if claimed and claimed.group(1).lower() != address.lower():
            ctx.note(f"display name {name[:80]!r} looks like another address; sender is {address}")
    return name, address


def _reply_to(value: str | None, ctx: _Context) -> tuple[str, str]:
    """(display name, addr-spec) of the first Reply-To address; empty when unreadable."""
    if value is None or not value.strip():
        return "", ""
    name = address = ""
    if ctx.may_use_stdlib(value):
        try:
            header = _HEADER_FACTORY("reply-to", value)
            addresses = header.addresses if isinstance(header, AddressHeader) else ()
            if addresses and addresses[0].username and addresses[0].domain:
                first = addresses[0]
                name = str(first.display_name)
                address = f"{first.username}@{str(first.domain).lower()}"
        except Exception:
            address = ""
    if not address:
        match = _ANGLE_ADDR.search(value[:_MAX_STRUCTURED_CHARS]) or _BARE_ADDR.search(
            value[:_MAX_STRUCTURED_CHARS]
        )
        if match:
            local, _, domain = match.group(1).rpartition("@")
            address = f"{local}@{domain.lower()}"
    address = _clean(address, ctx, single_line=True, limit=_MAX_ADDRESS_CHARS).strip()
    if not _MAILBOX.fullmatch(address):
        return "", ""
    return _clean(name, ctx, single_line=True, limit=_MAX_NAME_CHARS).strip(), address


def _sender_fallback(value: str, ctx: _Context) -> tuple[str, str]:
    """Cheap From parsing for values the stdlib cannot (or should not) read."""
    head = value[: _MAX_STRUCTURED_CHARS * 4]
    match = _ANGLE_ADDR.search(head)
    if match:
        name = head[: match.start()].strip().strip('"').strip()
        if len(name) <= _MAX_NAME_CHARS * 4:
            name = _decode_words(name, "'From'", ctx)
        address = match.group(1)
    else:
        bare = _BARE_ADDR.search(head)
        name, address = "", bare.group(1) if bare else ""
    if address and "@" in address:
        local, _, domain = address.rpartition("@")
        address = f"{local}@{domain.lower()}"
    if address:
        ctx.note("malformed header 'From' (address guessed)")
    return name, address


def _date(value: str | None, ctx: _Context) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value[:200])
    except (TypeError, ValueError, IndexError, OverflowError):
        ctx.note("unreadable Date header")
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        ctx.note("unreadable Date header")
        return None


def _bounced_message_id(top: _Part, ctx: _Context) -> str | None:
    """The Message-ID of the message a delivery report returns (RFC 3462/6522: its copy in a
    ``message/rfc822`` part, or its headers in a ``text/rfc822-headers`` part)."""
    for part in _leaves(top):
        if part.content_type not in _RETURNED_TYPES:
            continue
        data = part.body if part.content_type.startswith("message/") else _payload(part, ctx)
        match = _RETURNED_ID.search(data[:_PART_HEADER_SECTION])
        if match:
            return _clean(match.group(1).decode("utf-8", "replace"), ctx, single_line=True)
    return None


def _is_auto_submitted(top: _Part, address: str) -> bool:
    """RFC 3834 Auto-Submitted, vendor auto-reply headers, bulk mail and bounces."""
    auto = top.get("auto-submitted")
    if auto is not None and auto.split(";", 1)[0].strip().lower() not in ("", "no"):
        return True
    for name in ("x-autoreply", "x-autorespond"):
        value = top.get(name)
        if value is not None and value.strip().lower() != "no":
            return True
    precedence = (top.get("precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return True
    if address.rpartition("@")[0].lower() in _DAEMON_SENDERS or (
        "@" not in address and address.lower() in _DAEMON_SENDERS
    ):
        return True
    if top.content_type == "multipart/report":
        return True
    return_path = top.get("return-path")
    return return_path is not None and re.fullmatch(r"\s*<\s*>\s*", return_path) is not None


# -- text helpers -------------------------------------------------------------------------------


def _clean(text: str, ctx: _Context, *, single_line: bool, limit: int | None = None) -> str:
    """Remove NULs, replace lone surrogates and escape terminal controls."""
    if "\x00" in text:
        text = text.replace("\x00", "")
        ctx.note("NUL bytes removed")
    text = _SURROGATES.sub("\ufffd", text)
    return sanitize_terminal(text, single_line=single_line, limit=limit)


def format_size(n: int) -> str:
    """``26 MB``, ``5.1 KB``: sizes in rejection reasons (binary units, as the caps)."""
    return _fmt_size(n)


def _fmt_size(n: int) -> str:
    if n >= 1024 * 1024:
        value, unit = n / (1024 * 1024), "MB"
    else:
        value, unit = n / 1024, "KB"
    text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{text} {unit}"


# -- HTML to text ---------------------------------------------------------------------------------

_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]{0,40})([^>]{0,4096})>?"
    r"|<[!?/][^>]{0,4096}>?"
    r"|[^<]+"
    r"|<",
    re.DOTALL,
)
_HTML_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HTML_SKIP = frozenset({"script", "style", "title", "template"})
_HTML_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "table", "blockquote"})
_HTML_BLOCK = frozenset(
    {
        "p", "div", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "h1", "h2", "h3",
        "h4", "h5", "h6", "section", "article", "header", "footer", "dl", "dd", "dt", "address",
        "form", "fieldset", "body", "html",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def html_to_text(markup: str, *, limit: int = MAX_BODY_CHARS) -> str:
    """Render HTML to readable plain text in linear time.

    Drops ``script``/``style``/``title``/``template`` content and comments, turns ``p``,
    ``div``, ``br``, ``li`` and other block elements into line breaks (``li`` gets a
    ``- `` bullet), keeps ``pre`` whitespace, appends link targets that differ from the
    link text, and unescapes entities. The result is *not* sanitized.

    Args:
        markup: The HTML source.
        limit: Stop once about this many characters have been produced.
    """
    out: list[str] = []
    size = 0
    pre = 0
    href: str | None = None
    link_start = 0
    pos = 0
    n = len(markup)

    def emit(text: str) -> None:
        nonlocal size
        if not pre:  # &nbsp; is layout (Outlook's empty paragraphs), not content
            text = _SPACES.sub(" ", text.replace("\xa0", " "))
            if not out or out[-1].endswith("\n"):
                text = text.lstrip(" ")
        if text:
            out.append(text)
            size += len(text)

    while pos < n and size < limit:
        match = _HTML_TOKEN.match(markup, pos)
        if match is None:  # pragma: no cover - the pattern always matches one character
            break
        pos = match.end()
        token, tag = match.group(0), match.group(2)
        if tag is None:
            if not token.startswith("<!--") and not (len(token) > 1 and token[1] in "!?/"):
                emit(html.unescape(token))
            continue
        tag = tag.lower()
        closing = bool(match.group(1))
        if not closing and tag in _HTML_SKIP:
            if not token.rstrip().endswith("/>"):
                close = re.compile(rf"</{tag}\s*>", re.IGNORECASE).search(markup, pos)
                pos = close.end() if close else n
            continue
        if tag == "pre":
            pre = max(pre - 1, 0) if closing else pre + 1
        if tag == "br":
            out.append("\n")
        elif tag == "li" and not closing:
            out.append("\n- ")
        elif tag in ("td", "th") and closing:
            out.append("  ")
        elif tag in _HTML_BLOCK:
            out.append("\n\n" if tag in _HTML_PARAGRAPH else "\n")
        elif tag == "a" and not closing:
            found = _HTML_HREF.search(match.group(3) or "")
            href = html.unescape(next((g for g in found.groups() if g), "")) if found else None
            link_start = len(out)
        elif tag == "a" and href:
            shown = "".join(out[link_start:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if href.lower().startswith(("http:", "https:", "mailto:")) and target not in shown:
                out.append(f" ({href})")
            href = None
        size += 1
    text = _TRAILING_SPACE.sub("\n", "".join(out))
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()[:limit]


# -- sources ------------------------------------------------------------------------------------


def iter_source(
    path: Path,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    problems: list[tuple[str, str]] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(source id, raw bytes)`` for every message under ``path``.

    ``path`` may be a Maildir (``cur``/``new``; ``tmp`` holds deliveries in progress and is
    not read), an mbox file (starts with ``From ``), a single ``.eml`` file, or a directory
    of ``.eml`` files. Source ids are ``new/<file>`` for a Maildir, ``<name>#<n>`` for an
    mbox and the file name otherwise.

    Args:
        path: The mailbox.
        max_bytes: Messages larger than this are not read into memory.
        problems: When given, messages that cannot be read (file vanished or unreadable,
            larger than ``max_bytes``) are appended here as ``(source id, reason)`` and
            skipped; when None such a message raises :class:`MailSourceError`.

    Raises:
        MailSourceError: The path is missing, unreadable or not a mailbox (one line).
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        if (path / "cur").is_dir() or (path / "new").is_dir():
            yield from _iter_maildir(path, max_bytes, problems)
        else:
            yield from _iter_eml_dir(path, max_bytes, problems)
    elif stat.S_ISREG(info.st_mode):
        head = _read_head(path)
        if head.startswith(b"From "):
            yield from _iter_mbox(path, max_bytes, problems)
        else:
            data = _read_file(path, path.name, max_bytes, problems, fatal=True)
            if data is not None:
                yield path.name, data
    else:
        raise MailSourceError(f"{path} is not a mailbox (not a file or directory)")


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(5)
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def _problem(
    problems: list[tuple[str, str]] | None, source_id: str, reason: str, *, fatal: bool = False
) -> None:
    if problems is None or fatal:
        raise MailSourceError(f"{source_id}: {reason}")
    problems.append((source_id, reason))


def _read_file(
    path: Path,
    source_id: str,
    max_bytes: int,
    problems: list[tuple[str, str]] | None,
    *,
    fatal: bool = False,
) -> bytes | None:
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                _problem(
                    problems,
                    source_id,
                    f"message is {_fmt_size(size)} (limit {_fmt_size(max_bytes)})",
                    fatal=False,
                )
                return None
            return fh.read(max_bytes + 1)
    except OSError as exc:
        _problem(problems, source_id, f"cannot read: {exc.strerror or exc}", fatal=fatal)
        return None


def delivery_order(name: str) -> tuple[str | int, ...]:
    """Sort key for Maildir file names in delivery order: their numbers compared as numbers.

    Maildir names start with the delivery time, e.g. ``1764300000.M5234P12Q1.host``
    (seconds, then microseconds *without* leading zeros), so a plain string sort puts
    ``M123456`` before ``M5234`` within a second, and a reply before the message it answers.
    """
    parts = re.split(r"(\d+)", name)  # even positions text, odd positions digits
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def _iter_maildir(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        try:
            names = sorted(os.listdir(folder), key=delivery_order)
        except OSError as exc:
            raise MailSourceError(f"cannot read {folder}: {exc.strerror or exc}") from None
        for name in names:
            if name.startswith("."):
                continue
            file = folder / name
            if not file.is_file():
                continue
            data = _read_file(file, f"{sub}/{name}", max_bytes, problems)
            if data is not None:
                yield f"{sub}/{name}", data


def _iter_eml_dir(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    emls = [e for e in entries if e.lower().endswith(".eml") and (path / e).is_file()]
    if entries and not emls:
        raise MailSourceError(f"{path} is not a mailbox (no cur/new folders and no .eml files)")
    for name in emls:
        data = _read_file(path / name, name, max_bytes, problems)
        if data is not None:
            yield name, data


def _iter_mbox(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    """Read an mbox with :class:`mailbox.mbox`, one message's raw bytes at a time."""
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()  # builds the table of contents (one scan of the file)
    except (OSError, mailbox.Error) as exc:
        raise MailSourceError(f"cannot read {path}: {_reason(exc)}") from None
    try:
        for index, key in enumerate(keys, start=1):
            source_id = f"{path.name}#{index}"
            try:
                with box.get_file(key, from_=False) as fh:
                    fh.seek(0, 2)
                    size = fh.tell()
                    if size > max_bytes:
                        reason = f"message is {_fmt_size(size)} (limit {_fmt_size(max_bytes)})"
                        _problem(problems, source_id, reason)
                        continue
                    fh.seek(0)
                    data = fh.read(max_bytes + 1)
            except (OSError, KeyError) as exc:
                _problem(problems, source_id, f"cannot read: {_reason(exc)}")
                continue
            yield source_id, data
    finally:
        box.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
