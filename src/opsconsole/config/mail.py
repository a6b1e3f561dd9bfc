"""Schema of the ``email:`` key of ``checks.yaml``: ticket intake and outgoing mail.

Intake from a Maildir or an IMAP mailbox, replies through SMTP or, without it, into a
local outbox, and the escalation addresses of guide §5. Addresses are checked when the
config is loaded; passwords are ``SecretStr``: their ``repr`` never shows the value.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from opsconsole.config.fields import Address, UserPath
from opsconsole.config.types import Duration, FieldError
from opsconsole.core.durations import format_duration

__all__ = [
    "EmailConfig",
    "EscalationAddresses",
    "ImapConfig",
    "SmtpConfig",
    "default_outbox",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)


# -- email --------------------------------------------------------------------------------------


class ImapConfig(BaseModel):
    """``email.imap:`` — a mailbox polled for new tickets.

    Keys:
        host: server name (required).
        port: default 993 (IMAP over TLS).
        user: login (required).
        password: a ``${ENV_VAR}`` reference (required).
        folder: mailbox to read (default ``INBOX``).
        tls: connect with TLS (default true).
        timeout: socket timeout for each network read or write (default 30s).
        deadline: the longest one whole poll may take, login and fetches included
            (default 5m); must be longer than ``timeout``.
    """

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    user: str = Field(min_length=1)
    password: SecretStr
    folder: str = Field(default="INBOX", min_length=1)
    tls: bool = True
    timeout: Duration = timedelta(seconds=30)
    deadline: Duration = timedelta(minutes=5)

    @model_validator(mode="after")
    def _timeout_below_deadline(self) -> ImapConfig:
        _check_timeout_below_deadline(self.timeout, self.deadline)
        return self


def _check_timeout_below_deadline(timeout: timedelta, deadline: timedelta) -> None:
    if timeout >= deadline:
        raise FieldError(
            ("timeout",), f"must be shorter than deadline ({format_duration(deadline)})"
        )


class SmtpConfig(BaseModel):
    """``email.smtp:`` — sending replies, auto-replies and escalations.

    Keys:
        host: server name (required).
        port: default 587 (submission with STARTTLS); use 465 with ``ssl: true``.
        user: login; omit for an unauthenticated relay.
        password: a ``${ENV_VAR}`` reference; required with ``user``.
        starttls: upgrade the connection with STARTTLS (default true).
        ssl: connect with implicit TLS (default false); not together with ``starttls``.
        from_address: the From of sent mail (default ``email.support_address``).
        timeout: socket timeout for each network read or write (default 30s).
        deadline: the longest sending one message may take, connect to QUIT (default
            2m); must be longer than ``timeout``.
    """

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    ssl: bool = False
    from_address: Address | None = None
    timeout: Duration = timedelta(seconds=30)
    deadline: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _consistent(self) -> SmtpConfig:
        _check_timeout_below_deadline(self.timeout, self.deadline)
        if self.ssl and self.starttls:
            raise FieldError(
                ("starttls",), "set starttls: false with ssl: true (implicit TLS, port 465)"
            )
        if self.user is not None and self.password is None:
            raise FieldError(("password",), "required with user (use ${SMTP_PASSWORD})")
        if self.password is not None and self.user is None:
            raise FieldError(("user",), "required with password")
        return self


class EscalationAddresses(BaseModel):
    """``email.escalation:`` — where escalations are mailed (guide §5).

    Keys:
        L2: the engineering team's address.
        L3: the on-call address.
    """

    model_config = _FROZEN

    L2: Address | None = None
    L3: Address | None = None


def default_outbox() -> Path:
    """``$XDG_DATA_HOME/opsconsole/outbox`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "opsconsole" / "outbox"


class EmailConfig(BaseModel):
    """``email:`` — ticket intake and outgoing mail; omit the key to run without email.

    Keys:
        maildir: a Maildir polled for new tickets.
        imap: an IMAP mailbox polled for new tickets (:class:`ImapConfig`).
        smtp: the server replies go through (:class:`SmtpConfig`); without it replies are
            written to ``outbox``.
        outbox: Maildir for unsent replies (default ``$XDG_DATA_HOME/opsconsole/outbox``).
        poll_interval: how often mailboxes are polled (default 30s).
        max_message_bytes: larger messages are rejected before parsing (default 25 MiB).
        escalation: ``{L2: address, L3: address}``.
        support_address: the support inbox (default ``support@company.com``); mail from it
            never becomes a ticket.
    """

    model_config = _FROZEN

    maildir: UserPath | None = None
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    outbox: UserPath = Field(default_factory=default_outbox)
    poll_interval: Duration = timedelta(seconds=30)
    max_message_bytes: int = Field(default=26_214_400, ge=1024)
    escalation: EscalationAddresses = Field(default_factory=EscalationAddresses)
    support_address: Address = "support@company.com"

    @property
    def from_address(self) -> str:
        """The From of sent mail: ``smtp.from_address``, else the support address."""
        if self.smtp is not None and self.smtp.from_address is not None:
            return self.smtp.from_address
        return self.support_address
