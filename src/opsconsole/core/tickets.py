"""Support tickets: the frozen domain objects of the queue (guide §1.1, §2, §3, §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    """Guide §3.2."""

    BUG = "bug"
    FEATURE = "feature"
    QUESTION = "question"
    BILLING = "billing"
    FEEDBACK = "feedback"


class Severity(StrEnum):
    """Guide §2 / §3.3, most urgent first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Status(StrEnum):
    """Lifecycle of a ticket."""

    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})


class Level(StrEnum):
    """Escalation level (guide §5)."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class Direction(StrEnum):
    """Who wrote a thread message."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Requester:
    """The customer who wrote in."""

    name: str
    address: str
    company: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment's metadata (the content is not stored)."""

    name: str
    size: int
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message in a ticket's thread."""

    direction: Direction
    at: datetime
    author: str
    body: str
    subject: str = ""
    message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded change: who, when, what, from what, to what."""

    at: datetime
    actor: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Ticket:
    """A support ticket. ``number`` starts at 101 (guide: "#101…")."""

    number: int
    subject: str
    requester: Requester
    received_at: datetime
    category: Category
    severity: Severity
    status: Status = Status.NEW
    assignee: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    level: Level = Level.L1
    tags: tuple[str, ...] = ()
    triage_rule: str = ""
    runbook: str | None = None
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()
    """SLA pause intervals (pending on the customer); an open pause ends with None."""
    next_due: datetime | None = None
    """The earliest unmet SLA deadline, stored for sorting (None: none, or paused)."""
    defects: tuple[str, ...] = ()
    thread: tuple[ThreadMessage, ...] = field(default=(), compare=False)
    audit: tuple[AuditEntry, ...] = field(default=(), compare=False)

    @property
    def is_open(self) -> bool:
        """False once resolved or closed."""
        return self.status not in CLOSED_STATUSES
