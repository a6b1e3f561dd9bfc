"""Shared by the IMAP and SMTP clients of :mod:`opsconsole.adapters.mail_transport`.

The one-line errors (:class:`MailTransportError`), the TLS wrapper that puts the handshake
under the :class:`Deadline`, and the sanitizing of server text and socket errors.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Sequence
from ssl import SSLContext
from typing import cast

from opsconsole.adapters.socket_deadline import Deadline
from opsconsole.core.text import sanitize_terminal

__all__ = ["MailRecipientError", "MailTransportError"]

_MAX_ERROR_CHARS = 200


class MailTransportError(Exception):
    """A mail server could not be reached or refused the operation (one line, no secrets)."""


class MailRecipientError(MailTransportError):
    """The server works but refused the recipient(s) of this one message."""


class _DeadlineContext:
    """An SSLContext stand-in for imaplib and smtplib (they only call ``wrap_socket``):
    the TLS socket is put under the deadline before its handshake, so a server dripping its
    certificate is cut off too (implicit TLS and STARTTLS alike)."""

    def __init__(self, context: SSLContext, deadline: Deadline) -> None:
        self._context = context
        self._deadline = deadline

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> ssl.SSLSocket:
        wrapped = self._context.wrap_socket(
            sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        self._deadline.watch(wrapped)
        try:
            wrapped.do_handshake()
        except BaseException:
            wrapped.close()  # as wrap_socket does: the caller never gets it to close
            raise
        return wrapped


def _deadline_context(context: SSLContext | None, deadline: Deadline) -> SSLContext:
    """The TLS settings to hand to imaplib/smtplib, with the deadline watching the socket."""
    real = context or ssl.create_default_context()
    return cast(SSLContext, _DeadlineContext(real, deadline))  # they only call wrap_socket


def _too_slow(seconds: float) -> str:
    return f"no complete answer within {seconds:g}s (the server is too slow); gave up"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_text(data: Sequence[object], password: str | None) -> str:
    """One sanitized line of server text, with the password scrubbed as a backstop."""
    parts = []
    for item in data:
        if isinstance(item, tuple):
            item = item[0]
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if item:
            parts.append(str(item))
    text = " ".join(parts)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]  # imaplib formats server answers as bytes reprs
    if password:
        text = text.replace(password, "***")
    return sanitize_terminal(text, single_line=True, limit=_MAX_ERROR_CHARS).strip()


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, EOFError):
        return "connection closed by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
