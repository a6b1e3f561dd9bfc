"""The subset of Sentry's issue search the fake (:mod:`opsconsole.demo.sentry_api`)
understands: the ``statsPeriod``/``start``/``end`` window and the ``query`` syntax.
Anything else is a :class:`_BadRequest` (a 400 with Sentry's ``detail`` text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from opsconsole.demo.sentry_data import FakeIssue

MAX_STATS_PERIOD = timedelta(days=90)
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO = re.compile(r"^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2}(?:T[\d:.]+)?(?:Z|[+-]\d{2}:?\d{2})?)$")


class _BadRequest(Exception):
    """A 400 with Sentry's ``detail`` text."""


# -- query parsing ------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_duration(text: str) -> timedelta | None:
    match = _DURATION.match(text)
    if match is None:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _window(params: dict[str, str], now: datetime) -> tuple[datetime, datetime]:
    """``statsPeriod`` or ``start``/``end`` (each bounded by 90 days), on last seen."""
    period = params.get("statsPeriod")
    if period:
        delta = _parse_duration(period)
        if delta is None:
            raise _BadRequest(f"Invalid statsPeriod: {period!r}")
        return now - min(delta, MAX_STATS_PERIOD), now
    if "start" in params or "end" in params:
        try:
            return _parse_datetime(params["start"]), _parse_datetime(params["end"])
        except (KeyError, ValueError):
            raise _BadRequest("start and end are both required") from None
    return now - MAX_STATS_PERIOD, now


def _time_predicate(
    attr: str, value: str, now: datetime, token: str
) -> Callable[[FakeIssue], bool]:
    if value[:1] in "-+" and (delta := _parse_duration(value[1:])) is not None:
        cutoff = now - delta
        if value[0] == "-":
            return lambda i: getattr(i, attr) >= cutoff
        return lambda i: getattr(i, attr) <= cutoff
    match = _ISO.match(value)
    if match is None:
        raise _BadRequest(f"Invalid date format for {token!r}")
    op, when = match.group(1) or "=", _parse_datetime(match.group(2))
    ops: dict[str, Callable[[datetime], bool]] = {
        ">=": lambda t: t >= when,
        ">": lambda t: t > when,
        "<=": lambda t: t <= when,
        "<": lambda t: t < when,
        "=": lambda t: t.date() == when.date(),
    }
    check = ops[op]
    return lambda i: check(getattr(i, attr))


def _field_is(attr: str, *allowed: str) -> Callable[[FakeIssue], bool]:
    return lambda issue: getattr(issue, attr) in allowed


def _substatus_is(value: str) -> Callable[[FakeIssue], bool]:
    return lambda issue: issue.status == "unresolved" and issue.substatus == value


def _title_has(needle: str) -> Callable[[FakeIssue], bool]:
    return lambda issue: needle.lower() in issue.title.lower()


def _parse_query(query: str, now: datetime) -> list[Callable[[FakeIssue], bool]]:
    """The subset of Sentry's issue search the fake understands; anything else is a 400."""
    predicates: list[Callable[[FakeIssue], bool]] = []
    for token in query.split():
        key, sep, value = token.partition(":")
        if not sep:
            predicates.append(_title_has(token))
        elif key == "is":
            if value in ("unresolved", "resolved"):
                predicates.append(_field_is("status", value))
            elif value in ("ignored", "archived"):
                predicates.append(_field_is("status", "ignored"))
            elif value in ("new", "ongoing"):
                predicates.append(_substatus_is(value))
            else:
                raise _BadRequest(f"Invalid value for 'is' search: {value!r}")
        elif key in ("firstSeen", "age"):
            predicates.append(_time_predicate("first_seen", value, now, token))
        elif key == "lastSeen":
            predicates.append(_time_predicate("last_seen", value, now, token))
        elif key == "level":
            predicates.append(_field_is("level", value))
        else:
            raise _BadRequest(f"Invalid search query: unsupported key {key!r}")
    return predicates
