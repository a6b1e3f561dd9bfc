"""Read a public Atlassian Statuspage through ``/api/v2/summary.json`` (API-REFERENCE §6).

The snapshot holds the overall indicator, the components that are not operational (groups
skipped, children named ``"Group / Child"``), the open incidents and the upcoming or
in-progress maintenances.

Decisions worth knowing:

* **Politeness.** Status pages are rate-limited CDN pages. Whatever the caller does, a
  ``poll()`` within 60 s of the last successful fetch returns the cached snapshot without a
  request, and after a 429 nothing is sent before its ``Retry-After`` has passed.
* **Other vendors.** Instatus, incident.io and others serve other schemas: a 404, an HTML
  page or JSON without Statuspage's shape becomes a one-line :class:`SourceError` saying
  the URL is "not an Atlassian Statuspage".
* **Untrusted text.** Names, update bodies and links come from a third party. They are kept
  as-is (the UI sanitizes) but capped in length and count; the body is capped at 4 MiB.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from opsconsole import __version__
from opsconsole.adapters.http_body import MIB, read_capped
from opsconsole.config.sources import MIN_STATUSPAGE_INTERVAL, StatuspageConfig
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import (
    SourceError,
    StatusComponent,
    StatusIncident,
    StatusPageSnapshot,
)

__all__ = [
    "MAX_BODY_BYTES",
    "SUMMARY_PATH",
    "StatuspageSource",
    "parse_summary",
    "summary_url",
]

SUMMARY_PATH = "/api/v2/summary.json"
MAX_BODY_BYTES = 4 * MIB
"""Larger summary.json bodies are refused (big public pages are a few hundred KiB)."""

MIN_FETCH_GAP = MIN_STATUSPAGE_INTERVAL
"""``poll()`` never fetches more often than this, whoever calls it."""

_MAX_NAME = 200
_MAX_STATUS = 40
_MAX_UPDATE = 500
_MAX_LINK = 500
_MAX_COMPONENTS = 200
_MAX_INCIDENTS = 50
_USER_AGENT = f"opsconsole/{__version__} (status page)"
_ACTIVE_MAINTENANCE = {"scheduled", "in_progress", "verifying"}


class StatuspageSource:
    """Polls one Statuspage's ``summary.json``; at most one fetch per 60 s.

    Args:
        config: the ``statuspage:`` section.
        clock: injected time, used for the 60 s cache and ``Retry-After``.
    """

    def __init__(self, config: StatuspageConfig, *, clock: Clock = system_clock) -> None:
        self._config = config
        self._clock = clock
        self._url = summary_url(config.url)
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._snapshot: StatusPageSnapshot | None = None
        self._fetched_at: datetime | None = None
        self._not_before: datetime | None = None
        self._last_error: SourceError | None = None

    @property
    def url(self) -> str:
        """The summary.json URL polled."""
        return self._url

    @property
    def fetched_at(self) -> datetime | None:
        """When the cached snapshot was fetched (``None`` before the first success)."""
        return self._fetched_at

    async def poll(self) -> StatusPageSnapshot:
        """Return the page's snapshot, from cache when fetched less than 60 s ago.

        Raises:
            SourceError: with a one-line reason when the page cannot be read.
        """
        async with self._lock:  # concurrent callers share one request
            now = self._clock()
            if self._snapshot is not None and self._fetched_at is not None:
                age = now - self._fetched_at
                if timedelta(0) <= age < MIN_FETCH_GAP:
                    return self._snapshot
            if self._not_before is not None and now < self._not_before:
                assert self._last_error is not None
                raise self._last_error
            try:
                snapshot = parse_summary(await self._fetch())
            except SourceError as exc:
                if exc.retry_after is not None:
                    self._not_before = now + timedelta(seconds=exc.retry_after)
                    self._last_error = exc
                raise
            self._snapshot, self._fetched_at = snapshot, now
            self._not_before = self._last_error = None
            return snapshot

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- HTTP ------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._config.timeout.total_seconds()),
                follow_redirects=True,
                max_redirects=5,
                trust_env=False,
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            )
        return self._client

    async def _fetch(self) -> Any:
        timeout = self._config.timeout
        try:
            async with asyncio.timeout(timeout.total_seconds()):
                async with self._http().stream("GET", self._url) as response:
                    _check_status(response)
                    body = await _read_capped(response)
        except SourceError:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(f"timed out after {format_duration(timeout)}") from None
        except httpx.TooManyRedirects:
            raise SourceError("too many redirects") from None
        except httpx.ConnectError as exc:
            raise SourceError(_connect_reason(exc, self._url)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            raise SourceError("connection lost while reading the status page") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"request failed ({type(exc).__name__})") from None
        content_type = response.headers.get("content-type", "").lower()
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise SourceError("not an Atlassian Statuspage (HTML, not JSON)")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise SourceError("invalid JSON from summary.json") from None


def summary_url(url: str) -> str:
    """The ``summary.json`` URL of a page: its root, its ``/api/v2`` or the file itself."""
    base = url.rstrip("/")
    if base.endswith(SUMMARY_PATH):
        return base
    return base.removesuffix("/api/v2") + SUMMARY_PATH


def _check_status(response: httpx.Response) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    if code == 404:
        raise SourceError("not an Atlassian Statuspage (summary.json returned 404)")
    if code in (401, 403):
        raise SourceError(f"access denied (HTTP {code}): private status pages are not supported")
    if code == 429:
        retry = _retry_after(response.headers.get("retry-after"))
        wait = f"; retrying after {retry:.0f}s" if retry else ""
        raise SourceError(f"rate limited (HTTP 429){wait}", retry_after=retry or 60.0)
    phrase = response.reason_phrase if response.reason_phrase.isascii() else ""
    raise SourceError(f"status page answered HTTP {code} {phrase[:40]}".rstrip())


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), 3600.0)


async def _read_capped(response: httpx.Response) -> bytes:
    body = await read_capped(response, MAX_BODY_BYTES)
    if body is None:
        raise SourceError(f"summary.json is larger than {MAX_BODY_BYTES // MIB} MiB")
    return body


def _connect_reason(exc: httpx.ConnectError, url: str) -> str:
    host = urlsplit(url).hostname or "?"
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        if isinstance(current, BaseExceptionGroup):
            chain.extend(current.exceptions)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, socket.gaierror) for e in chain):
        return f"DNS lookup failed for {host}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"connection refused by {host}"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return f"TLS error talking to {host}"
    return f"could not reach {host}"


# -- parsing ---------------------------------------------------------------------------------


def parse_summary(data: Any) -> StatusPageSnapshot:
    """Turn a decoded ``summary.json`` into a :class:`StatusPageSnapshot`.

    Raises:
        SourceError: when the document does not have Statuspage's shape.
    """
    if not isinstance(data, Mapping):
        raise SourceError("not an Atlassian Statuspage (summary.json is not a JSON object)")
    status = data.get("status")
    if not isinstance(status, Mapping) or not isinstance(status.get("indicator"), str):
        raise SourceError("not an Atlassian Statuspage (summary.json has no status.indicator)")
    components = data.get("components", [])
    incidents = data.get("incidents", [])
    maintenances = data.get("scheduled_maintenances", [])
    for key, value in (
        ("components", components),
        ("incidents", incidents),
        ("scheduled_maintenances", maintenances),
    ):
        if not isinstance(value, list):
            raise SourceError(f"malformed summary.json ('{key}' is not a list)")
    page = data.get("page")
    page_name = _text(page.get("name"), _MAX_NAME) if isinstance(page, Mapping) else ""
    return StatusPageSnapshot(
        page=page_name,
        indicator=_text(status.get("indicator"), _MAX_STATUS) or "unknown",
        description=_text(status.get("description"), _MAX_NAME),
        components=tuple(_components(components))[:_MAX_COMPONENTS],
        incidents=tuple(_incidents(incidents, maintenance=False))[:_MAX_INCIDENTS],
        maintenances=tuple(_incidents(maintenances, maintenance=True))[:_MAX_INCIDENTS],
    )


def _components(items: list[Any]) -> Iterator[StatusComponent]:
    rows = [c for c in items if isinstance(c, Mapping)]
    groups = {
        c.get("id"): _text(c.get("name"), _MAX_NAME)
        for c in rows
        if c.get("group") is True and isinstance(c.get("id"), str)
    }
    for component in rows:
        if component.get("group") is True:
            continue  # a group's status is derived from its children: counted twice otherwise
        status = _text(component.get("status"), _MAX_STATUS)
        if status == "operational":
            continue
        name = _text(component.get("name"), _MAX_NAME) or "(unnamed component)"
        group_id = component.get("group_id")
        group = groups.get(group_id) if isinstance(group_id, str) else None
        if group:
            name = f"{group} / {name}"
        yield StatusComponent(name=name, status=status or "unknown")


def _incidents(items: list[Any], *, maintenance: bool) -> Iterator[StatusIncident]:
    for item in items:
        if not isinstance(item, Mapping):
            continue
        status = _text(item.get("status"), _MAX_STATUS)
        if maintenance and status not in _ACTIVE_MAINTENANCE:
            continue  # completed maintenances are not news
        if not maintenance and status in ("resolved", "postmortem"):
            continue
        if maintenance:
            started = _time(item.get("scheduled_for")) or _time(item.get("started_at"))
        else:
            started = _time(item.get("started_at")) or _time(item.get("created_at"))
        yield StatusIncident(
            name=_text(item.get("name"), _MAX_NAME) or "(unnamed incident)",
            status=status or "unknown",
            impact=_text(item.get("impact"), _MAX_STATUS) or "none",
            started_at=started,
            shortlink=_link(item.get("shortlink")),
            latest_update=_latest_update(item.get("incident_updates")),
        )


def _latest_update(updates: Any) -> str:
    """First line of the newest update body (Statuspage lists newest first)."""
    if not isinstance(updates, list):
        return ""
    rows = [u for u in updates if isinstance(u, Mapping)]
    if not rows:
        return ""
    oldest = datetime.min.replace(tzinfo=UTC)
    newest = max(
        enumerate(rows),
        key=lambda pair: (
            _time(pair[1].get("display_at")) or _time(pair[1].get("created_at")) or oldest,
            -pair[0],
        ),
    )[1]
    body = newest.get("body")
    if not isinstance(body, str):
        return ""
    for line in body.splitlines():
        if line.strip():
            return _text(line.strip(), _MAX_UPDATE)
    return ""


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _link(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > _MAX_LINK:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.hostname else None


def _time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp with an offset, as aware UTC (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
