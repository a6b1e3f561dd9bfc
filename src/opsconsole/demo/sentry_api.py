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

The data model and demo data live in :mod:`opsconsole.demo.sentry_data`, the issue search
in :mod:`opsconsole.demo.sentry_search` and the request handler in
:mod:`opsconsole.demo.sentry_http`; the public names are re-exported here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from opsconsole.demo.sentry_data import (
    DEFAULT_PROJECTS,
    FakeIssue,
    FakeProject,
    Fault,
    RecordedRequest,
    _base36,
    _Injected,
    _templates,
    demo_issues,
)
from opsconsole.demo.sentry_http import EDGE_502 as EDGE_502
from opsconsole.demo.sentry_http import RATE_LIMIT, RATE_WINDOW, _make_handler
from opsconsole.demo.sentry_search import MAX_STATS_PERIOD as MAX_STATS_PERIOD
from opsconsole.demo.sentry_search import _BadRequest, _iso, _parse_query, _window

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
