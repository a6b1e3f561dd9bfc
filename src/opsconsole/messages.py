"""Messages that carry frozen results from the engine to the panes."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from opsconsole.core.sources import SourceStatus
from opsconsole.engine import ProbeStatus


@dataclass
class ProbeUpdated(Message):
    """A probe finished a run (or its uptime was recomputed)."""

    status: ProbeStatus

    def can_replace(self, message: Message) -> bool:
        """A newer update for the same probe supersedes an unprocessed older one."""
        return isinstance(message, ProbeUpdated) and message.status.name == self.status.name


@dataclass
class SourceUpdated(Message):
    """A source (Sentry, metrics, alerts, status page) finished a poll."""

    status: SourceStatus

    def can_replace(self, message: Message) -> bool:
        """Only the newest status of a source matters."""
        return isinstance(message, SourceUpdated) and message.status.source == self.status.source
