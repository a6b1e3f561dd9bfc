"""Move mail over the network: poll IMAP, send by SMTP, or drop replies into an outbox Maildir.

The stdlib clients (``imaplib``, ``smtplib``) are blocking, so every operation runs in a
worker thread through ``asyncio.to_thread`` and opens its own connection with a socket
timeout; nothing is shared between calls, so a hung server can only stall its own call.

Decisions worth knowing:

* **Errors are one line** (:class:`MailTransportError`): what failed, against which
  ``host:port``, and the server's sanitized answer. The password never appears: it is not
  formatted into any message, and is scrubbed from server text as a backstop.
* **No password over plain text**: a login without TLS is refused unless the host is a
  loopback address (tests, local relays).
* **IMAP** uses ``UID SEARCH UNSEEN``, then ``UID FETCH (RFC822.SIZE)`` to skip messages
  over the size cap before downloading anything, then ``UID FETCH (BODY.PEEK[])`` in batches
  so fetching never sets ``\\Seen``; :meth:`ImapPoller.mark_seen` does that once the caller
  has stored the messages. Skipped messages are reported in :attr:`ImapPoller.skipped`.
* **Outgoing headers are checked** for CR/LF before anything is sent or written (header
  injection, CVE-2024-6923 is only fixed in newer CPython releases).
* **Outgoing mail is 7-bit clean**: non-ASCII bodies are quoted-printable or base64 and an
  internationalized domain is written in IDNA, so no server needs 8BITMIME or SMTPUTF8.
* **IMAP folder names** are sent in modified UTF-7 ("Entwürfe" is ``Entw&APw-rfe``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import ipaddress
import logging
import mailbox
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from ssl import SSLContext
from typing import cast

from opsconsole.adapters.mail import MAX_MESSAGE_BYTES
from opsconsole.adapters.socket_deadline import Deadline
from opsconsole.core.text import sanitize_terminal

__all__ = [
    "ImapPoller",
    "ImapSettings",
    "MailRecipientError",
    "MailTransportError",
    "OutboxWriter",
    "SmtpSender",
    "SmtpSettings",
    "build_reply",
]

log = logging.getLogger(__name__)

_FETCH_BATCH = 20
MAX_POLL_BYTES = 64 * 1024 * 1024
"""Most message bytes one IMAP poll downloads (all are held in memory until stored)."""
_STORE_BATCH = 200
_MAX_ERROR_CHARS = 200
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_MODIFIED_UTF7 = re.compile(r"(?:[\x20-\x25\x27-\x7e]|&[A-Za-z0-9+,]*-)+")
_SEVEN_BIT = email_policy.default.clone(cte_type="7bit")


class MailTransportError(Exception):
    """A mail server could not be reached or refused the operation (one line, no secrets)."""


class MailRecipientError(MailTransportError):
    """The server works but refused the recipient(s) of this one message."""


@dataclass(frozen=True, kw_only=True)
class ImapSettings:
    """Where and how to poll an IMAP mailbox.

    Attributes:
        host: Server name or address.
        port: 993 for implicit TLS; 143 for STARTTLS or plain.
        user: Login name.
        password: Login password (from the environment; never shown in repr or errors).
        folder: Mailbox to poll.
        tls: Encrypt the connection (implicit TLS, or STARTTLS when ``starttls`` is set).
        starttls: Upgrade a plain connection with STARTTLS instead of implicit TLS.
        timeout: Socket timeout for every network operation (seconds).
        deadline: Seconds for a whole poll (connect, login, every command): a server that
            drips its answers slower than that is cut off.
        ssl_context: Trust store and TLS settings (default: the system's; tests pass their CA).
    """

    host: str
    port: int = 993
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    tls: bool = True
    starttls: bool = False
    timeout: float = 30
    deadline: float = 300
    ssl_context: SSLContext | None = field(default=None, repr=False, compare=False)


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


# -- IMAP -------------------------------------------------------------------------------------


class ImapPoller:
    """Fetches unseen messages from one IMAP folder without marking them seen.

    Args:
        settings: Server, credentials and folder.
        max_bytes: Messages larger than this (by ``RFC822.SIZE``) are not downloaded.
        max_poll_bytes: One fetch downloads at most this many bytes (at least one message).
    """

    def __init__(
        self,
        settings: ImapSettings,
        *,
        max_bytes: int = MAX_MESSAGE_BYTES,
        max_poll_bytes: int = MAX_POLL_BYTES,
    ) -> None:
        self._settings = settings
        self._max_bytes = max_bytes
        self._max_poll_bytes = max_poll_bytes
        self.skipped: list[tuple[str, str]] = []
        """``(uid, reason)`` of unseen messages the last fetch did not download."""
        self._uidvalidity: str | None = None
        """The folder's UIDVALIDITY when the UIDs were fetched (RFC 3501 §2.3.1.1)."""

    async def fetch_unseen(self, limit: int = 200) -> list[tuple[str, bytes]]:
        """Return ``(uid, raw message)`` for up to ``limit`` unseen messages, oldest first.

        At most ``max_poll_bytes`` of them (at least one message): a backlog of big mail
        is taken over several polls instead of all at once into memory.

        Messages over the size cap are left on the server unseen and listed in
        :attr:`skipped` with a reason; the caller may report them and :meth:`mark_seen` them.

        Raises:
            MailTransportError: Connection, TLS, login or protocol failure.
        """
        return await asyncio.to_thread(self._fetch_unseen, limit)

    async def mark_seen(self, uids: Sequence[str]) -> None:
        """Set ``\\Seen`` on the given UIDs.

        UIDs only name the same messages while the folder's UIDVALIDITY stays: when the
        folder was recreated since the fetch, nothing is marked (the new messages that now
        carry those UIDs stay unseen and are fetched next time; the old ones are duplicates).

        Raises:
            MailTransportError: Connection, TLS, login or protocol failure.
            ValueError: A UID is not a positive number.
        """
        clean = [str(uid).strip() for uid in uids]
        if any(not uid.isdigit() or uid.startswith("0") for uid in clean):
            raise ValueError("IMAP UIDs are positive numbers")
        if clean:
            await asyncio.to_thread(self._mark_seen, clean, self._uidvalidity)

    # -- blocking helpers (worker thread) ---------------------------------------------------

    def _fetch_unseen(self, limit: int) -> list[tuple[str, bytes]]:
        with self._session(readonly=True) as conn:
            self._uidvalidity = _uidvalidity(conn)
            data = _check(conn.uid("SEARCH", "UNSEEN"), "UID SEARCH")
            found = b" ".join(d for d in data if isinstance(d, bytes))
            uids = [u.decode("ascii") for u in found.split()][:limit]
            if not uids:
                self.skipped = []
                return []
            sizes: dict[str, int] = {}
            for batch in _batches(uids, _STORE_BATCH):
                for item in _check(
                    conn.uid("FETCH", ",".join(batch), "(RFC822.SIZE)"), "UID FETCH"
                ):
                    line = item[0] if isinstance(item, tuple) else item
                    if not isinstance(line, bytes):
                        continue
                    uid_match, size_match = _UID.search(line), _SIZE.search(line)
                    if uid_match and size_match:
                        sizes[uid_match.group(1).decode()] = int(size_match.group(1))
            skipped: list[tuple[str, str]] = []
            wanted: list[str] = []
            total = 0
            for uid in uids:
                size = sizes.get(uid)
                if size is None:
                    continue  # expunged meanwhile
                if size > self._max_bytes:
                    skipped.append((uid, f"message is {_mb(size)} (limit {_mb(self._max_bytes)})"))
                elif wanted and total + size > self._max_poll_bytes:
                    break  # held in memory at once: the rest waits for the next poll
                else:
                    wanted.append(uid)
                    total += size
            fetched: list[tuple[str, bytes]] = []
            for batch in _batches(wanted, _FETCH_BATCH):
                response = conn.uid("FETCH", ",".join(batch), "(UID BODY.PEEK[])")
                got = _parse_fetch(_check(response, "UID FETCH"))
                fetched.extend((uid, got[uid]) for uid in batch if uid in got)
            self.skipped = skipped
            return fetched

    def _mark_seen(self, uids: list[str], uidvalidity: str | None) -> None:
        with self._session(readonly=False) as conn:
            now = _uidvalidity(conn)
            if uidvalidity is not None and now is not None and now != uidvalidity:
                log.warning(
                    "IMAP folder %r was recreated (UIDVALIDITY %s, was %s): nothing marked seen",
                    self._settings.folder,
                    now,
                    uidvalidity,
                )
                return
            for batch in _batches(uids, _STORE_BATCH):
                response = conn.uid("STORE", ",".join(batch), "+FLAGS.SILENT", r"(\Seen)")
                _check(response, "UID STORE")

    @contextlib.contextmanager
    def _session(self, *, readonly: bool) -> Iterator[imaplib.IMAP4]:
        """Connect, log in and select the folder; always close the socket."""
        s = self._settings
        where = f"IMAP {s.host}:{s.port}"
        if not s.tls and not _is_loopback(s.host):
            raise MailTransportError(f"{where}: refusing to send the password without TLS")
        conn: imaplib.IMAP4 | None = None
        deadline = Deadline(s.deadline).start()
        try:
            context = _deadline_context(s.ssl_context, deadline)
            if s.tls and not s.starttls:
                conn = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
            else:
                conn = _WatchedIMAP4(deadline, s.host, s.port, s.timeout)
                if s.tls:
                    conn.starttls(ssl_context=context)
            conn.login(s.user, s.password)
            typ, data = conn.select(_quote_mailbox(s.folder), readonly=readonly)
            if typ != "OK":
                raise MailTransportError(
                    f"{where}: cannot open folder {s.folder!r}: {_server_text(data, s.password)}"
                )
            yield conn
        except MailTransportError:
            raise
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            if deadline.expired:
                raise MailTransportError(f"{where}: {_too_slow(s.deadline)}") from None
            if isinstance(exc, imaplib.IMAP4.error):
                raise MailTransportError(_imap_reason(where, exc, s.password)) from None
            raise MailTransportError(f"{where}: {_os_reason(exc)}") from None
        finally:
            if conn is not None:
                _close_imap(conn)
            deadline.cancel()


class _WatchedIMAP4(imaplib.IMAP4):
    """Plain IMAP4 whose socket a :class:`Deadline` can cut (it connects in the
    constructor). TLS sockets are watched by :class:`_DeadlineContext`."""

    def __init__(self, deadline: Deadline, host: str, port: int, timeout: float) -> None:
        self._deadline = deadline
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:  # private in imaplib
        sock: socket.socket = super()._create_socket(timeout)  # type: ignore[misc]
        return self._deadline.watch(sock)


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


def _close_imap(conn: imaplib.IMAP4) -> None:
    try:
        if conn.state == "SELECTED":
            conn.close()
        conn.logout()
    except Exception:
        with contextlib.suppress(Exception):
            conn.shutdown()


def _check(response: tuple[str, list[object]], what: str) -> list[object]:
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {_server_text(data, None)}")
    return data


def _uidvalidity(conn: imaplib.IMAP4) -> str | None:
    """The selected folder's UIDVALIDITY (from the SELECT/EXAMINE answer), if the server sent
    it."""
    _, data = conn.response("UIDVALIDITY")
    value = data[-1] if data else None
    return value.decode("ascii", "replace").strip() if isinstance(value, bytes) else None


def _parse_fetch(data: list[object]) -> dict[str, bytes]:
    """Map UID → literal from an ``imaplib`` FETCH response (UID may follow the literal)."""
    out: dict[str, bytes] = {}
    pending: bytes | None = None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            prefix, literal = item
            uid = _UID.search(prefix) if isinstance(prefix, bytes) else None
            if uid and isinstance(literal, bytes):
                out[uid.group(1).decode()] = literal
                pending = None
            elif isinstance(literal, bytes):
                pending = literal
        elif isinstance(item, bytes) and pending is not None:
            uid = _UID.search(item)
            if uid:
                out[uid.group(1).decode()] = pending
            pending = None
    return out


def _quote_mailbox(name: str) -> str:
    """The folder name as IMAP wants it: modified UTF-7 (RFC 3501 §5.1.3), quoted as needed."""
    encoded = _modified_utf7(name)
    if re.fullmatch(r"[A-Za-z0-9_./-]+", encoded):
        return encoded
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    """``Entwürfe`` → ``Entw&APw-rfe``; ``&`` → ``&-``; printable ASCII stays as it is.

    A name already written in modified UTF-7 (as a server lists it) is kept as it is.
    """
    if "&" in name and _MODIFIED_UTF7.fullmatch(name):
        return name
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).rstrip(b"=").decode().replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _imap_reason(where: str, exc: Exception, password: str | None) -> str:
    text = _server_text([exc.args[0] if exc.args else ""], password)
    if "AUTHENTICATIONFAILED" in text.upper() or "LOGIN" in text.upper():
        return f"{where}: login failed ({text})"
    return f"{where}: {text}"


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


# -- shared helpers ------------------------------------------------------------------------------


def _check_outgoing(message: EmailMessage) -> None:
    """Refuse messages whose decoded header values hold a line break (header injection)."""
    for name, value in message.items():
        if any(ch in str(value) for ch in "\r\n"):
            raise MailTransportError(f"refusing to send: header {name!r} contains a line break")


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


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
