"""The SLA engine: response and resolution clocks per ticket (guide §2, §3.3).

Everything here is a pure function of ``(ticket, policy, now)``, so a countdown is correct
after a restart by construction. Working time is real (UTC) time that falls inside the
policy's working windows: the whole day for a calendar (24/7) schedule, or the business
hours of each business day, both in ``policy.tz`` and skipping ``policy.holidays``. Windows
are built per day from local wall-clock times and converted to UTC one boundary at a time,
which keeps DST changes right: a 4h target is always 4 real hours of working time.
Business-hours targets count working hours, so ``3d`` means 72 working hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType

from opsconsole.core.durations import format_duration
from opsconsole.core.tickets import Severity, Ticket

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_TARGETS",
    "BusinessHours",
    "ClockReading",
    "SlaPolicy",
    "SlaState",
    "SlaStatus",
    "SlaTarget",
    "add_working_time",
    "at_risk_horizon",
    "evaluate",
    "next_deadline",
    "policy_key",
    "working_time_between",
]

_ZERO = timedelta(0)
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
_MAX_DAYS = 366 * 20  # guard: no schedule needs to look further ahead than this


class SlaState(StrEnum):
    """The state of one SLA clock."""

    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    NONE = "none"
    """No deadline: critical resolution is "best effort" (guide §2)."""


_RANK = {
    SlaState.BREACHED: 4,
    SlaState.AT_RISK: 3,
    SlaState.OK: 2,
    SlaState.MET: 1,
    SlaState.NONE: 0,
}


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Response and resolution targets for one severity; None means no deadline."""

    response: timedelta | None
    resolution: timedelta | None


DEFAULT_TARGETS: Mapping[Severity, SlaTarget] = MappingProxyType(
    {
        Severity.CRITICAL: SlaTarget(timedelta(hours=1), None),
        Severity.HIGH: SlaTarget(timedelta(hours=4), timedelta(hours=24)),
        Severity.MEDIUM: SlaTarget(timedelta(hours=12), timedelta(days=3)),
        Severity.LOW: SlaTarget(timedelta(hours=48), timedelta(days=7)),
    }
)
"""The guide's §2 table; low resolution is 7 days (§3.3), critical resolution best effort."""


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working hours on business days, in the policy's timezone.

    Attributes:
        start: local opening time.
        end: local closing time; ``time(0)`` means midnight at the end of the day.
        days: business weekdays, 0 = Monday … 6 = Sunday.
    """

    start: time
    end: time
    days: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("business days must be a non-empty subset of 0..6 (0 = Monday)")
        if self.end != time(0) and self.end <= self.start:
            raise ValueError("business hours must end after they start")


@dataclass(frozen=True)
class SlaPolicy:
    """How SLA clocks are measured.

    Attributes:
        targets: per-severity targets (missing severities fall back to the guide's table).
        tz: timezone of business hours and holidays.
        business_hours: None for a calendar (24/7) schedule.
        holidays: local dates that are not working time (in either schedule).
        pause_when_pending: whether time pending on the customer is excluded.
        at_risk_fraction: a running clock is at risk once remaining ≤ this × target.
    """

    targets: Mapping[Severity, SlaTarget] = field(default_factory=lambda: DEFAULT_TARGETS)
    tz: tzinfo = UTC
    business_hours: BusinessHours | None = None
    holidays: frozenset[date] = frozenset()
    pause_when_pending: bool = True
    at_risk_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.at_risk_fraction < 1:
            raise ValueError("at_risk_fraction must be at least 0 and below 1")

    def target(self, severity: Severity) -> SlaTarget:
        """The targets for ``severity``."""
        found = self.targets.get(severity)
        return found if found is not None else DEFAULT_TARGETS[severity]


DEFAULT_POLICY = SlaPolicy()
"""The guide's table on a calendar (24/7) schedule in UTC, pausing while pending."""


@dataclass(frozen=True, slots=True)
class ClockReading:
    """One clock at one instant.

    Attributes:
        state: the clock's state.
        due: the deadline (UTC); None without a target or while paused.
        remaining: working time left against the target; negative when overdue, and zero
            for a deadline that passed out of business hours (breached, by the deadline).
        stopped_at: the first outbound reply (response) or resolved_at (resolution).
        paused: the clock is frozen because the ticket is pending on the customer.
        no_target: the label without a target: the guide's §2 table says "Best effort" for
            critical resolution and "N/A" for low's (when configured without one).
    """

    state: SlaState
    due: datetime | None
    remaining: timedelta | None
    stopped_at: datetime | None = None
    paused: bool = False
    no_target: str = "best effort"

    @property
    def running(self) -> bool:
        """True while the clock counts: it has a target, is not stopped and not paused."""
        return self.state is not SlaState.NONE and self.stopped_at is None and not self.paused

    def label(self) -> str:
        """A compact label for a table cell: ``2h13m00s left``, ``overdue by 1h05m``, …

        A deadline that passed at closing reads ``overdue`` (``missed``) without an amount
        until working time runs past it.
        """
        if self.state is SlaState.NONE or self.remaining is None:
            return self.no_target
        if self.state is SlaState.MET:
            return "met"
        # Time left counts down in whole seconds; time overdue counts up from 1s, so the
        # first second of a breach never reads "overdue by 0s".
        whole = _whole_seconds(self.remaining)
        if whole > self.remaining:
            whole -= timedelta(seconds=1)
        whole = abs(whole)
        amount = format_duration(whole) if whole else "0s"
        if self.remaining < _ZERO or self.state is SlaState.BREACHED:
            text = "missed" if self.stopped_at is not None else "overdue"
            if whole:  # none: the deadline passed out of hours, no working time since
                text += f" by {amount}"
        elif self.state is SlaState.AT_RISK and not self.paused:
            text = f"at risk · {amount} left"
        else:
            text = f"{amount} left"
        return f"paused · {text}" if self.paused else text


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """Both clocks of a ticket."""

    response: ClockReading
    resolution: ClockReading

    @property
    def worst(self) -> SlaState:
        """The most urgent state: breached > at risk > ok > met > none."""
        return max(self.response.state, self.resolution.state, key=_RANK.__getitem__)

    @property
    def time_to_breach(self) -> timedelta | None:
        """Smallest remaining time among running clocks (the queue's sort key)."""
        running = [c.remaining for c in (self.response, self.resolution) if c.running]
        return min((r for r in running if r is not None), default=None)


def evaluate(ticket: Ticket, policy: SlaPolicy, now: datetime) -> SlaStatus:
    """Read both SLA clocks of ``ticket`` at ``now``.

    The response clock stops at the first outbound reply, or at resolution when the ticket
    was resolved without one; the resolution clock stops at ``resolved_at``.
    """
    _require_aware(now, "now")
    target = policy.target(ticket.severity)
    return SlaStatus(
        response=_read(ticket, policy, now, target.response, _response_stop(ticket)),
        resolution=_read(ticket, policy, now, target.resolution, ticket.resolved_at),
    )


def next_deadline(ticket: Ticket, policy: SlaPolicy, now: datetime) -> datetime | None:
    """The earliest deadline of a running (unmet, unpaused) clock, or None.

    Stored with the ticket so the queue can sort by time-to-breach in SQL. The same as the
    earliest ``due`` of :func:`evaluate`'s running clocks, without measuring the time
    elapsed (5x faster: a changed policy recomputes every open ticket's deadline).
    """
    _require_aware(now, "now")
    now = now.astimezone(UTC)
    target = policy.target(ticket.severity)
    received = ticket.received_at.astimezone(UTC)
    pauses, open_since = _pauses(ticket, policy, received, now, closed=False)
    if open_since is not None:
        return None  # paused: no deadline while pending on the customer
    earliest: datetime | None = None
    for amount, stop in (
        (target.response, _response_stop(ticket)),
        (target.resolution, ticket.resolved_at),
    ):
        if amount is None or (stop is not None and stop.astimezone(UTC) <= now):
            continue  # no target, or stopped by ``now``: not running
        due = _add(received, amount, policy, pauses)
        if earliest is None or due < earliest:
            earliest = due
    return earliest


def _response_stop(ticket: Ticket) -> datetime | None:
    """The first outbound reply, or resolution when the ticket was resolved without one."""
    stop = ticket.first_response_at
    if stop is None or (ticket.resolved_at is not None and ticket.resolved_at < stop):
        stop = ticket.resolved_at
    return stop


def at_risk_horizon(policy: SlaPolicy, now: datetime) -> datetime:
    """No running clock is at risk with a deadline after this instant.

    A clock is at risk once its remaining working time is at most ``at_risk_fraction`` of
    its target, so its deadline lies within that much working time of ``now``; the largest
    target bounds them all. Lets a store narrow "at risk" to a ``next_due`` range.
    """
    targets = [policy.target(severity) for severity in Severity]
    longest = max(
        (t for target in targets for t in (target.response, target.resolution) if t is not None),
        default=_ZERO,
    )
    return add_working_time(now, longest * policy.at_risk_fraction, policy)


def policy_key(policy: SlaPolicy) -> str:
    """A fingerprint of everything in ``policy`` that moves a deadline.

    The store keeps the key the stored ``next_due`` values were computed under; a different
    key at start means the operator changed ``sla:`` and they are recomputed. The at-risk
    fraction is left out: it changes no deadline. Bump the version when
    :func:`next_deadline` itself changes.
    """
    hours = policy.business_hours
    parts = {
        "version": 1,
        "targets": {
            severity.value: [
                None if target is None else target.total_seconds()
                for target in (policy.target(severity).response, policy.target(severity).resolution)
            ]
            for severity in Severity
        },
        "tz": str(policy.tz),
        "business_hours": None
        if hours is None
        else [hours.start.isoformat(), hours.end.isoformat(), sorted(hours.days)],
        "holidays": sorted(day.isoformat() for day in policy.holidays),
        "pause_when_pending": policy.pause_when_pending,
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return "sla-1:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def add_working_time(start: datetime, amount: timedelta, policy: SlaPolicy) -> datetime:
    """The instant ``amount`` of working time after ``start`` (aware UTC in and out)."""
    _require_aware(start, "start")
    if amount < _ZERO:
        raise ValueError("amount must not be negative")
    return _add(start.astimezone(UTC), amount, policy, ())


def working_time_between(start: datetime, end: datetime, policy: SlaPolicy) -> timedelta:
    """Working time from ``start`` to ``end``; negative when ``end`` is before ``start``."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        return -working_time_between(end, start, policy)
    return _between(start.astimezone(UTC), end.astimezone(UTC), policy, ())


# -- clocks -----------------------------------------------------------------------------------

Interval = tuple[datetime, datetime]


def _read(
    ticket: Ticket,
    policy: SlaPolicy,
    now: datetime,
    target: timedelta | None,
    stop: datetime | None,
) -> ClockReading:
    now = now.astimezone(UTC)
    if stop is not None:
        stop = stop.astimezone(UTC)
        if stop > now:  # evaluating the past: not stopped yet at ``now``
            stop = None
    if target is None:
        # Guide §2: "Best effort" is critical's; a low ticket without a target is "N/A".
        no_target = "best effort" if ticket.severity is Severity.CRITICAL else "N/A"
        return ClockReading(SlaState.NONE, None, None, stop, no_target=no_target)
    received = ticket.received_at.astimezone(UTC)
    until = stop if stop is not None else now
    pauses, open_since = _pauses(ticket, policy, received, until, closed=stop is not None)
    # An open pause freezes the clock at the pause's start.
    paused = open_since is not None
    frozen_at = open_since if open_since is not None else until
    elapsed = _between(received, max(frozen_at, received), policy, pauses)
    remaining = target - elapsed
    deadline = _add(received, target, policy, pauses)
    due = None if paused else deadline
    # Breached is decided by the deadline instant, not by the working time left: a deadline
    # at Friday's closing has passed on Saturday, though no working time ran past it yet.
    if stop is not None:
        state = SlaState.MET if frozen_at <= deadline else SlaState.BREACHED
    elif frozen_at > deadline:
        state = SlaState.BREACHED
    elif remaining <= target * policy.at_risk_fraction:
        state = SlaState.AT_RISK
    else:
        state = SlaState.OK
    return ClockReading(state, due, remaining, stop, paused)


def _pauses(
    ticket: Ticket, policy: SlaPolicy, received: datetime, until: datetime, *, closed: bool
) -> tuple[tuple[Interval, ...], datetime | None]:
    """Merged pause intervals before ``until``, and the start of a pause still open then.

    For a stopped clock (``closed``) a pause open at the stop is cut at the stop.
    """
    if not policy.pause_when_pending or not ticket.pauses:
        return (), None
    spans: list[Interval] = []
    open_since: datetime | None = None
    for start, end in ticket.pauses:
        start = max(start.astimezone(UTC), received)
        if start > until or (closed and start == until):
            continue
        if end is None or end.astimezone(UTC) > until:
            if not closed:
                open_since = start if open_since is None else min(open_since, start)
                continue
            end = until
        end = end.astimezone(UTC)
        if end > start:
            spans.append((start, end))
    spans.sort()
    merged: list[Interval] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged), open_since


# -- working time -----------------------------------------------------------------------------


def _windows(start: datetime, policy: SlaPolicy) -> Iterator[Interval]:
    """Working windows (UTC, in order) that end after ``start``, the first clipped to it."""
    hours = policy.business_hours
    if hours is None and not policy.holidays:
        yield start, _FOREVER
        return
    tz = policy.tz
    opens = hours.start if hours is not None else time(0)
    closes = hours.end if hours is not None else time(0)
    day = start.astimezone(tz).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        if day in policy.holidays or (hours is not None and day.weekday() not in hours.days):
            continue
        # Each boundary is a local wall-clock time converted on its own, so a DST change
        # inside a window makes it an hour shorter or longer in real time.
        window_start = _utc(day, opens, tz)
        window_end = _utc(day + timedelta(days=1), time(0), tz) if closes == time(0) else None
        if window_end is None:
            window_end = _utc(day, closes, tz)
        if window_end <= start:
            continue
        yield max(window_start, start), window_end
    raise ValueError("the SLA schedule has no working time in the next 20 years")


def _utc(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _free(window: Interval, pauses: Sequence[Interval]) -> Iterator[Interval]:
    """The parts of ``window`` outside every (sorted, merged) pause."""
    start, end = window
    for pause_start, pause_end in pauses:
        if pause_end <= start:
            continue
        if pause_start >= end:
            break
        if pause_start > start:
            yield start, pause_start
        start = max(start, pause_end)
        if start >= end:
            return
    if start < end:
        yield start, end


def _add(
    start: datetime, amount: timedelta, policy: SlaPolicy, pauses: Sequence[Interval]
) -> datetime:
    left = amount
    for window in _windows(start, policy):
        for seg_start, seg_end in _free(window, pauses):
            span = seg_end - seg_start
            if span >= left:
                return seg_start + left
            left -= span
    raise AssertionError("unreachable: _windows never ends")  # pragma: no cover


def _between(
    start: datetime, end: datetime, policy: SlaPolicy, pauses: Sequence[Interval]
) -> timedelta:
    total = _ZERO
    if end <= start:
        return total
    for window in _windows(start, policy):
        if window[0] >= end:
            break
        for seg_start, seg_end in _free((window[0], min(window[1], end)), pauses):
            total += seg_end - seg_start
    return total


def _whole_seconds(delta: timedelta) -> timedelta:
    return timedelta(seconds=int(delta.total_seconds()))


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
