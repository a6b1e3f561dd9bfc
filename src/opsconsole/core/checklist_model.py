"""The data of guide §9's checklists: cadences, statuses, items, facts and results.

Frozen dataclasses and enums shared by :mod:`opsconsole.core.checklists` (item lists,
evaluation, due dates) and :mod:`opsconsole.core.checklist_checks` (the automatic
checks), kept apart so neither has to import the other's internals. Pure data: no
clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from types import MappingProxyType

from opsconsole.core.models import ProbeState
from opsconsole.core.sources import (
    AlertsSnapshot,
    MetricsSnapshot,
    SentrySnapshot,
    StatusPageSnapshot,
)

__all__ = [
    "Cadence",
    "ChecklistItem",
    "Facts",
    "ItemResult",
    "ItemStatus",
]


class Cadence(StrEnum):
    """How often an item comes round."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ItemStatus(StrEnum):
    """Where an item stands.

    PASS/FAIL/UNKNOWN are verdicts of the console on automatic items; MANUAL is an item
    waiting for the operator, who turns it into DONE or SKIPPED.
    """

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    MANUAL = "manual"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One line of a checklist.

    Attributes:
        key: Stable identifier (see :func:`~opsconsole.core.checklists.item_key`), unique
            across all cadences.
        text: What the operator reads, verbatim from the guide or ``checks.yaml``.
        cadence: Daily, weekly or monthly.
        auto: The automatic check (one of
            :data:`~opsconsole.core.checklist_checks.AUTO_KEYS` or ``probe:<name>``), or
            None for an item only the operator can tick.
    """

    key: str
    text: str
    cadence: Cadence
    auto: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the console knows now; None means the source is not configured.

    Attributes:
        now: The moment of evaluation (aware).
        since: The previous shift's start: "overnight" for Sentry and alerts (aware).
        probes: ``(name, state, detail)`` of every probe; ``detail`` is e.g. ``120 ms``
            or the failure reason.
        statuspage: The status page summary.
        sentry: Sentry counts; its ``new_since_shift`` should count from ``since``.
        metrics: Every configured metric query.
        alerts: Firing alerts and what fired since ``since``.
        critical_tickets_waiting: Open critical tickets not yet answered.
        stale_tickets: Open tickets with no activity for more than 7 days.
        sla_summary: One line from the reports code, e.g.
            ``response SLA met 94% (3 breaches)``.
        errors: Source → reason its last poll failed; the items reading that source are
            UNKNOWN with that reason, even when older data is present. Sources:
            ``statuspage``, ``sentry``, ``metrics``, ``alerts``, ``tickets``, ``sla``,
            ``probes`` (see :data:`~opsconsole.core.checklist_checks.AUTO_SOURCES`); an
            auto key (``probe:API health``) also works.
        tz: Zone for the times quoted in evidence ("2 new since 09:00").
    """

    now: datetime
    since: datetime
    probes: tuple[tuple[str, ProbeState, str], ...] | None = None
    statuspage: StatusPageSnapshot | None = None
    sentry: SentrySnapshot | None = None
    metrics: MetricsSnapshot | None = None
    alerts: AlertsSnapshot | None = None
    critical_tickets_waiting: int | None = None
    stale_tickets: int | None = None
    sla_summary: str | None = None
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tz: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class ItemResult:
    """An item's state in one checklist run.

    Attributes:
        key: The item's key.
        text: The item's text.
        cadence: The item's cadence.
        status: The verdict (automatic items) or the operator's tick (manual ones).
        evidence: One line saying why, e.g. ``API health: up, 120 ms`` (terminal-safe).
        overdue: The item was due on an earlier day and is still not done.
        note: What the operator added when ticking it.
    """

    key: str
    text: str
    cadence: Cadence
    status: ItemStatus
    evidence: str
    overdue: bool = False
    note: str = ""
