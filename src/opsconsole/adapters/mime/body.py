"""The readable body text and the attachment list of a parsed MIME tree."""

from __future__ import annotations

import mimetypes
import re
from email.headerregistry import ParameterizedMIMEHeader

from opsconsole.adapters.mime.charsets import _decode_text
from opsconsole.adapters.mime.fields import _decode_words, _subject
from opsconsole.adapters.mime.headers import _decode_fields, _scan_headers
from opsconsole.adapters.mime.html_text import html_to_text
from opsconsole.adapters.mime.limits import (
    _MAX_ATTACHMENT_NAME_CHARS,
    _MAX_HTML_BYTES,
    MAX_BODY_CHARS,
    MAX_DEPTH,
)
from opsconsole.adapters.mime.model import _HEADER_FACTORY, _clean, _Context, _Part
from opsconsole.adapters.mime.tree import (
    _NAME_PARAM,
    _build_tree,
    _is_attachment,
    _leaves,
    _params,
    _payload,
)
from opsconsole.core.tickets import Attachment

_FORWARDED_TYPES = frozenset({"message/rfc822", "message/global"})
_FORWARDED_FIELDS = ("from", "date", "subject", "to")
_META_CHARSET = re.compile(
    rb"<meta\b[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE
)


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


def _render_body(
    part: _Part, ctx: _Context, budget: int, *, depth: int = 0, forwards: bool = True
) -> list[tuple[str, str]]:
    """Render the readable text of ``part`` as (text, kind) chunks, up to ``budget`` chars.

    A forwarded message (``message/rfc822``, Outlook's "Forward as attachment") is rendered
    too, after a header block, unless ``forwards`` is off (a bounce returns our own mail).
    """
    if budget <= 0:
        return []
    if forwards and part.content_type in _FORWARDED_TYPES and depth < MAX_DEPTH:
        return _render_forwarded(part, ctx, budget, depth)
    if part.is_multipart:
        forwards = part.content_type != "multipart/report"
        if part.content_type == "multipart/alternative":
            # Plain text first, HTML next; a blank alternative (some senders put an empty
            # text/plain beside the real HTML) does not hide the others.
            for wanted in ("plain", "html"):
                for child in part.children:
                    if _body_kind(child) == wanted:
                        rendered = _render_body(child, ctx, budget, depth=depth)
                        if any(text.strip() for text, _ in rendered):
                            return rendered
            return []
        chunks: list[tuple[str, str]] = []
        for child in part.children:
            for chunk in _render_body(child, ctx, budget, depth=depth, forwards=forwards):
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


def _render_forwarded(part: _Part, ctx: _Context, budget: int, depth: int) -> list[tuple[str, str]]:
    """A forwarded message's From/Date/Subject/To and readable text."""
    fields, body_start = _scan_headers(part.body, ctx, strict=False)
    inner = _Part(headers=_decode_fields(fields, ctx), body=part.body[body_start:])
    _build_tree(inner, ctx, depth=depth + 1, default_type="text/plain")
    lines = ["---------- Forwarded message ----------"]
    for name in _FORWARDED_FIELDS:
        value = inner.get(name)
        if value is None:
            continue
        if name == "subject":
            text = _subject(value, ctx)
        else:
            text = _clean(_decode_words(value, f"'{name.title()}'", ctx), ctx, single_line=True)
        lines.append(f"{name.title()}: {text.strip()[:300]}")
    head = "\n".join(lines)
    chunks = _render_body(inner, ctx, budget - len(head), depth=depth + 1)
    kind = "html" if chunks and all(k == "html" for _, k in chunks) else "plain"
    return [(head, kind), *chunks]


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
