"""Poll an IMAP folder for unseen messages (see :mod:`opsconsole.adapters.mail_transport`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ssl import SSLContext

from opsconsole.adapters.mail import MAX_MESSAGE_BYTES
from opsconsole.adapters.mail_net import (
    MailTransportError,
    _deadline_context,
    _is_loopback,
    _os_reason,
    _server_text,
    _too_slow,
)
from opsconsole.adapters.socket_deadline import Deadline

__all__ = ["MAX_POLL_BYTES", "ImapPoller", "ImapSettings"]

# The logger keeps the name it had before IMAP moved out of mail_transport.
log = logging.getLogger("opsconsole.adapters.mail_transport")

_FETCH_BATCH = 20
MAX_POLL_BYTES = 64 * 1024 * 1024
"""Most message bytes one IMAP poll downloads (all are held in memory until stored)."""
_STORE_BATCH = 200
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MODIFIED_UTF7 = re.compile(r"(?:[\x20-\x25\x27-\x7e]|&[A-Za-z0-9+,]*-)+")


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


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
