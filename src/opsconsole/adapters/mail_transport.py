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

The code lives in sibling modules, re-exported here: :mod:`~opsconsole.adapters.imap_fetch`
(polling), :mod:`~opsconsole.adapters.smtp_send` (SMTP and the outbox),
:mod:`~opsconsole.adapters.mail_reply` (building replies) and
:mod:`~opsconsole.adapters.mail_net` (errors, TLS deadline, server-text sanitizing).
"""

from __future__ import annotations

from opsconsole.adapters.imap_fetch import MAX_POLL_BYTES as MAX_POLL_BYTES
from opsconsole.adapters.imap_fetch import ImapPoller, ImapSettings
from opsconsole.adapters.mail_net import MailRecipientError, MailTransportError
from opsconsole.adapters.mail_reply import build_reply
from opsconsole.adapters.smtp_send import OutboxWriter, SmtpSender, SmtpSettings

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
