"""Send outgoing mail by SMTP, or write it into an outbox Maildir (see
:mod:`opsconsole.adapters.mail_transport`)."""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import smtplib
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from ssl import SSLContext

from opsconsole.adapters.mail_net import (
    _MAX_ERROR_CHARS,
    MailRecipientError,
    MailTransportError,
    _deadline_context,
    _is_loopback,
    _os_reason,
    _server_text,
    _too_slow,
)
from opsconsole.adapters.socket_deadline import Deadline
from opsconsole.core.text import sanitize_terminal

__all__ = ["OutboxWriter", "SmtpSender", "SmtpSettings"]


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Where and how to send mail.

    Attributes:
        host: Server name or address.
        port: 587 for STARTTLS, 465 for implicit TLS (``ssl``), 25 for plain relays.
        user: Login name, or None to send without AUTH.
        password: Login password (never shown in repr or errors).
        starttls: Require STARTTLS (the server must offer it; no silent downgrade).
        ssl: Implicit TLS from the first byte (port 465); overrides ``starttls``.
        from_address: Envelope sender.
        timeout: Socket timeout for every network operation (seconds).
        deadline: Seconds for sending one message, from connecting to QUIT: a server that
            drips its answers slower than that is cut off.
        ssl_context: Trust store and TLS settings (default: the system's; tests pass their CA).
    """

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    ssl: bool = False
    from_address: str
    timeout: float = 30
    deadline: float = 120
    ssl_context: SSLContext | None = field(default=None, repr=False, compare=False)


# -- SMTP -------------------------------------------------------------------------------------


class SmtpSender:
    """Sends messages through one SMTP server, a fresh connection per message.

    Args:
        settings: Server, TLS mode, credentials and envelope sender.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its To/Cc/Bcc recipients.

        Raises:
            MailTransportError: A header holds a line break, the connection, TLS or login
                failed, or the server refused the sender or every recipient.
        """
        _check_outgoing(message)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        where = f"SMTP {s.host}:{s.port}"
        encrypted = s.ssl or s.starttls
        if s.user and not encrypted and not _is_loopback(s.host):
            raise MailTransportError(f"{where}: refusing to send the password without TLS")
        client: smtplib.SMTP | None = None
        deadline = Deadline(s.deadline).start()
        try:
            context = _deadline_context(s.ssl_context, deadline)
            if s.ssl:
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                client = _WatchedSMTP(deadline, s.host, timeout=s.timeout)
                code, greeting = client.connect(s.host, s.port)
                if code != 220:  # what SMTP(host, port) checks when it connects itself
                    raise smtplib.SMTPConnectError(code, greeting)
            client.ehlo()
            if s.starttls and not s.ssl:
                client.starttls(context=context)
                client.ehlo()
            if s.user:
                client.login(s.user, s.password or "")
            refused = client.send_message(message, from_addr=s.from_address)
            if refused:
                rejected = _refusals(refused, s.password)
                raise MailRecipientError(f"{where}: some recipients were refused: {rejected}")
        except MailTransportError:
            raise
        except (smtplib.SMTPException, OSError, EOFError) as exc:
            reason = _too_slow(s.deadline) if deadline.expired else _smtp_reason(exc, s.password)
            if isinstance(exc, smtplib.SMTPRecipientsRefused) and not deadline.expired:
                codes = {a[0] for a in exc.recipients.values() if isinstance(a, tuple)}
                if not codes & {421}:  # 421: the server is closing, not judging the address
                    raise MailRecipientError(f"{where}: {reason}") from None
            raise MailTransportError(f"{where}: {reason}") from None
        finally:
            if client is not None:
                try:
                    client.quit()
                except Exception:
                    with contextlib.suppress(Exception):
                        client.close()
            deadline.cancel()


class _WatchedSMTP(smtplib.SMTP):
    """Plain SMTP whose socket a :class:`Deadline` can cut. Not connected by the
    constructor (the greeting must already be under the deadline): call :meth:`connect`.
    TLS sockets are watched by :class:`_DeadlineContext`."""

    def __init__(self, deadline: Deadline, host: str, *, timeout: float) -> None:
        self._deadline = deadline
        super().__init__(timeout=timeout)
        self._host = host  # TLS's server_hostname; only SMTP(host) sets it, not connect()

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # private
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        return self._deadline.watch(sock)


def _smtp_reason(exc: BaseException, password: str | None) -> str:
    """One line for a failed SMTP conversation (the server's text scrubbed of the password)."""
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        text = str(exc)
        if "STARTTLS" in text:
            return "the server does not offer STARTTLS"
        if "AUTH" in text:
            return "the server does not offer AUTH (cannot log in)"
        if "SMTPUTF8" in text:
            return "an address needs SMTPUTF8, which the server does not offer"
        return _server_text([text], password) or "the server does not support the request"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login failed ({exc.smtp_code} {_server_text([exc.smtp_error], password)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = _server_text([exc.smtp_error], password)
        if exc.smtp_code == -1:  # smtplib's code for a reply without a number
            return f"the answer is not SMTP: {text}"
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"every recipient was refused: {_refusals(exc.recipients, password)}"
    if isinstance(exc, smtplib.SMTPException):
        return _server_text([str(exc)], password) or type(exc).__name__
    return _os_reason(exc)


def _refusals(refused: dict[str, tuple[int, bytes]], password: str | None) -> str:
    """``kim@x.io (550 5.1.1 no such user)``: who was refused and what the server said
    (a 421 "try again later" is not a bad address)."""
    parts = []
    for address in sorted(refused)[:3]:
        answer = refused[address]
        code, text = answer if isinstance(answer, tuple) and len(answer) == 2 else (0, b"")
        said = _server_text([text], password)
        parts.append(f"{address} ({code} {said})" if code else address)
    more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
    return sanitize_terminal(", ".join(parts), single_line=True, limit=_MAX_ERROR_CHARS) + more


# -- outbox -----------------------------------------------------------------------------------


class OutboxWriter:
    """Writes outgoing messages into a Maildir instead of sending them (no SMTP configured).

    Args:
        path: The Maildir; created (with ``cur``/``new``/``tmp``) when missing.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    async def send(self, message: EmailMessage) -> Path:
        """Write ``message`` into ``new/`` and return the file's path.

        Raises:
            MailTransportError: A header holds a line break, or the Maildir cannot be written.
        """
        _check_outgoing(message)
        return await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> Path:
        try:
            # Maildir(create=True) makes only the last directory: the default outbox's
            # parents ($XDG_DATA_HOME/opsconsole) may not exist yet on a fresh machine.
            self._path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(self._path, factory=None, create=True)
            key = box.add(message)
        except (OSError, mailbox.Error) as exc:
            raise MailTransportError(f"outbox {self._path}: {_os_reason(exc)}") from None
        return self._path / "new" / key


# -- shared helpers ------------------------------------------------------------------------------


def _check_outgoing(message: EmailMessage) -> None:
    """Refuse messages whose decoded header values hold a line break (header injection)."""
    for name, value in message.items():
        if any(ch in str(value) for ch in "\r\n"):
            raise MailTransportError(f"refusing to send: header {name!r} contains a line break")
