"""Poll Sentry's organization issues endpoint for counts and the top issues (API-REFERENCE §1).

One poll makes these requests, one after another, on a shared ``httpx.AsyncClient``:

1. Once per source (cached): ``GET /api/0/organizations/{org}/projects/`` to turn the
   configured slugs into numeric ids. Numeric entries are used as they are.
2. Per project: ``GET …/organizations/{org}/issues/?project=<id>&query=is:unresolved
   &limit=1`` and read ``X-Hits`` (the unresolved count; no page walk needed).
3. One request for all projects (repeated ``project=``): ``query=is:unresolved
   firstSeen:-24h`` (never ``is:new``, which is a substatus Sentry clears on its own
   timer), walking ``Link`` pagination while ``next`` says ``results="true"``, and counting
   rows per project. "New since the shift" comes from the same rows when the shift started
   within the last 24 h, else from its own walk with ``firstSeen:>=<ISO>``.
4. The top issues: ``query=is:unresolved``, ``sort=date``, ``limit=top``, first page.

Decisions worth knowing:

* **Window.** Without ``statsPeriod``/``start``/``end`` the org endpoint silently filters to
  issues seen in the last 90 days. Every request sends ``statsPeriod=90d`` explicitly —
  Sentry's maximum (``MAX_STATS_PERIOD``), so no shorter window hides issues, and the
  numbers no longer depend on a server default. An unresolved issue with no event for
  over 90 days is therefore not counted (Sentry cannot be asked further back).
  ``groupStatsPeriod`` is empty: no sparklines are computed.
* **Top issues** are sorted by ``date`` (last seen): the unresolved issues active most
  recently, which is what changes during a shift, with their event counts alongside.
  ``freq`` over 90 days would pin the list to the same chronic noisy issues, and a
  shorter window would let the list be empty while unresolved issues exist.
* **Query** is always sent, because a saved or default view (e.g. "Prioritized") can be
  applied when it is missing. ``environment`` is sent when configured.
* **Pagination** re-sends our own parameters with the ``cursor`` from the ``Link`` header
  (treated as opaque) instead of following the header's URL, whose host may be an internal
  name behind a proxy. A list page without ``Link`` is an error, not the last page. A page
  may hold fewer rows than ``limit`` and still have more. The walk stops after
  ``MAX_PAGES`` pages (the counts are then lower bounds).
* **Rate limits.** A 429 waits ``Retry-After`` (else ``X-Sentry-Rate-Limit-Reset``) and
  retries, at most ``MAX_RETRIES`` times and only when the wait fits in the poll's
  deadline; otherwise :class:`SourceError` carries ``retry_after`` so the poller backs off.
  The last ``X-Sentry-Rate-Limit-Remaining`` seen lands in the snapshot.
* **Deadline.** ``config.timeout`` bounds the whole poll (``asyncio.timeout``); httpx's own
  timeouts use the same value as a backstop.
* **Base URL** may be written with or without the trailing ``/api/0`` (the API reference
  writes it with); a self-hosted path prefix is kept.
* **Permalinks** are kept only when they are http(s) URLs with a host: the detail view
  opens them in a browser, and they come from the server.
* **Errors** are one line, never contain the token or a URL's query string, and are raised
  ``from None`` so no chained httpx exception (which holds the request headers) travels
  with them. Only ``asyncio.CancelledError`` escapes otherwise.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from opsconsole import __version__
from opsconsole.adapters.http_body import MIB, read_capped
from opsconsole.adapters.sentry_rows import (
    SentryRows,
    _api_root,
    _clean,
    _detail,
    _first_seen_from,
    _hits,
    _is_html,
    _next_cursor,
)
from opsconsole.config.sources import SentryConfig
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import SentryProjectCounts, SentrySnapshot, SourceError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_PAGES",
    "MAX_RETRIES",
    "MAX_RETRY_WAIT",
    "PAGE_LIMIT",
    "SentrySource",
]

PAGE_LIMIT = 100
"""Rows asked for per page when walking (Sentry's maximum)."""

MAX_PAGES = 50
"""The most pages one walk follows."""

MAX_RETRIES = 3
"""The most 429 retries within one poll."""

MAX_BODY_BYTES = 4 * MIB
"""Larger answers are refused, not read (a page of 100 issues is a few hundred KiB)."""

MAX_RETRY_WAIT = 3600.0
"""The longest wait a 429 can ask for, in seconds (longer or non-finite waits are capped)."""

COUNT_WINDOW = "90d"
TOP_SORT = "date"
UNRESOLVED = "is:unresolved"
NEW_24H = "is:unresolved firstSeen:-24h"

_USER_AGENT = f"opsconsole/{__version__} (sentry)"


class _RateLimited(Exception):
    def __init__(self, wait: float, detail: str) -> None:
        super().__init__(detail)
        self.wait = wait
        self.detail = detail


class SentrySource(SentryRows):
    """Issue counts per project and the top issues of a Sentry org.

    Args:
        config: the ``sentry:`` section.
        clock: wall clock (aware UTC), used to decide whether the shift started within
            24 h and to turn ``X-Sentry-Rate-Limit-Reset`` into a wait.
        shift_start: answers the current shift's start (aware) at each poll.
        overnight_start: answers the previous shift's start (aware), or None. Given, each
            project also counts the issues first seen since then (``new_overnight``): the
            start-of-shift checklist asks about "Sentry errors new since the last shift".
    """

    def __init__(
        self,
        config: SentryConfig,
        *,
        clock: Clock = system_clock,
        shift_start: Callable[[], datetime],
        overnight_start: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._shift_start = shift_start
        self._overnight_start = overnight_start
        self._timeout = config.timeout.total_seconds()
        self._org_path = f"/api/0/organizations/{quote(config.org, safe='')}"
        self._ids: dict[str, str] | None = None  # configured entry -> numeric id
        self._labels: dict[str, str] = {}  # numeric id -> configured entry
        self._rate_remaining: int | None = None
        self._closed = False
        self._client = httpx.AsyncClient(
            base_url=_api_root(config.base_url),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout),
            headers={
                "Authorization": f"Bearer {config.token.get_secret_value()}",
                "Accept": "application/json",
                "User-Agent": _USER_AGENT,
            },
        )

    async def aclose(self) -> None:
        """Close the HTTP client; later polls raise :class:`SourceError`."""
        self._closed = True
        await self._client.aclose()

    async def poll(self) -> SentrySnapshot:
        """Fetch the counts and the top issues.

        Raises:
            SourceError: with a one-line reason (and ``retry_after`` after a 429) on any
                failure: HTTP errors, timeouts, unreachable host, bad JSON, no Link header.
        """
        if self._closed:
            raise SourceError("Sentry source is closed")
        deadline = time.monotonic() + self._timeout
        try:
            async with asyncio.timeout(self._timeout):
                return await self._poll(deadline)
        except SourceError:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(
                f"Sentry did not answer within {format_duration(self._config.timeout)}"
            ) from None
        except _RateLimited as limited:
            raise SourceError(
                f"429 Too Many Requests: {limited.detail}", retry_after=limited.wait
            ) from None
        except Exception as exc:
            raise SourceError(self._describe(exc)) from None

    # -- the poll ---------------------------------------------------------------------------

    async def _poll(self, deadline: float) -> SentrySnapshot:
        self._rate_remaining = None
        ids = await self._project_ids(deadline)
        shift = self._shift_start().astimezone(UTC)
        now = self._clock()
        unresolved: dict[str, int] = {}
        for label, pid in ids.items():
            _, headers = await self._get_list(
                "/issues/",
                self._issue_params([pid], UNRESOLVED, window=COUNT_WINDOW, limit=1),
                deadline,
            )
            unresolved[label] = _hits(headers)
        all_ids = list(ids.values())
        new_rows = await self._walk(
            self._issue_params(all_ids, NEW_24H, window=COUNT_WINDOW, sort="new"), deadline
        )
        new_24h = Counter(self._label_of(row) for row in new_rows)
        overnight = None
        if self._overnight_start is not None:
            overnight = self._overnight_start().astimezone(UTC)
            if overnight >= shift:
                overnight = None
        night: Counter[str] | None = None
        if overnight is None:
            shift_rows = await self._first_seen_since(shift, new_rows, all_ids, now, deadline)
        else:  # one walk for the night; this shift's issues are among them
            night_rows = await self._first_seen_since(overnight, new_rows, all_ids, now, deadline)
            night = Counter(self._label_of(row) for row in night_rows)
            shift_rows = _first_seen_from(night_rows, shift, now)
        since_shift = Counter(self._label_of(row) for row in shift_rows)
        top_rows, _ = await self._get_list(
            "/issues/",
            self._issue_params(
                all_ids, UNRESOLVED, window=COUNT_WINDOW, sort=TOP_SORT, limit=self._config.top
            ),
            deadline,
        )
        return SentrySnapshot(
            projects=tuple(
                SentryProjectCounts(
                    project=label,
                    unresolved=unresolved[label],
                    new_24h=new_24h[label],
                    new_since_shift=since_shift[label],
                    new_overnight=None if night is None else night[label],
                )
                for label in ids
            ),
            top=tuple(self._issue(row) for row in top_rows[: self._config.top]),
            shift_start=shift,
            rate_limit_remaining=self._rate_remaining,
            overnight_since=overnight,
        )

    async def _first_seen_since(
        self,
        start: datetime,
        new_rows: list[dict[str, Any]],
        project_ids: list[str],
        now: datetime,
        deadline: float,
    ) -> list[dict[str, Any]]:
        """The unresolved issues first seen at or after ``start``: taken from the last
        24 h's rows when ``start`` is within them, else one more walk."""
        if now - start <= timedelta(hours=24):
            return _first_seen_from(new_rows, start, now)
        query = f"{UNRESOLVED} firstSeen:>={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        return await self._walk(
            self._issue_params(project_ids, query, window=COUNT_WINDOW, sort="new"), deadline
        )

    def _issue_params(
        self,
        project_ids: list[str],
        query: str,
        *,
        window: str,
        sort: str = "date",
        limit: int = PAGE_LIMIT,
    ) -> list[tuple[str, str]]:
        params = [("project", pid) for pid in project_ids]
        if self._config.environment:
            params.append(("environment", self._config.environment))
        params += [
            ("query", query),
            ("statsPeriod", window),
            ("groupStatsPeriod", ""),
            ("sort", sort),
            ("limit", str(limit)),
        ]
        return params

    async def _project_ids(self, deadline: float) -> dict[str, str]:
        """Configured entry -> numeric id, resolved once (slugs need a request)."""
        if self._ids is not None:
            return self._ids
        entries = self._config.projects
        slugs = {e for e in entries if not e.isdigit()}
        by_slug: dict[str, str] = {}
        if slugs:
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                params = [("per_page", str(PAGE_LIMIT))]
                if cursor:
                    params.append(("cursor", cursor))
                rows, headers = await self._get_list("/projects/", params, deadline, link=False)
                for row in rows:
                    if isinstance(row, dict) and row.get("slug") in slugs:
                        by_slug[str(row["slug"])] = str(row.get("id", ""))
                if slugs <= by_slug.keys():
                    break
                cursor = _next_cursor(headers)
                if cursor is None:
                    break
        ids: dict[str, str] = {}
        for entry in entries:
            pid = entry if entry.isdigit() else by_slug.get(entry, "")
            if not pid.isdigit():
                raise SourceError(
                    f"404: unknown Sentry project {_clean(entry)!r} in org "
                    f"{_clean(self._config.org)!r}"
                )
            ids[entry] = pid
        self._ids = ids
        self._labels = {pid: entry for entry, pid in ids.items()}
        return ids

    async def _walk(self, params: list[tuple[str, str]], deadline: float) -> list[dict[str, Any]]:
        """Every row of a list, following ``Link`` while ``next`` has results."""
        rows: dict[str, dict[str, Any]] = {}  # by id: a row can shift to the next page
        seen: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_params = [*params, ("cursor", cursor)] if cursor else params
            page, headers = await self._get_list("/issues/", page_params, deadline)
            for row in page:
                rows.setdefault(str(row.get("id", len(rows))), row)
            cursor = _next_cursor(headers)
            if cursor is None or cursor in seen:
                break
            seen.add(cursor)
        return list(rows.values())

    # -- HTTP -------------------------------------------------------------------------------

    async def _get_list(
        self,
        suffix: str,
        params: list[tuple[str, str]],
        deadline: float,
        *,
        link: bool = True,
    ) -> tuple[list[dict[str, Any]], httpx.Headers]:
        """GET an org list endpoint, retrying 429s that fit the deadline; rows and headers."""
        retries = 0
        while True:
            try:
                return await self._get_once(self._org_path + suffix, params, link=link)
            except _RateLimited as limited:
                left = deadline - time.monotonic()
                if retries >= MAX_RETRIES or limited.wait + 0.25 > left:
                    raise
                retries += 1
                await asyncio.sleep(limited.wait)

    async def _get_once(
        self, path: str, params: list[tuple[str, str]], *, link: bool
    ) -> tuple[list[dict[str, Any]], httpx.Headers]:
        async with self._client.stream("GET", path, params=tuple(params)) as response:
            capped = await read_capped(response, MAX_BODY_BYTES)
        content = capped or b""
        headers = response.headers
        remaining = headers.get("X-Sentry-Rate-Limit-Remaining", "")
        if remaining.strip().isdigit():
            self._rate_remaining = int(remaining)
        status = response.status_code
        if status == 429:
            raise _RateLimited(self._retry_wait(headers), _detail(content) or "rate limited")
        if status != 200:
            if status == 404:  # a renamed or deleted project: resolve slugs again next time
                self._ids = None
            lookup = path.endswith("/projects/")
            raise SourceError(self._http_reason(status, headers, content, lookup=lookup))
        if capped is None:
            raise SourceError(
                f"Sentry's answer is larger than {MAX_BODY_BYTES // MIB} MiB; not read"
            )
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            if _is_html(headers, content):
                raise SourceError(
                    "Sentry returned an HTML page, not JSON (check base_url)"
                ) from None
            raise SourceError("Sentry returned invalid JSON") from None
        if not isinstance(body, list):
            raise SourceError("Sentry returned an unexpected answer (expected a list)")
        if link and "Link" not in headers:
            raise SourceError("Sentry response had no Link header (a proxy may have stripped it)")
        return [row for row in body if isinstance(row, dict)], headers

    def _retry_wait(self, headers: httpx.Headers) -> float:
        """Seconds to wait after a 429: Retry-After, else the rate-limit reset, else 1.

        The wait is finite and at most :data:`MAX_RETRY_WAIT` (``Retry-After: inf`` or a
        reset years ahead must not stop the pane from ever polling again).
        """
        retry_after = headers.get("Retry-After", "").strip()
        if retry_after:
            try:
                return _bounded_wait(float(retry_after))
            except ValueError:
                pass
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return _bounded_wait((when - self._clock()).total_seconds())
        reset = headers.get("X-Sentry-Rate-Limit-Reset", "").strip()
        try:
            return _bounded_wait(float(reset) - self._clock().timestamp())
        except ValueError:
            return 1.0


# -- helpers --------------------------------------------------------------------------------


def _bounded_wait(seconds: float) -> float:
    """``seconds`` clamped to ``[0, MAX_RETRY_WAIT]``; NaN becomes 1."""
    if math.isnan(seconds):
        return 1.0
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)
