"""The outbox of messages to deliver (Slack posts), shared safely by several consoles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opsconsole.adapters.sqlite.common import _epoch, _lastrowid, _opt_epoch
from opsconsole.adapters.sqlite.connection import SqliteBase
from opsconsole.core.redact import redact_text
from opsconsole.core.store import OutboundMessage, StoreError

_OUTBOX_COLUMNS = (
    "id, channel, payload, entry_id, attempts, created_at, next_attempt_at, last_error"
)
_URL_LIKE = re.compile(r"://|/services/|/webhooks?/|\bhooks\.", re.I)
"""What a webhook URL (never a channel name) contains."""


class OutboxMixin(SqliteBase):
    """The outbox methods of :class:`~opsconsole.core.store.IncidentStore`; durable writes."""

    async def enqueue_outbound(
        self, channel: str, payload: str, *, entry_id: int | None, at: datetime
    ) -> int:
        """Queue ``payload`` for ``channel``, due at ``at``; return the message id.

        ``channel`` is a destination *name* (``"slack"``): a value that looks like a URL
        is refused, so webhook URLs never land in the database.

        Raises:
            StoreError: for a URL-like or blank channel, an unknown ``entry_id``, or a
                failed write.
        """
        if not isinstance(channel, str) or not channel.strip() or _URL_LIKE.search(channel):
            raise StoreError("outbox channel must be a name such as 'slack', not a URL")
        if not isinstance(payload, str):
            raise StoreError(f"bad outbox payload: {type(payload).__name__}")
        when = _epoch(at)
        async with self._write(durable=True) as db:
            if entry_id is not None:
                rows = list(
                    await db.execute_fetchall(
                        "SELECT 1 FROM incident_timeline WHERE id = ?", (entry_id,)
                    )
                )
                if not rows:
                    raise StoreError(f"no timeline entry {entry_id}")
            async with db.execute(
                "INSERT INTO outbox (channel, payload, entry_id, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel, payload, entry_id, when, when),
            ) as cursor:
                return _lastrowid(cursor)

    async def pending_outbound(self, now: datetime) -> list[OutboundMessage]:
        """Return undelivered, not given-up messages with ``next_attempt_at <= now``,
        oldest (first queued) first."""
        rows = await self._fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox "
            "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id",
            (_epoch(now),),
        )
        return [_row_to_outbound(row) for row in rows]

    async def claim_outbound(self, message_id: int, *, now: datetime, until: datetime) -> bool:
        """Take a due, pending message for one attempt (see :class:`Store`): one UPDATE,
        so two consoles sharing the database never both post it."""
        async with self._write(durable=True) as db:
            cursor = await db.execute(
                "UPDATE outbox SET next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?",
                (_epoch(until), message_id, _epoch(now)),
            )
            return cursor.rowcount == 1

    async def mark_outbound(
        self,
        message_id: int,
        *,
        delivered: bool,
        error: str | None,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        """Record one delivery attempt of outbox message ``message_id`` (``attempts`` + 1).

        * ``delivered=True``: it leaves the queue (``error`` and ``next_attempt_at`` are
          ignored).
        * ``delivered=False`` with ``next_attempt_at``: ``error`` (redacted) becomes
          ``last_error`` and the message is due again then.
        * ``delivered=False`` without ``next_attempt_at``: given up (a permanent error);
          kept with its ``last_error`` but never pending again.

        A message already delivered stays delivered (two consoles may both have sent it).

        Raises:
            StoreError: when the message does not exist or the write fails.
        """
        when = _epoch(at)
        retry_at = _opt_epoch(next_attempt_at)
        reason = None if error is None else redact_text(error)
        async with self._write(durable=True) as db:
            rows = list(
                await db.execute_fetchall("SELECT state FROM outbox WHERE id = ?", (message_id,))
            )
            if not rows:
                raise StoreError(f"no outbox message {message_id}")
            if delivered:
                await db.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, "
                    "last_attempt_at = ?, delivered_at = coalesce(delivered_at, ?) "
                    "WHERE id = ?",
                    (when, when, message_id),
                )
            elif rows[0][0] == "delivered":
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?",
                    (when, message_id),
                )
            else:
                await db.execute(
                    "UPDATE outbox SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
                    "last_error = ?, next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                    (
                        "pending" if retry_at is not None else "failed",
                        when,
                        reason,
                        retry_at,
                        message_id,
                    ),
                )


def _row_to_outbound(row: Sequence[Any]) -> OutboundMessage:
    message_id, channel, payload, entry_id, attempts, created_at, next_attempt_at, error = row
    return OutboundMessage(
        id=int(message_id),
        channel=channel,
        payload=payload,
        entry_id=None if entry_id is None else int(entry_id),
        attempts=int(attempts),
        created_at=datetime.fromtimestamp(created_at, UTC),
        next_attempt_at=datetime.fromtimestamp(next_attempt_at, UTC),
        last_error=error,
    )
