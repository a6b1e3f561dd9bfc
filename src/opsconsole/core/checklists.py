"""Checklists of guide §9: what to check each shift, each week and each month.

Most daily items are things the console already knows (status page, Sentry, metrics,
alerts, tickets, probes), so :func:`evaluate` ticks them itself from a :class:`Facts`
snapshot, each with its evidence; only the human judgement is left to the operator.
:func:`due_items` decides which weekly and monthly items are due today and which are
overdue. Everything here is a pure function of its arguments: no clock, no I/O.

This module holds the guide's item lists, evaluation and due dates. The dataclasses and
enums live in :mod:`opsconsole.core.checklist_model` and the automatic checks (with
their keys and thresholds) in :mod:`opsconsole.core.checklist_checks`; both are
re-exported here, so ``from opsconsole.core.checklists import ...`` keeps working.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta

from opsconsole.core.checklist_checks import (
    AUTO_KEYS,
    AUTO_SOURCES,
    PROBE_PREFIX,
    QUIET_SEVERITIES,
    STALE_TICKET_DAYS,
    TREND_RISE,
    _check,
)
from opsconsole.core.checklist_model import (
    Cadence,
    ChecklistItem,
    Facts,
    ItemResult,
    ItemStatus,
)
from opsconsole.core.text import sanitize_terminal

__all__ = [
    "AUTO_KEYS",
    "AUTO_SOURCES",
    "DAILY_ITEMS",
    "MONTHLY_ITEMS",
    "PROBE_PREFIX",
    "QUIET_SEVERITIES",
    "STALE_TICKET_DAYS",
    "TREND_RISE",
    "WEEKLY_ITEMS",
    "Cadence",
    "ChecklistItem",
    "Facts",
    "ItemResult",
    "ItemStatus",
    "check_auto_key",
    "checklist_exit_code",
    "due_items",
    "evaluate",
    "evaluate_due",
    "item_key",
    "todays_items",
]


_EVIDENCE_LIMIT = 240
_SLUG_CUT = re.compile(r"[(:]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def item_key(text: str) -> str:
    """The stable key of an item: its text up to ``(`` or ``:``, slugged.

    ``"Check status page (any open incidents)"`` → ``"check-status-page"``. Stored runs
    and :func:`due_items` refer to items by this key, so editing the parenthesised hint
    of an item in ``checks.yaml`` keeps its history. Empty when the text has no letters
    or digits before the cut.
    """
    head = _SLUG_CUT.split(text, maxsplit=1)[0]
    return _NON_WORD.sub("-", head.casefold()).strip("-")[:60].strip("-")


def check_auto_key(auto: str) -> str:
    """Validate an ``auto`` key and return it normalised (``probe:`` name stripped).

    Raises:
        ValueError: with a human message (and a did-you-mean hint) for an unknown key.
    """
    text = auto.strip()
    if text.casefold().startswith(PROBE_PREFIX):
        name = text[len(PROBE_PREFIX) :].strip()
        if not name:
            raise ValueError("'probe:' needs a probe name, e.g. 'probe:API health'")
        return PROBE_PREFIX + name
    if text in AUTO_KEYS:
        return text
    known = [*AUTO_KEYS, "probe:<name>"]
    close = difflib.get_close_matches(text.casefold(), known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown check {auto!r}{hint}; expected one of: {', '.join(known)}")


def _items(cadence: Cadence, *lines: tuple[str, str | None]) -> tuple[ChecklistItem, ...]:
    return tuple(ChecklistItem(item_key(text), text, cadence, auto) for text, auto in lines)


DAILY_ITEMS = _items(
    Cadence.DAILY,
    ("Check status page (any open incidents)", "statuspage"),
    ("Review Sentry (new error counts)", "sentry"),
    ("Check Grafana dashboard (metrics normal?)", "metrics"),
    ("Review Slack #alerts channel (any alerts overnight?)", "alerts"),
    ("Skim support email (new critical issues?)", "tickets"),
    ("Verify API health: curl https://api.domain.com/health", "probe:API health"),
    ("Verify dashboard: open https://dashboard.domain.com", "probe:Dashboard"),
)
"""Guide §9 "Daily Checklist (Start of shift)", every item verified by the console."""

WEEKLY_ITEMS = _items(
    Cadence.WEEKLY,
    ("Review all open support tickets (any stale?)", "stale_tickets"),
    ("Check backup status (Neon snapshots created)", None),
    ("Review metrics trends (any degradation?)", "metric_trends"),
    ("Check security alerts (anything suspicious?)", None),
    ("Prepare incident summary (if any occurred)", None),
    ("Schedule on-call for next week", None),
)
"""Guide §9 "Weekly Checklist (Friday before EOD)"; the backup check is a reminder."""

MONTHLY_ITEMS = _items(
    Cadence.MONTHLY,
    ("Security audit (pip-audit, npm audit)", None),
    ("Dependency updates available (check for patches)", None),
    ("Database size check (growing too fast?)", None),
    ("Backup test (restore to test DB and verify)", None),
    ("SLA review (how many 99.5% uptime incidents?)", "sla_review"),
    ("Customer satisfaction check-in (brief surveys)", None),
    ("Runbook update (any new procedures?)", None),
)
"""Guide §9 "Monthly Checklist"; the SLA review comes with the month's SLA summary."""


# -- evaluation --------------------------------------------------------------------------------


def evaluate(item: ChecklistItem, facts: Facts) -> ItemResult:
    """The state of ``item`` given what the console knows.

    Manual items are MANUAL with no evidence. Automatic items are PASS or FAIL with
    their evidence, or UNKNOWN with the reason the console cannot tell (the source is
    not configured, or its last poll failed). ``sla_review`` stays MANUAL, a review
    for the operator, but carries the month's SLA summary as evidence.
    """
    if item.auto is None:
        status, evidence = ItemStatus.MANUAL, ""
    else:
        status, evidence = _check(item.auto, facts)
    return ItemResult(
        key=item.key,
        text=item.text,
        cadence=item.cadence,
        status=status,
        evidence=sanitize_terminal(evidence, single_line=True, limit=_EVIDENCE_LIMIT),
    )


def evaluate_due(due: Sequence[tuple[ChecklistItem, bool]], facts: Facts) -> list[ItemResult]:
    """:func:`evaluate` every ``(item, overdue)`` pair of :func:`due_items`."""
    return [replace(evaluate(item, facts), overdue=overdue) for item, overdue in due]


def checklist_exit_code(results: Sequence[ItemResult]) -> int:
    """1 when any automatic item failed, else 0 (unknown and manual items do not fail)."""
    return 1 if any(r.status is ItemStatus.FAIL for r in results) else 0


# -- due dates ---------------------------------------------------------------------------------


def _week_due(today: date, weekday: int) -> date:
    """The latest ``weekday`` on or before ``today``."""
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_due(today: date, day: int) -> date:
    """The latest monthly due date on or before ``today`` (clamped to month ends)."""
    due = _month_day(today.year, today.month, day)
    if due > today:
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        due = _month_day(year, month, day)
    return due


def due_items(
    items: Sequence[ChecklistItem],
    today: date,
    *,
    weekly_day: int,
    monthly_day: int,
    last_done: Mapping[str, date],
) -> list[tuple[ChecklistItem, bool]]:
    """The items to show today, each with whether it is overdue, in the given order.

    Daily items are always due, never overdue. A weekly item is due on ``weekly_day``
    and stays due, overdue, on the days after it until it is done on or after that
    day: ticked late on Monday, it covers the Friday missed and comes back next
    Friday. Done before the due day does not count (the guide's weekly review is
    "Friday before EOD"). A monthly item works the same on ``monthly_day`` of each
    month, clamped to the month's last day (31 → 28/29 February, 30 April).

    Args:
        items: The items of any cadences.
        today: The operator's local date.
        weekly_day: 0 = Monday … 6 = Sunday (4, Friday, in the guide).
        monthly_day: 1 … 31.
        last_done: Item key → the last date it was done or passed.

    Raises:
        ValueError: when ``weekly_day`` or ``monthly_day`` is out of range.
    """
    if not 0 <= weekly_day <= 6:
        raise ValueError(f"weekly_day must be 0 (Monday) to 6 (Sunday), got {weekly_day}")
    if not 1 <= monthly_day <= 31:
        raise ValueError(f"monthly_day must be 1 to 31, got {monthly_day}")
    due_dates = {
        Cadence.WEEKLY: _week_due(today, weekly_day),
        Cadence.MONTHLY: _month_due(today, monthly_day),
    }
    out: list[tuple[ChecklistItem, bool]] = []
    for item in items:
        if item.cadence is Cadence.DAILY:
            out.append((item, False))
            continue
        due = due_dates[item.cadence]
        done = last_done.get(item.key)
        if done is not None and done >= due:
            continue
        out.append((item, today > due))
    return out


def todays_items(
    items: Sequence[ChecklistItem],
    today: date,
    *,
    weekly_day: int,
    monthly_day: int,
    last_done: Mapping[str, date],
) -> list[tuple[ChecklistItem, bool]]:
    """Today's checklist: :func:`due_items`, plus the weekly and monthly items done today.

    An item ticked (or passed) today stays on today's list, not overdue, instead of
    vanishing the moment it is done: the operator sees it done, and can untick it. From
    tomorrow on :func:`due_items` leaves it out until it is due again.
    """
    earlier = {key: done for key, done in last_done.items() if done < today}
    shown = due_items(
        items, today, weekly_day=weekly_day, monthly_day=monthly_day, last_done=earlier
    )
    return [(item, overdue and last_done.get(item.key) != today) for item, overdue in shown]
