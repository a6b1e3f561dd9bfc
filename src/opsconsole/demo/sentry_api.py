"""A Sentry-compatible fake of the issues API, served on 127.0.0.1 from a thread.

Used by the adapter tests and by ``opsconsole demo``. It serves an org (``acme``) with
projects ``api`` (id 11, python) and ``dashboard`` (id 12, javascript) whose issues are
modelled on the guide's AI Governance API, and it copies the parts of Sentry the
adapter relies on (API-REFERENCE §1):

* ``GET /api/0/organizations/{org}/issues/`` with repeated ``project=<id>``,
  ``environment``, ``statsPeriod``/``start``/``end`` (filter on last seen; 90 days when
  none is given), ``groupStatsPeriod``, ``query`` (``is:unresolved|resolved|ignored|new``,
  ``firstSeen``/``age``/``lastSeen`` as ``-24h``/``+24h``/``>=ISO``/``>ISO``/``<ISO``,
  ``level:``, free text), ``sort`` (``date``/``new``/``freq``/``user``), ``limit``
  and ``cursor``. Responses carry ``X-Hits``, ``X-Max-Hits`` and a ``Link`` header with
  both ``previous`` and ``next`` (``results="true|false"``, cursor ``value:offset:is_prev``).
  ``count`` is a string, ``userCount`` an int, ``permalink`` sometimes ``null``.
* ``GET /api/0/organizations/{org}/projects/`` (paginated the same way, ``per_page``)
  and ``GET /api/0/projects/{org}/{slug}/``.
* Bearer tokens: a wrong token is 401 ``{"detail": "Invalid token"}``; an unknown org or
  slug is 404; a project id the token cannot see is 403, as in Sentry.
* ``X-Sentry-Rate-Limit-*`` headers on every API answer.

Faults are injected at runtime with :meth:`SentryFake.inject`. Every request is recorded
in :attr:`SentryFake.requests`. ``page_size`` caps every page so tests paginate, and
``live=True`` makes the data drift slowly (new issues, growing counts) for the demo.
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

__all__ = [
    "DEMO_TOKEN",
    "FakeIssue",
    "FakeProject",
    "Fault",
    "RecordedRequest",
    "SentryFake",
    "demo_issues",
]

DEMO_TOKEN = "sntryu_demo0000000000000000000000000000000000000000000000000000000000"
"""The user token the fake accepts unless told otherwise."""

Fault = Literal[
    "400", "401", "403", "404", "429", "502", "invalid_json", "no_link", "slow", "short_page"
]
"""What :meth:`SentryFake.inject` can make a request answer with."""

MAX_STATS_PERIOD = timedelta(days=90)
RATE_LIMIT = 40
RATE_WINDOW = 1.0
EDGE_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO = re.compile(r"^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2}(?:T[\d:.]+)?(?:Z|[+-]\d{2}:?\d{2})?)$")


class _BadRequest(Exception):
    """A 400 with Sentry's ``detail`` text."""


@dataclass(frozen=True, slots=True)
class FakeProject:
    """A project of the fake org."""

    id: int
    slug: str
    platform: str

    @property
    def prefix(self) -> str:
        """Short-id prefix: ``API`` for ``api``."""
        return self.slug.upper().replace("-", "")


@dataclass(slots=True)
class FakeIssue:
    """One issue (group) in the fake's memory."""

    id: str
    short_id: str
    title: str
    culprit: str
    level: str
    project_id: int
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    user_count: int = 0
    status: str = "unresolved"
    substatus: str = "ongoing"
    environments: tuple[str, ...] = ("production",)
    has_permalink: bool = True


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it (``params`` keeps repeated keys in order)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]

    def values(self, key: str) -> list[str]:
        """Every value of query parameter ``key``."""
        return [v for k, v in self.params if k == key]

    def value(self, key: str) -> str | None:
        """The first value of ``key``, or ``None``."""
        found = self.values(key)
        return found[0] if found else None


@dataclass(slots=True)
class _Injected:
    fault: Fault
    remaining: int | None
    only: str
    retry_after: int
    detail: str | None


# -- demo data ---------------------------------------------------------------------------

_API_ISSUES: tuple[tuple[str, str, str], ...] = (
    ("KeyError: 'policy_id'", "governance.policies.evaluate in evaluate_policy", "error"),
    (
        "TimeoutError: Redis command timed out after 2.0s",
        "governance.cache in get_decision",
        "error",
    ),
    (
        "HTTPError: 500 Internal Server Error on POST /v1/check",
        "governance.api.check in check_request",
        "error",
    ),
    (
        'OperationalError: connection to server at "db" failed: sorry, too many clients',
        "governance.db in session_scope",
        "fatal",
    ),
    (
        "ValidationError: 1 validation error for CheckRequest\nmodel_id: field required",
        "governance.api.schemas in parse_check",
        "warning",
    ),
    (
        "RateLimitExceeded: upstream model provider returned 429",
        "governance.providers.client in complete",
        "warning",
    ),
    (
        "ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
        "governance.cache in connect",
        "error",
    ),
    (
        "JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "governance.providers.client in parse_response",
        "error",
    ),
    (
        "PermissionError: audit log bucket 'acme-audit' is not writable",
        "governance.audit in flush_batch",
        "error",
    ),
    (
        "SoftTimeLimitExceeded: policy sync exceeded 300s",
        "governance.tasks.sync_policies",
        "warning",
    ),
    ("KeyError: 'tenant'", "governance.auth.keys in resolve_api_key", "error"),
    ("Slow DB query: SELECT * FROM decisions WHERE ...", "GET /v1/decisions", "info"),
)
_DASHBOARD_ISSUES: tuple[tuple[str, str, str], ...] = (
    (
        "TypeError: Cannot read properties of undefined (reading 'decisions')",
        "app/pages/Decisions.tsx in DecisionsTable",
        "error",
    ),
    (
        "Error: Access to fetch at 'https://api.acme.test/v1/check' blocked by CORS policy",
        "app/api/client.ts in request",
        "error",
    ),
    ("ChunkLoadError: Loading chunk 412 failed.", "webpack/runtime/jsonp", "error"),
    (
        "UnhandledRejection: Request failed with status code 401 (/v1/policies)",
        "app/api/client.ts in request",
        "warning",
    ),
    (
        "ResizeObserver loop completed with undelivered notifications.",
        "app/components/Chart.tsx",
        "info",
    ),
    (
        "SyntaxError: Unexpected token '<', \"<!doctype \"... is not valid JSON",
        "app/api/client.ts in parseJson",
        "error",
    ),
)

DEFAULT_PROJECTS = (FakeProject(11, "api", "python"), FakeProject(12, "dashboard", "javascript"))


def _templates(project: FakeProject) -> tuple[tuple[str, str, str], ...]:
    return _DASHBOARD_ISSUES if project.platform == "javascript" else _API_ISSUES


def demo_issues(
    now: datetime,
    *,
    projects: tuple[FakeProject, ...] = DEFAULT_PROJECTS,
    seed: int = 7,
) -> list[FakeIssue]:
    """A realistic backlog at ``now``: old noisy issues, some from today, a few resolved."""
    rng = random.Random(seed)
    issues: list[FakeIssue] = []
    serial = 0
    for project in projects:
        for n, (title, culprit, level) in enumerate(_templates(project)):
            serial += 1
            if n % 3 == 0:  # new today
                first = now - timedelta(minutes=rng.randint(5, 23 * 60))
            else:
                first = now - timedelta(hours=rng.randint(25, 24 * 60))
            last = min(now, first + timedelta(minutes=rng.randint(1, 3000)))
            count = int(rng.lognormvariate(4.0, 1.6)) + 1
            status = "resolved" if n % 5 == 4 else "unresolved"
            issues.append(
                FakeIssue(
                    id=str(4508123400 + serial),
                    short_id=f"{project.prefix}-{_base36(serial + 40)}",
                    title=title,
                    culprit=culprit,
                    level=level,
                    project_id=project.id,
                    first_seen=first,
                    last_seen=last,
                    count=count,
                    user_count=max(0, count // rng.randint(3, 12)),
                    status=status,
                    substatus="new" if now - first < timedelta(days=3) else "ongoing",
                    has_permalink=n % 7 != 6,
                )
            )
    return issues


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, rem = divmod(n, 36)
        out = digits[rem] + out
        if n == 0:
            return out


# -- the fake -----------------------------------------------------------------------------


class SentryFake:
    """A Sentry issues API on 127.0.0.1. ``start()`` binds an ephemeral port.

    Args:
        org: the organization slug.
        token: the one Bearer token accepted.
        projects: the org's projects.
        issues: the initial issues; ``None`` builds :func:`demo_issues`, ``[]`` none.
        clock: wall clock (aware UTC) used for relative searches and rate-limit resets.
        page_size: the most rows on any page, whatever ``limit`` asks for.
        prefix: a path prefix (``/sentry``) as on a self-hosted install behind a proxy.
        live: let the data drift (counts grow, new issues appear) as the clock advances.
        seed: randomness of the demo data and the drift.
    """

    def __init__(
        self,
        *,
        org: str = "acme",
        token: str = DEMO_TOKEN,
        projects: Iterable[FakeProject] = DEFAULT_PROJECTS,
        issues: Iterable[FakeIssue] | None = None,
        clock: Callable[[], datetime] | None = None,
        page_size: int = 100,
        prefix: str = "",
        live: bool = False,
        seed: int = 7,
    ) -> None:
        self.org = org
        self.token = token
        self.projects = tuple(projects)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self.prefix = prefix.rstrip("/")
        self.live = live
        self.slow_seconds = 5.0
        self.requests: list[RecordedRequest] = []
        now = self.clock()
        self._issues: list[FakeIssue] = (
            demo_issues(now, projects=self.projects, seed=seed) if issues is None else list(issues)
        )
        self._serial = len(self._issues) + 100
        self._rng = random.Random(seed)
        self._advanced_to = now
        self._faults: list[_Injected] = []
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._window_used = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SentryFake:
        """Bind 127.0.0.1:0 and serve from a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sentry-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (slow answers are cut short)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SentryFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to put in ``sentry.base_url``: ``http://127.0.0.1:PORT[/prefix]``."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def project_slugs(self) -> tuple[str, ...]:
        """The slugs of the org's projects."""
        return tuple(p.slug for p in self.projects)

    # -- data -------------------------------------------------------------------------------

    def add_issue(
        self,
        project: str,
        *,
        title: str = "KeyError: 'policy_id'",
        first_seen: datetime | None = None,
        last_seen: datetime | None = None,
        count: int = 1,
        user_count: int = 0,
        status: str = "unresolved",
        level: str = "error",
        culprit: str = "governance.policies.evaluate in evaluate_policy",
        permalink: bool = True,
        environment: str = "production",
    ) -> FakeIssue:
        """Add an issue to project ``project`` (a slug) and return it."""
        proj = next(p for p in self.projects if p.slug == project)
        now = self.clock()
        first = first_seen or now
        with self._lock:
            self._serial += 1
            issue = FakeIssue(
                id=str(4508200000 + self._serial),
                short_id=f"{proj.prefix}-{_base36(self._serial)}",
                title=title,
                culprit=culprit,
                level=level,
                project_id=proj.id,
                first_seen=first,
                last_seen=last_seen or max(first, now),
                count=count,
                user_count=user_count,
                status=status,
                substatus="new" if now - first < timedelta(days=3) else "ongoing",
                environments=(environment,),
                has_permalink=permalink,
            )
            self._issues.append(issue)
        return issue

    def issues(self) -> list[FakeIssue]:
        """A copy of every issue (for assertions)."""
        with self._lock:
            return [replace(i) for i in self._issues]

    # -- faults -----------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        only: str = "",
        retry_after: int = 1,
        detail: str | None = None,
    ) -> None:
        """Make the next ``times`` requests (``None``: all, until :meth:`clear_faults`) fail.

        Args:
            fault: ``400`` bad search syntax, ``401`` invalid token, ``403`` missing
                scope, ``404`` unknown resource, ``429`` rate limited (with
                ``Retry-After: retry_after``), ``502`` an HTML page from the edge,
                ``invalid_json`` a truncated body, ``no_link`` a list page without its
                ``Link`` header, ``slow`` an answer after ``slow_seconds``, ``short_page``
                a page missing its last row (as after Sentry's post-filter).
            times: how many matching requests to affect.
            only: affect only requests whose target (path and raw query string) contains
                this text: ``/issues/``, ``firstSeen``, ``/projects/``.
            retry_after: the ``Retry-After`` seconds of a 429.
            detail: replaces the ``detail`` text of a 4xx answer.
        """
        with self._lock:
            self._faults.append(_Injected(fault, times, only, retry_after, detail))

    def clear_faults(self) -> None:
        """Answer normally again."""
        with self._lock:
            self._faults.clear()

    def issue_requests(self) -> list[RecordedRequest]:
        """The recorded requests to the org issues endpoint."""
        return [r for r in self.requests if r.path.endswith("/issues/")]

    # -- internals used by the handler -------------------------------------------------------

    def _take_fault(self, target: str) -> _Injected | None:
        with self._lock:
            for injected in self._faults:
                if injected.only and injected.only not in target:
                    continue
                if injected.remaining is not None:
                    injected.remaining -= 1
                    if injected.remaining <= 0:
                        self._faults.remove(injected)
                return injected
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _rate_headers(self, limited: bool = False) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= RATE_WINDOW:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
            remaining = 0 if limited else max(RATE_LIMIT - self._window_used, 0)
            reset = self.clock().timestamp() + RATE_WINDOW - (now - self._window_start)
        return {
            "X-Sentry-Rate-Limit-Limit": str(RATE_LIMIT),
            "X-Sentry-Rate-Limit-Remaining": str(remaining),
            "X-Sentry-Rate-Limit-Reset": str(int(reset) + 1),
            "X-Sentry-Rate-Limit-ConcurrentLimit": "25",
            "X-Sentry-Rate-Limit-ConcurrentRemaining": "24",
        }

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _advance(self, now: datetime) -> None:
        """Let the data drift: every 15 s of clock, bump an issue and maybe open a new one."""
        if not self.live:
            return
        step = timedelta(seconds=15)
        with self._lock:
            steps = 0
            while self._advanced_to + step <= now and steps < 200:
                self._advanced_to += step
                steps += 1
                at = self._advanced_to
                open_issues = [i for i in self._issues if i.status == "unresolved"]
                if open_issues:
                    hot = self._rng.choice(open_issues)
                    hot.count += self._rng.randint(1, 25)
                    hot.user_count += self._rng.randint(0, 2)
                    hot.last_seen = at
                roll = self._rng.random()
                if roll < 0.12:
                    project = self._rng.choice(self.projects)
                    title, culprit, level = self._rng.choice(_templates(project))
                    self._serial += 1
                    self._issues.append(
                        FakeIssue(
                            id=str(4508200000 + self._serial),
                            short_id=f"{project.prefix}-{_base36(self._serial)}",
                            title=title,
                            culprit=culprit,
                            level=level,
                            project_id=project.id,
                            first_seen=at,
                            last_seen=at,
                            count=self._rng.randint(1, 8),
                            user_count=self._rng.randint(0, 2),
                            substatus="new",
                        )
                    )
                elif roll < 0.16 and open_issues:
                    self._rng.choice(open_issues).status = "resolved"
            if steps == 200:
                self._advanced_to = now

    def _search(self, params: list[tuple[str, str]], now: datetime) -> tuple[list[FakeIssue], bool]:
        """Issues matching the org issues endpoint's parameters, sorted; and whether the
        sort uses stats (for the ``groupStatsPeriod`` check)."""
        visible = {p.id for p in self.projects}
        wanted: set[int] = set()
        for key, value in params:
            if key != "project":
                continue
            try:
                pid = int(value)
            except ValueError:
                raise _BadRequest("Invalid project parameter. Values must be numbers.") from None
            if pid == -1:
                wanted |= visible
            elif pid not in visible:
                raise PermissionError
            else:
                wanted.add(pid)
        if not wanted:
            wanted = set(visible)
        environments = {v for k, v in params if k == "environment"}
        got = dict(params)
        start, end = _window(got, now)
        group_stats = got.get("groupStatsPeriod", "24h")
        if group_stats not in ("", "24h", "14d", "auto"):
            raise _BadRequest("Invalid stats_period. Valid choices are '', '24h', and '14d'")
        query = got.get("query", "is:unresolved")
        predicates = _parse_query(query, now)
        with self._lock:
            rows = [
                i
                for i in self._issues
                if i.project_id in wanted
                and start <= i.last_seen <= end
                and (not environments or environments & set(i.environments))
                and all(pred(i) for pred in predicates)
            ]
            rows = [replace(i) for i in rows]
        sort = got.get("sort", "date")
        keys: dict[str, Callable[[FakeIssue], Any]] = {
            "date": lambda i: i.last_seen,
            "new": lambda i: i.first_seen,
            "freq": lambda i: i.count,
            "user": lambda i: i.user_count,
        }
        if sort not in (*keys, "trends", "inbox", "priority"):
            raise _BadRequest(f"Invalid sort: {sort!r}")
        by = keys.get(sort, keys["date"])
        rows.sort(key=lambda i: (by(i), int(i.id)), reverse=True)
        return rows, group_stats != ""

    def _serialize(self, issue: FakeIssue, now: datetime, stats: bool) -> dict[str, Any]:
        project = next(p for p in self.projects if p.id == issue.project_id)
        row: dict[str, Any] = {
            "id": issue.id,
            "shortId": issue.short_id,
            "title": issue.title,
            "culprit": issue.culprit,
            "permalink": (
                f"{self.base_url}/organizations/{self.org}/issues/{issue.id}/"
                if issue.has_permalink
                else None
            ),
            "logger": None,
            "level": issue.level,
            "status": issue.status,
            "statusDetails": {},
            "substatus": issue.substatus,
            "isPublic": False,
            "platform": project.platform,
            "project": {
                "id": str(project.id),
                "name": project.slug,
                "slug": project.slug,
                "platform": project.platform,
            },
            "type": "error",
            "metadata": {"title": issue.title.split("\n")[0]},
            "numComments": 0,
            "assignedTo": None,
            "isBookmarked": False,
            "isSubscribed": False,
            "hasSeen": False,
            "annotations": [],
            "issueType": "error",
            "issueCategory": "error",
            "priority": "high" if issue.level in ("error", "fatal") else "low",
            "isUnhandled": issue.level == "fatal",
            "count": str(issue.count),
            "userCount": issue.user_count,
            "firstSeen": _iso(issue.first_seen),
            "lastSeen": _iso(issue.last_seen),
        }
        if stats:
            hour = int(now.timestamp()) // 3600 * 3600
            row["stats"] = {"24h": [[hour - 3600 * k, 0] for k in range(23, -1, -1)]}
        return row

    def _project_json(self, project: FakeProject) -> dict[str, Any]:
        return {
            "id": str(project.id),
            "slug": project.slug,
            "name": project.slug,
            "platform": project.platform,
            "dateCreated": "2025-03-04T10:00:00.000000Z",
            "isMember": True,
            "hasAccess": True,
            "status": "active",
        }


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


# -- HTTP -----------------------------------------------------------------------------------


def _make_handler(fake: SentryFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the TUI owns the terminal

        def handle_one_request(self) -> None:
            with contextlib.suppress(ConnectionError):
                super().handle_one_request()

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            params = parse_qsl(query, keep_blank_values=True)
            fake._record(RecordedRequest("GET", path, tuple(params), dict(self.headers.items())))
            self._route(path, params, query)

        # -- answers ---------------------------------------------------------------------

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(
            self, status: int, payload: object, headers: dict[str, str] | None = None
        ) -> None:
            merged = {**fake._rate_headers(), **(headers or {})}
            self._send(status, json.dumps(payload).encode(), headers=merged)

        def _detail(self, status: int, detail: str) -> None:
            self._json(status, {"detail": detail})

        # -- routing ---------------------------------------------------------------------

        def _route(self, path: str, params: list[tuple[str, str]], query: str) -> None:
            if not path.startswith(fake.prefix + "/api/0/"):
                self._page(path)
                return
            api_path = path[len(fake.prefix) + len("/api/0") :]
            injected = fake._take_fault(self.path)
            if injected is not None and self._fault(injected):
                return
            auth = self.headers.get("Authorization", "")
            if not auth:
                self._detail(401, "Authentication credentials were not provided.")
                return
            if auth != f"Bearer {fake.token}":
                self._detail(401, "Invalid token")
                return
            now = fake.clock()
            fake._advance(now)
            parts = [p for p in api_path.split("/") if p]
            try:
                if len(parts) == 3 and parts[0] == "organizations" and parts[2] == "issues":
                    self._issues(parts[1], params, injected, now)
                elif len(parts) == 3 and parts[0] == "organizations" and parts[2] == "projects":
                    self._projects(parts[1], params, injected)
                elif len(parts) == 3 and parts[0] == "projects":
                    self._project(parts[1], parts[2])
                else:
                    self._detail(404, "The requested resource does not exist")
            except _BadRequest as exc:
                self._detail(400, str(exc))
            except PermissionError:
                self._detail(403, "You do not have permission to perform this action.")

        def _page(self, path: str) -> None:
            """The HTML page a ``permalink`` points at (what a browser opens in the demo)."""
            parts = [p for p in path[len(fake.prefix) :].split("/") if p]
            issue = None
            if len(parts) == 4 and parts[0] == "organizations" and parts[2] == "issues":
                issue = next((i for i in fake.issues() if i.id == parts[3]), None)
            if issue is None:
                self._send(404, b"<!doctype html><h1>Not Found</h1>", "text/html")
                return
            page = (
                f"<!doctype html><title>{html.escape(issue.short_id)}</title>"
                f"<h1>{html.escape(issue.title)}</h1><p>{html.escape(issue.culprit)}</p>"
                f"<p>{issue.count} events, {issue.user_count} users, {issue.status}</p>"
            )
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def _fault(self, injected: _Injected) -> bool:
            """Answer with an injected fault; False for faults applied to a normal answer."""
            fault, detail = injected.fault, injected.detail
            if fault == "400":
                self._detail(400, detail or "Invalid search query: unexpected token")
            elif fault == "401":
                self._detail(401, detail or "Invalid token")
            elif fault == "403":
                self._detail(403, detail or "You do not have permission to perform this action.")
            elif fault == "404":
                self._detail(404, detail or "The requested resource does not exist")
            elif fault == "429":
                headers = {
                    **fake._rate_headers(limited=True),
                    "Retry-After": str(injected.retry_after),
                }
                body = {
                    "detail": detail
                    or "You are attempting to use this endpoint too frequently. "
                    f"Limit is {RATE_LIMIT} requests in {RATE_WINDOW:g} seconds"
                }
                self._send(429, json.dumps(body).encode(), headers=headers)
            elif fault == "502":
                self._send(502, EDGE_502, "text/html")
            elif fault == "invalid_json":
                self._send(200, b'[{"id": "4508', headers=fake._rate_headers())
            elif fault == "slow":
                fake._sleep(fake.slow_seconds)
                return False
            else:
                return False  # no_link / short_page change a normal answer
            return True

        def _paginate(
            self,
            rows: list[Any],
            params: list[tuple[str, str]],
            path: str,
            limit_key: str,
            injected: _Injected | None,
        ) -> tuple[list[Any], dict[str, str]]:
            got = dict(params)
            try:
                limit = int(got.get(limit_key, "100"))
            except ValueError:
                raise _BadRequest(f"Invalid {limit_key}") from None
            if not 1 <= limit <= 100:
                raise _BadRequest(f"{limit_key} must be between 1 and 100")
            size = min(limit, fake.page_size)
            offset = 0
            if cursor := got.get("cursor"):
                try:
                    _value, off, _prev = cursor.split(":")
                    offset = int(off)
                except ValueError:
                    raise _BadRequest("Invalid cursor parameter.") from None
            page = rows[offset : offset + size]
            if injected is not None and injected.fault == "short_page" and page:
                page = page[:-1]
            has_next = offset + size < len(rows)
            headers = {"X-Hits": str(len(rows)), "X-Max-Hits": "1000"}
            if injected is None or injected.fault != "no_link":
                params_without_cursor = [(k, v) for k, v in params if k != "cursor"]
                host = self.headers.get("Host", f"127.0.0.1:{fake.port}")
                url = f"http://{host}{quote(path)}?"
                if params_without_cursor:
                    url += urlencode(params_without_cursor) + "&"
                prev_cursor = f"{size}:{max(offset - size, 0)}:1"
                next_cursor = f"{size}:{offset + size}:0"
                headers["Link"] = (
                    f'<{url}cursor={prev_cursor}>; rel="previous"; '
                    f'results="{"true" if offset > 0 else "false"}"; cursor="{prev_cursor}", '
                    f'<{url}cursor={next_cursor}>; rel="next"; '
                    f'results="{"true" if has_next else "false"}"; cursor="{next_cursor}"'
                )
            return page, headers

        def _issues(
            self,
            org: str,
            params: list[tuple[str, str]],
            injected: _Injected | None,
            now: datetime,
        ) -> None:
            if org != fake.org:
                self._detail(404, "The requested resource does not exist")
                return
            rows, stats = fake._search(params, now)
            page, headers = self._paginate(
                rows, params, self.path.partition("?")[0], "limit", injected
            )
            body = [fake._serialize(issue, now, stats) for issue in page]
            self._json(200, body, headers)

        def _projects(
            self, org: str, params: list[tuple[str, str]], injected: _Injected | None
        ) -> None:
            if org != fake.org:
                self._detail(404, "The requested resource does not exist")
                return
            rows = [fake._project_json(p) for p in fake.projects]
            page, headers = self._paginate(
                rows, params, self.path.partition("?")[0], "per_page", injected
            )
            headers.pop("X-Hits", None)
            headers.pop("X-Max-Hits", None)
            self._json(200, page, headers)

        def _project(self, org: str, slug: str) -> None:
            project = next((p for p in fake.projects if p.slug == slug), None)
            if org != fake.org or project is None:
                self._detail(404, "The requested resource does not exist")
                return
            self._json(200, fake._project_json(project))

    return Handler
