"""Post messages to a Slack incoming webhook (API-REFERENCE §5).

Slack's incoming webhooks are not its Web API: there is no auth header (**the URL is the
secret**), success is **200 with the plain-text body ``ok``**, and errors come back as an
HTTP status with a plain-text body, never as JSON ``ok: false``.

What :meth:`SlackWebhook.post` does with each answer:

* ``200`` + ``ok``: delivered. A 200 with any other body (a captive portal's HTML, a
  proxy's page) is an error: nothing says Slack got the message.
* ``429``: waits ``Retry-After`` seconds (the backoff when the header is missing or
  unreadable), then tries again. A ``Retry-After`` over :data:`MAX_RETRY_AFTER` is not
  waited for here: :class:`SlackError` (``retryable=True``, ``retry_after`` = Slack's wait,
  at most :data:`MAX_QUEUE_WAIT`) comes back at once, and the outbox retries then.
* ``5xx``, timeouts, refused or lost connections: exponential backoff (``backoff``,
  ``2 × backoff``, ``4 × backoff`` … capped at :data:`MAX_BACKOFF`), then tries again.
* After ``max_attempts`` attempts: :class:`SlackError` with ``retryable=True``; the
  caller keeps the message in its outbox and tries later, so an update is never lost.
* ``400``/``403``/``404``/``410`` and other 4xx: :class:`SlackError` with
  ``retryable=False`` and a reason that says what to fix. Retrying cannot help.
* A redirect is not followed (its target could be anything) and is not retried.

The payload is ``{"text": …}`` plus ``"blocks"`` when given: ``text`` is always sent (it
is the notification fallback, and Slack answers ``no_text`` without it), and no
``channel``/``username``/``icon_*`` override is ever sent (app webhooks are bound to one
channel and answer 404 to an override).

``text`` is plain text from the caller (incident updates quote Sentry titles such as
``NameError in <module>``, alert summaries such as ``5xx > 5% & rising``). Slack parses a
webhook's ``text`` as mrkdwn, where ``<…>`` is a link or a mention (``<!channel>`` pings
everyone) and ``&`` starts an entity, so :func:`slack_escape` replaces ``&``, ``<`` and
``>`` with ``&amp;``, ``&lt;`` and ``&gt;`` (Slack's "escaping text" rule) before it is
sent, and Slack shows the text literally. The escaped text is capped at
:data:`MAX_TEXT_CHARS` characters (Slack truncates longer messages itself, at an
arbitrary point that can split an entity); a cut text ends with :data:`TRUNCATION_MARK`.
Caller-provided ``blocks`` are sent as they are.

Secrets: the webhook URL never appears in an exception, a repr or a log line written
here. Error texts are built from status codes and Slack's short error bodies, then run
through :func:`~opsconsole.core.redact.redact_text` with the URL, its path and its path
segments as literal secrets (loopback test URLs have no ``hooks.slack.com`` host for the
generic rule to catch). Exceptions are raised ``from None``, so no chained httpx
exception (whose request carries the URL) travels with them. httpx itself logs the full
URL at INFO: :mod:`opsconsole.adapters.logging_setup` redacts the ``httpx`` logger.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from opsconsole import __version__
from opsconsole.core.redact import MIN_SECRET_LENGTH, REDACTED, redact_text

__all__ = [
    "MAX_BACKOFF",
    "MAX_QUEUE_WAIT",
    "MAX_RETRY_AFTER",
    "MAX_TEXT_CHARS",
    "TRUNCATION_MARK",
    "SlackError",
    "SlackWebhook",
    "slack_escape",
]

MAX_RETRY_AFTER = 60.0
"""The longest a 429's ``Retry-After`` is honoured for, in seconds."""

MAX_BACKOFF = 60.0
"""The longest exponential backoff between two attempts, in seconds."""

MAX_QUEUE_WAIT = 3600.0
"""The longest ``Retry-After`` handed back to the caller (its outbox waits that long)."""

MAX_TEXT_CHARS = 40_000
"""The longest ``text`` sent (after escaping); Slack truncates messages past 40,000."""

TRUNCATION_MARK = "… (truncated)"
"""Ends a ``text`` cut to :data:`MAX_TEXT_CHARS`."""

_USER_AGENT = f"opsconsole/{__version__} (slack)"
_MAX_DETAIL = 80
_MAX_HEAD = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


class SlackError(Exception):
    """Slack did not take the message.

    Attributes:
        reason: One line for the operator, without the webhook URL.
        retryable: True when trying again later may work (rate limit, 5xx, network);
            False when the webhook or the payload must be fixed first.
        retry_after: After a 429, the wait Slack asked for (seconds), else None.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        """Create the error; ``str(error)`` is ``reason``."""
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        """``SlackError('…', retryable=…)``."""
        return f"SlackError({self.reason!r}, retryable={self.retryable})"


class _Retry(Exception):
    """One failed attempt that another attempt may fix."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait  # Slack's Retry-After (capped), else None: use the backoff


class SlackWebhook:
    """One Slack incoming webhook.

    Args:
        url: The webhook URL (``https://hooks.slack.com/services/T…/B…/…``). It is a
            secret: kept only inside the HTTP client, shown redacted in the repr.
        timeout: Seconds for each attempt as a whole (connect, write and read).
        max_attempts: Attempts per :meth:`post`, the first one included (at least 1).
        backoff: The first wait after a 5xx or network error, in seconds; it doubles
            after each further failure.
        sleep: Awaited for every wait between attempts (tests inject a recorder).

    Raises:
        SlackError: (not retryable) when ``url`` is not an http(s) URL with a host.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Check the URL and create the HTTP client (no request is made)."""
        self._secrets = _url_secrets(url)
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
            target = httpx.URL(url.strip())
        except (ValueError, httpx.InvalidURL):
            parts, host = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise SlackError(
                "invalid Slack webhook URL (expected https://hooks.slack.com/services/…)",
                retryable=False,
            ) from None
        self._url = target
        self._shown = f"{parts.scheme}://{host}/{REDACTED}"
        self._host = host
        self._timeout = timeout
        self._max_attempts = max(1, int(max_attempts))
        self._backoff = max(0.0, backoff)
        self._sleep = sleep
        self._closed = False
        self._client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": _USER_AGENT},
        )

    def __repr__(self) -> str:
        """``SlackWebhook('https://hooks.slack.com/[redacted]')``: never the secret path."""
        return f"SlackWebhook({self._shown!r})"

    async def aclose(self) -> None:
        """Close the HTTP client; later posts raise :class:`SlackError`. Idempotent."""
        self._closed = True
        await self._client.aclose()

    async def post(self, text: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        """Send ``text`` (and optional Block Kit ``blocks``) and return once Slack said ok.

        ``text`` is plain text: it is sent escaped (:func:`slack_escape`), so Slack shows
        ``<``, ``>`` and ``&`` literally, and it is always in the payload: it is what
        notifications and clients without blocks show.

        Raises:
            SlackError: with a one-line ``reason``. ``retryable`` is False for answers
                that retrying cannot fix (400, 403, 404, 410, other 4xx, a redirect, a
                200 without ``ok``, blank ``text``) and True once ``max_attempts``
                attempts failed on 429, 5xx or network errors.
        """
        if self._closed:
            raise SlackError("the Slack webhook client is closed", retryable=False)
        if not text.strip():
            raise SlackError(
                "refusing to post an empty message to Slack (no text)", retryable=False
            )
        payload: dict[str, Any] = {"text": slack_escape(text)}
        if blocks:
            payload["blocks"] = blocks
        last: _Retry | None = None
        for attempt in range(1, self._max_attempts + 1):
            if last is not None:
                await self._sleep(self._wait(last, attempt - 1))
            try:
                await self._attempt(payload)
                return
            except _Retry as retry:
                last = retry
        assert last is not None
        tries = "attempt" if self._max_attempts == 1 else "attempts"
        raise SlackError(
            f"{last.reason} (gave up after {self._max_attempts} {tries})",
            retryable=True,
            retry_after=last.wait,
        )

    def _wait(self, retry: _Retry, failures: int) -> float:
        """Seconds before the next attempt: Retry-After, else exponential backoff."""
        if retry.wait is not None:
            return retry.wait
        return float(min(self._backoff * 2 ** (failures - 1), MAX_BACKOFF))

    async def _attempt(self, payload: dict[str, Any]) -> None:
        try:
            # httpx's timeouts bound each phase's *inactivity* only: a server dripping a
            # byte every half second would hold an attempt (and the update) for minutes.
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(self._url, json=payload)
        except (TimeoutError, httpx.TimeoutException):
            raise _Retry(f"Slack did not answer within {self._timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(self._describe(exc)) from None
        except Exception as exc:
            raise SlackError(self._scrub(self._describe(exc)), retryable=False) from None
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        """Return when the answer is 200 ``ok``; raise :class:`SlackError` or ``_Retry``."""
        status = response.status_code
        body = self._body(response)
        code = f"{status} {body}" if body else str(status)
        if status == 200:
            if response.content.strip() == b"ok":
                return
            raise SlackError(
                self._scrub(f"Slack answered 200 without 'ok' ({body or 'empty body'})"),
                retryable=False,
            )
        if status == 429:
            asked = _retry_after(response.headers.get("Retry-After", ""), cap=MAX_QUEUE_WAIT)
            if asked is not None and asked > MAX_RETRY_AFTER:
                # Too long to wait inside one post: hand the wait to the caller's outbox,
                # which retries then (retrying sooner only earns another 429).
                raise SlackError(
                    f"Slack rate-limited the webhook (429); retry after {asked:.0f} s",
                    retryable=True,
                    retry_after=asked,
                )
            raise _Retry("Slack rate-limited the webhook (429)", asked)
        if status >= 500:
            raise _Retry(self._scrub(f"Slack returned {code}"))
        raise SlackError(self._scrub(self._reason(status, body, code)), retryable=False)

    @staticmethod
    def _reason(status: int, body: str, code: str) -> str:
        if 300 <= status < 400:
            return f"Slack redirected the webhook request ({status}); check the webhook URL"
        if status == 400:
            return f"Slack rejected the message ({code})"
        if status == 403 and body == "action_prohibited":
            return f"Slack rejected the message ({code}): a workspace admin restricted the webhook"
        if status in (401, 403):
            return f"Slack rejected the message ({code}): the webhook token is invalid or revoked"
        if status == 404:
            return f"Slack rejected the message: the webhook was removed or disabled ({code})"
        if status == 410:
            return "Slack rejected the message: the channel is archived (410)"
        return f"Slack rejected the message ({code})"

    def _body(self, response: httpx.Response) -> str:
        """Slack's short error body as one clean line ('' for HTML pages)."""
        kind = response.headers.get("Content-Type", "").lower()
        # Only the head: decoding and cleaning a 20 MB answer took ~0.3 s on the event loop.
        text = response.content[:_MAX_HEAD].decode(response.encoding or "utf-8", "replace")
        if "html" in kind or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            return "an HTML page"
        text = " ".join(_CONTROL.sub(" ", text).split())
        return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"

    def _describe(self, exc: BaseException) -> str:
        """A one-line reason for a transport error, naming only the host."""
        host = self._host
        chain = _chain(exc)
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or (
            isinstance(exc, httpx.ConnectError) and "refused" in str(exc).lower()
        ):
            return f"cannot connect to Slack at {host}: connection refused"
        if isinstance(exc, httpx.ConnectError):
            for e in chain:
                why = getattr(e, "strerror", None)
                if isinstance(e, OSError) and why:
                    return self._scrub(f"cannot connect to Slack at {host}: {why}")
            return f"cannot connect to Slack at {host}"
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"Slack at {host} closed the connection or sent an invalid answer"
        if isinstance(exc, httpx.ReadError | httpx.WriteError):
            return f"the connection to Slack at {host} was lost"
        if isinstance(exc, httpx.TransportError):
            return f"Slack request to {host} failed ({type(exc).__name__})"
        return f"Slack request failed ({type(exc).__name__})"

    def _scrub(self, text: str) -> str:
        return redact_text(text, self._secrets)


def slack_escape(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped for Slack mrkdwn, at most ``limit`` chars.

    A longer result is cut before an entity, never inside one, and ends with
    :data:`TRUNCATION_MARK`.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(escaped) <= limit:
        return escaped
    cut = max(limit - len(TRUNCATION_MARK), 0)
    amp = escaped.rfind("&", max(cut - 4, 0), cut)  # "&amp;" is the longest entity (5)
    if amp != -1 and ";" not in escaped[amp:cut]:
        cut = amp
    return escaped[:cut].rstrip() + TRUNCATION_MARK


def _url_secrets(url: str) -> tuple[str, ...]:
    """The URL, its path and each path segment but the first (``services``)."""
    url = url.strip()
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return tuple(found)
    path = parts.path
    found += [path, unquote(path)]
    segments = [s for s in path.split("/") if s]
    found += [s for s in segments[1:] if len(s) >= MIN_SECRET_LENGTH]
    if parts.query:
        found.append(parts.query)
    return tuple(s for s in found if len(s) >= MIN_SECRET_LENGTH)


def _retry_after(value: str, *, cap: float = MAX_RETRY_AFTER) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) capped at ``cap``; None if absent."""
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
