"""Read firing alerts from Alertmanager API v2 (and, optionally, what fired this shift).

:class:`AlertmanagerSource` asks ``GET /api/v2/alerts`` for active, silenced and inhibited
alerts alike (API-REFERENCE §4) and returns an
:class:`~opsconsole.core.sources.AlertsSnapshot` sorted by severity (critical/page first),
then by age (longest-firing first).

Alertmanager drops resolved alerts from ``/alerts``, so "what fired since my shift
started" comes from Prometheus's ``ALERTS`` series through an optional
:class:`~opsconsole.adapters.prometheus.PrometheusSource`. When that history query fails,
the firing list is still returned and ``history_error`` carries the reason, so the pane
keeps showing what is on fire.

Failures raise :class:`~opsconsole.core.sources.SourceError` with one line: unreachable,
timed out (``config.timeout`` bounds the whole request), an HTTP error (Alertmanager's
400/500 bodies are a JSON *string*), or a body that is not the API's JSON. Reasons never
contain the token or a URL's query string.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from opsconsole import __version__
from opsconsole.adapters.http_body import MIB, read_capped
from opsconsole.adapters.prometheus import PrometheusSource, connect_failure, one_line
from opsconsole.config.sources import AlertmanagerConfig
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import Alert, AlertsSnapshot, FiredAlert, SourceError

__all__ = ["SEVERITY_ORDER", "AlertmanagerSource", "parse_alerts"]

log = logging.getLogger(__name__)

SEVERITY_ORDER: dict[str, int] = {
    "critical": 0,
    "page": 0,
    "error": 1,
    "high": 1,
    "warning": 2,
    "warn": 2,
    "info": 4,
    "none": 5,
}
"""Sort rank of a ``severity`` label (lower first); unknown severities rank 3."""

_UNKNOWN_SEVERITY_RANK = 3
MAX_BODY_BYTES = 8 * MIB
"""Larger /api/v2/alerts answers are refused, not read (an alert is about 1 KiB of JSON)."""
_PARAMS = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
_FRACTION = re.compile(r"(\.\d{6})\d+")
_USER_AGENT = f"opsconsole/{__version__} (alerts)"
_DEFAULT_HISTORY_WINDOW = timedelta(hours=12)


class AlertmanagerSource:
    """Polls firing alerts from one Alertmanager.

    Args:
        config: The ``alertmanager:`` section.
        clock: "Now", used for the default history window.
        history: Where to ask what fired since the shift started (Prometheus ``ALERTS``);
            ``None`` leaves ``fired_since_shift`` unset.
        shift_start: When the current shift started (aware UTC); defaults to 12 h ago.
        overnight_start: When the previous shift started (aware UTC), or None. Given, the
            history is also read from there (``fired_overnight``): the start-of-shift
            checklist asks "any alerts overnight?", which this shift's window cannot say.
    """

    def __init__(
        self,
        config: AlertmanagerConfig,
        *,
        clock: Clock = system_clock,
        history: PrometheusSource | None = None,
        shift_start: Callable[[], datetime] | None = None,
        overnight_start: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._history = history
        self._shift_start = shift_start or (lambda: self._clock() - _DEFAULT_HISTORY_WINDOW)
        self._overnight_start = overnight_start
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        self._secrets: list[str] = []
        if config.token is not None:
            token = config.token.get_secret_value()
            headers["Authorization"] = f"Bearer {token}"
            self._secrets.append(token)
        seconds = config.timeout.total_seconds()
        self._client = httpx.AsyncClient(
            base_url=config.url,
            headers=headers,
            timeout=httpx.Timeout(seconds),
            trust_env=False,
            follow_redirects=False,
        )
        self._address = str(httpx.URL(config.url).netloc.decode("ascii", "replace"))
        if "@" in self._address:  # never show userinfo
            self._address = self._address.rsplit("@", 1)[1]

    async def poll(self) -> AlertsSnapshot:
        """The firing alerts now (and what fired since the shift started, if configured).

        Raises:
            SourceError: Alertmanager could not be read. A failing history query does not
                raise; it sets ``history_error``.
        """
        if self._history is None:
            return AlertsSnapshot(firing=await self._firing())
        since = self._shift_start()
        overnight = self._overnight_start() if self._overnight_start is not None else None
        if overnight is not None and overnight >= since:
            overnight = None
        windows = [since] if overnight is None else [since, overnight]
        firing_task = asyncio.ensure_future(self._firing())
        history_tasks = [asyncio.ensure_future(self._fired_since(start)) for start in windows]
        try:
            firing = await firing_task
        except BaseException:
            for task in history_tasks:
                task.cancel()
            await asyncio.gather(*history_tasks, return_exceptions=True)
            raise
        (fired, history_error), *night = await asyncio.gather(*history_tasks)
        fired_overnight = night[0][0] if night else None
        return AlertsSnapshot(
            firing=firing,
            fired_since_shift=fired,
            history_error=history_error or (night[0][1] if night else None),
            since=since,
            fired_overnight=fired_overnight,
            overnight_since=overnight if fired_overnight is not None else None,
        )

    async def aclose(self) -> None:
        """Close the HTTP client (the history source is closed by its owner)."""
        await self._client.aclose()

    # -- helpers -------------------------------------------------------------------------

    async def _fired_since(
        self, since: datetime
    ) -> tuple[tuple[FiredAlert, ...] | None, str | None]:
        assert self._history is not None
        try:
            return await self._history.fired_since(since), None
        except SourceError as exc:
            return None, exc.reason
        except Exception as exc:  # the firing list must survive any history failure
            log.exception("reading the ALERTS history failed")
            return None, f"could not read the ALERTS history ({type(exc).__name__})"

    async def _firing(self) -> tuple[Alert, ...]:
        try:
            async with asyncio.timeout(self._config.timeout.total_seconds()):
                async with self._client.stream("GET", "/api/v2/alerts", params=_PARAMS) as response:
                    body = await read_capped(response, MAX_BODY_BYTES)
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(
                f"Alertmanager did not answer within {format_duration(self._config.timeout)}"
            ) from None
        except httpx.ConnectError as exc:
            why = connect_failure(exc)
            raise SourceError(f"cannot reach Alertmanager at {self._address}: {why}") from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            why = connect_failure(exc)
            raise SourceError(
                f"lost the connection to Alertmanager at {self._address}: {why}"
            ) from None
        except httpx.TransportError as exc:
            raise SourceError(f"request to Alertmanager failed ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise SourceError(self._http_error(response.status_code, body or b""))
        if body is None:
            raise SourceError(
                f"Alertmanager's answer is larger than {MAX_BODY_BYTES // MIB} MiB; not read"
            )
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, list):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise SourceError(
                f"Alertmanager answered with something that is not its API JSON ({kind})"
            )
        return parse_alerts(payload)

    def _http_error(self, status: int, body: bytes) -> str:
        if status == 401:
            return "Alertmanager rejected the token (401)"
        if status == 403:
            return "Alertmanager denied access (403)"
        text = body.decode("utf-8", "replace")
        detail: Any = text
        with contextlib.suppress(ValueError):
            detail = json.loads(text)
        if isinstance(detail, dict):
            detail = detail.get("message") or detail.get("error") or ""
        if not isinstance(detail, str):
            detail = ""
        if detail.lstrip().startswith("<"):
            detail = ""  # an HTML error page from a proxy says nothing useful
        detail = one_line(detail.splitlines()[0] if detail.strip() else "", secrets=self._secrets)
        return f"Alertmanager answered HTTP {status}" + (f": {detail}" if detail else "")


def parse_alerts(payload: list[Any]) -> tuple[Alert, ...]:
    """Turn ``/api/v2/alerts`` JSON into sorted :class:`Alert` rows (bad rows are skipped)."""
    alerts: list[Alert] = []
    for item in payload:
        if not isinstance(item, dict):
            continue
        raw_labels = item.get("labels")
        labels = raw_labels if isinstance(raw_labels, dict) else {}
        raw_annotations = item.get("annotations")
        annotations = raw_annotations if isinstance(raw_annotations, dict) else {}
        raw_status = item.get("status")
        status = raw_status if isinstance(raw_status, dict) else {}
        alerts.append(
            Alert(
                name=str(labels.get("alertname", "?")),
                severity=str(labels.get("severity") or "none"),
                summary=str(annotations.get("summary") or annotations.get("description") or ""),
                starts_at=_parse_time(item.get("startsAt")),
                state=str(status.get("state", "unprocessed")),
                silenced=bool(status.get("silencedBy")),
                inhibited=bool(status.get("inhibitedBy")),
                fingerprint=str(item.get("fingerprint", "")),
                labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            )
        )
    return tuple(sorted(alerts, key=_sort_key))


def _sort_key(alert: Alert) -> tuple[int, float, str, str]:
    rank = SEVERITY_ORDER.get(alert.severity.lower(), _UNKNOWN_SEVERITY_RANK)
    started = alert.starts_at.timestamp() if alert.starts_at is not None else float("inf")
    return rank, started, alert.name, alert.fingerprint


def _parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (Go may send nanoseconds) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:  # Go's zero time
        return None
    return parsed.astimezone(UTC)
