"""Reading Sentry's answers for :class:`~opsconsole.adapters.sentry.SentrySource`.

Issue rows become :class:`SentryIssue`, ``Link``/``X-Hits`` headers become cursors and
counts, and failures become one-line reasons with no token and no query string.
:class:`SentryRows` holds the methods that need the source's config and project labels
(``SentrySource`` inherits them); the rest are plain functions.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx

from opsconsole.adapters.error_chain import exception_chain
from opsconsole.config.sources import SentryConfig
from opsconsole.core.sources import SentryIssue, SourceError

_MAX_DETAIL = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_LINK = re.compile(r'<[^>]*>((?:\s*;\s*[A-Za-z_]+="[^"]*")*)')
_LINK_PARAM = re.compile(r'([A-Za-z_]+)="([^"]*)"')


class SentryRows:
    """Row parsing and error text, mixed into :class:`~opsconsole.adapters.sentry.SentrySource`."""

    _config: SentryConfig
    _labels: dict[str, str]  # numeric id -> configured entry

    def _http_reason(
        self, status: int, headers: httpx.Headers, content: bytes, *, lookup: bool = False
    ) -> str:
        """One line for an HTTP error; ``lookup`` when it answered the project-slug lookup."""
        detail = _detail(content)
        org = _clean(self._config.org)
        if status == 401:
            reason = "401 Unauthorized: the Sentry token is invalid or expired"
        elif status == 403 and lookup:
            # Listing projects needs org:read; a token with only event:read reads issues
            # fine but cannot turn slugs into ids.
            reason = (
                "403 Forbidden: the token cannot list the org's projects to resolve slugs "
                "(needs org:read as well as event:read; numeric project ids need no lookup)"
            )
        elif status == 403:
            reason = (
                "403 Forbidden: the token lacks event:read (org tokens sntrys_ cannot read issues)"
            )
        elif status == 404:
            reason = f"404: unknown Sentry org {org!r} or project"
        elif status == 400:
            reason = "400 Bad Request"
        elif 300 <= status < 400:
            target = _origin(headers.get("Location", ""))
            where = f" to {target}" if target else ""
            return f"Sentry redirected{where} (check base_url)"
        elif _is_html(headers, content) or detail is None:
            kind = "HTML error page" if _is_html(headers, content) else "no details"
            return f"Sentry returned {status} ({kind})"
        else:
            reason = f"Sentry returned {status}"
        if detail:
            reason += f": {self._scrub(detail)}" if status >= 500 else f" ({self._scrub(detail)})"
        return reason

    # -- parsing ----------------------------------------------------------------------------

    def _label_of(self, row: dict[str, Any]) -> str:
        project = row.get("project")
        pid = str(project.get("id", "")) if isinstance(project, dict) else ""
        return self._labels.get(pid, pid)

    def _issue(self, row: dict[str, Any]) -> SentryIssue:
        project = row.get("project")
        slug = project.get("slug") if isinstance(project, dict) else None
        permalink = row.get("permalink")
        return SentryIssue(
            id=str(row.get("id", "")),
            short_id=str(row.get("shortId") or row.get("id", "")),
            title=str(row.get("title") or ""),
            culprit=str(row.get("culprit") or ""),
            level=str(row.get("level") or "error"),
            project=str(slug) if slug else self._label_of(row),
            events=_int(row.get("count")),
            users=_int(row.get("userCount")),
            first_seen=_when(row.get("firstSeen")),
            last_seen=_when(row.get("lastSeen")),
            permalink=_permalink(permalink),
        )

    # -- error text -------------------------------------------------------------------------

    def _describe(self, exc: BaseException) -> str:
        """A one-line reason for a transport error (no URL, no token)."""
        host = _clean(httpx.URL(self._config.base_url).host or "Sentry")
        chain = list(exception_chain(exc))

        def find(kind: type[BaseException]) -> BaseException | None:
            return next((e for e in chain if isinstance(e, kind)), None)

        if (gai := find(socket.gaierror)) is not None:
            reason = getattr(gai, "strerror", None) or "name resolution failed"
            return f"DNS lookup failed for {host}: {self._scrub(str(reason))}"
        if find(ConnectionRefusedError) is not None:
            return f"cannot connect to Sentry at {host}: connection refused"
        if (cert := find(ssl.SSLCertVerificationError)) is not None:
            why = getattr(cert, "verify_message", None) or "certificate verify failed"
            return f"TLS error talking to {host}: {self._scrub(str(why))}"
        if find(ssl.SSLError) is not None:
            return f"TLS error talking to {host}"
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"Sentry at {host} sent an invalid HTTP response"
        if isinstance(exc, httpx.ReadError | httpx.WriteError):
            return f"connection to Sentry at {host} was lost"
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return "invalid Sentry base_url (expected http:// or https://)"
        if (os_error := find(OSError)) is not None and getattr(os_error, "strerror", None):
            why = str(getattr(os_error, "strerror", ""))
            return f"cannot connect to Sentry at {host}: {self._scrub(why)}"
        # Not str(exc): httpx/h11 errors quote what they refused to send, such as the
        # Authorization header (b'Bearer <token>\\n' does not contain the token verbatim).
        return f"Sentry request to {host} failed ({type(exc).__name__})"

    def _scrub(self, text: str) -> str:
        token = self._config.token.get_secret_value()
        if len(token) >= 6:  # shorter "tokens" would blank out ordinary words
            text = text.replace(token, "[redacted]")
        return _clean(text)


# -- helpers --------------------------------------------------------------------------------


def _clean(text: str, limit: int = _MAX_DETAIL) -> str:
    """One line, no control characters, at most ``limit`` characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    # A URL's query string may carry secrets: keep only what precedes it.
    text = re.sub(r"(https?://[^\s?#]*)\?\S*", r"\1", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(content: bytes) -> str | None:
    """Sentry's ``{"detail": "..."}`` text, if the body has one."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if isinstance(body, dict) and isinstance(body.get("detail"), str | dict):
        detail = body["detail"]
        if isinstance(detail, dict):  # {"detail": {"code": ..., "message": ...}}
            detail = detail.get("message")
        return _clean(detail) if isinstance(detail, str) and detail.strip() else None
    return None


def _is_html(headers: httpx.Headers, content: bytes) -> bool:
    if "html" in headers.get("Content-Type", "").lower():
        return True
    return content.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except Exception:
        return ""
    if not parsed.scheme or not parsed.host:
        return ""
    return _clean(f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}")


def _next_cursor(headers: httpx.Headers) -> str | None:
    """The ``next`` cursor of a Sentry ``Link`` header when it has results, else ``None``."""
    for match in _LINK.finditer(headers.get("Link", "")):
        attrs = dict(_LINK_PARAM.findall(match.group(1)))
        if attrs.get("rel") == "next":
            if attrs.get("results") == "true" and attrs.get("cursor"):
                return str(attrs["cursor"])
            return None
    return None


def _api_root(base_url: str) -> str:
    """The configured base URL without a trailing ``/api/0`` (the API reference writes
    ``https://sentry.io/api/0/``); request paths start with ``/api/0/`` themselves."""
    url = base_url.rstrip("/")
    while url.endswith("/api/0"):
        url = url[: -len("/api/0")].rstrip("/")
    return url


def _permalink(value: object) -> str | None:
    """An issue's ``permalink`` when it is an http(s) URL with a host, else None.

    The link is opened in a browser and copied on request: a server must not be able to
    hand the console a ``file:`` or ``javascript:`` URL, or one with control characters.
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    if _CONTROL.search(value) or any(ch.isspace() for ch in value):
        return None
    try:
        parsed = httpx.URL(value)
    except Exception:
        return None
    return value if parsed.scheme in ("http", "https") and parsed.host else None


def _hits(headers: httpx.Headers) -> int:
    value = headers.get("X-Hits", "").strip()
    if not value.isdigit():
        raise SourceError("Sentry response had no X-Hits header (a proxy may have stripped it)")
    return int(value)


def _int(value: object) -> int:
    """``count`` is a string, ``userCount`` an int; anything unreadable is 0."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def _when(value: object) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _first_seen_from(
    rows: list[dict[str, Any]], start: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The rows first seen at or after ``start`` (a row without a readable time counts)."""
    return [row for row in rows if (_when(row.get("firstSeen")) or now) >= start]
