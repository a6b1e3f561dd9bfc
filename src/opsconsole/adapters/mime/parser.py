"""``parse_message``: one raw message in, one sanitized :class:`ParsedMail` out."""

from __future__ import annotations

from opsconsole.adapters.mime.body import _attachments, _body_text
from opsconsole.adapters.mime.fields import (
    _BARE_MSG_ID,
    _MAILBOX,
    _bounced_message_id,
    _date,
    _is_auto_submitted,
    _message_id,
    _msg_ids,
    _references,
    _reply_to,
    _sender,
    _subject,
)
from opsconsole.adapters.mime.headers import _decode_fields, _scan_headers
from opsconsole.adapters.mime.limits import _MAX_DEFECTS, MAX_MESSAGE_BYTES, _fmt_size
from opsconsole.adapters.mime.model import MailRejected, ParsedMail, _clean, _Context, _Part
from opsconsole.adapters.mime.tree import _build_tree
from opsconsole.core.text import sanitize_terminal


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


def _parse(raw: bytes) -> ParsedMail:
    size = len(raw)
    ctx = _Context()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        ctx.note("byte-order mark before the headers removed")
    fields, body_start = _scan_headers(raw, ctx, strict=True)
    top = _Part(headers=_decode_fields(fields, ctx), body=raw[body_start:])
    _build_tree(top, ctx, depth=0, default_type="text/plain")

    message_id = _message_id(top.get("message-id"), top, raw[body_start:], ctx)
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
    auto = _is_auto_submitted(top, sender, subject)
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
