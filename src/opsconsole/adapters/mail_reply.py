"""Build the plain-text replies that :mod:`opsconsole.adapters.mail_transport` sends."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

__all__ = ["build_reply"]

_MSG_ID = re.compile(r"<[^<>\s]+>")
_SEVEN_BIT = email_policy.default.clone(cte_type="7bit")


# -- building replies ---------------------------------------------------------------------------


def build_reply(
    *,
    from_address: str,
    to_name: str,
    to_address: str,
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str],
    message_id_domain: str,
    auto: bool = False,
    now: datetime | None = None,
) -> EmailMessage:
    """Build a plain-text reply that threads under the customer's message.

    ``Subject`` is cut to its first line and gets ``Re: `` when answering a message and
    not already there. ``References`` is ``references`` followed by ``in_reply_to`` (when
    not already last), as RFC 5322 §3.6.4 describes.

    Args:
        from_address: The support address (``From``).
        to_name: The customer's display name (quoted as needed; may be empty).
        to_address: The customer's addr-spec.
        subject: The subject; only its first line is used.
        body: The text body (UTF-8).
        in_reply_to: The Message-ID being answered, or None for a fresh message.
        references: The answered message's own References.
        message_id_domain: Right-hand side of the generated Message-ID.
        auto: Mark as ``Auto-Submitted: auto-replied`` (RFC 3834; the §3.1 acknowledgement).
        now: The ``Date`` (default: the current time, UTC).

    Raises:
        ValueError: A header value contains CR, LF or NUL, or an address/id is malformed.
    """
    for label, value in (
        ("from_address", from_address),
        ("to_name", to_name),
        ("to_address", to_address),
        ("in_reply_to", in_reply_to or ""),
        ("message_id_domain", message_id_domain),
        *(("references", r) for r in references),
    ):
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError(f"{label} contains a line break or NUL")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", message_id_domain):
        raise ValueError("message_id_domain must be a host name")
    thread = [r.strip() for r in references]
    if in_reply_to and (not thread or thread[-1] != in_reply_to.strip()):
        thread.append(in_reply_to.strip())
    for msg_id in thread:
        if not _MSG_ID.fullmatch(msg_id):
            raise ValueError("message ids must look like <id@domain>")
    line = (subject.splitlines() or [""])[0].replace("\x00", "").strip()
    if in_reply_to and not line.lower().startswith("re:"):
        line = f"Re: {line}"
    recipient = _recipient(to_name, to_address)

    message = EmailMessage(policy=_SEVEN_BIT)
    message["From"] = from_address
    message["To"] = recipient
    message["Subject"] = line
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = make_msgid(domain=message_id_domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to.strip()
    if thread:
        message["References"] = " ".join(thread)
    if auto:
        message["Auto-Submitted"] = "auto-replied"
    # 7-bit clean: non-ASCII text goes out quoted-printable or base64 (whichever is
    # shorter), so no 8BITMIME is needed (smtplib never declares BODY=8BITMIME anyway).
    message.set_content(body.replace("\x00", ""))
    return message


def _recipient(name: str, address: str) -> Address:
    """The ``To`` address; an internationalized domain is written in its ASCII (IDNA) form.

    Raises:
        ValueError: One line, when the address is missing or cannot be written to.
    """
    spec = address.strip()
    local, at, domain = spec.rpartition("@")
    if not at or not local or not domain:
        shown = f" {spec[:80]!r}" if spec else ""
        raise ValueError(f"no valid address to send to{shown} (the sender's address is unreadable)")
    if not local.isascii():
        raise ValueError(
            f"cannot send to {spec[:80]!r}: a non-ASCII mailbox name needs SMTPUTF8 (not supported)"
        )
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"cannot send to {spec[:80]!r}: invalid domain name") from None
    try:
        return Address(display_name=name, addr_spec=f"{local}@{domain}")
    except Exception:  # HeaderParseError, IndexError: the stdlib's errors for bad addresses
        raise ValueError(f"cannot send to {spec[:80]!r}: not a valid email address") from None
