"""The top-level fields intake keeps: ids, subject, sender, Reply-To, date, auto-replies."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.headerregistry import AddressHeader
from email.utils import parsedate_to_datetime

from opsconsole.adapters.mime.charsets import _superset_label, _text_codec
from opsconsole.adapters.mime.limits import (
    _MAX_ADDRESS_CHARS,
    _MAX_ENCODED_WORDS,
    _MAX_NAME_CHARS,
    _MAX_REFERENCES,
    _MAX_STRUCTURED_CHARS,
    _PART_HEADER_SECTION,
    MAX_HEADER_BYTES,
    MAX_SUBJECT_CHARS,
)
from opsconsole.adapters.mime.model import _HEADER_FACTORY, _clean, _Context, _Part
from opsconsole.adapters.mime.tree import _leaves, _payload

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?[bBqQ]\?[^?\s]*\?=")
_MSG_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f-\x9f]{1,500})>")
_BARE_MSG_ID = re.compile(r"[^<>\s\x00-\x1f\x7f-\x9f]{1,500}@[^<>\s\x00-\x1f\x7f-\x9f]{1,255}")
_ANGLE_ADDR = re.compile(r"<([^<>\s@]{1,320}@[^<>\s@]{1,255})>")
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
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
_DAEMON_SENDERS = frozenset({"mailer-daemon", "postmaster"})


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
            _text_codec(charset)
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
