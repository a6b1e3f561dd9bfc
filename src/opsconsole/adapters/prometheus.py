"""Query Prometheus (directly or through Grafana's datasource proxy) for the metrics pane.

:class:`PrometheusSource` runs every configured PromQL query as an instant query (the value,
classified against ``warn``/``crit``) and as a range query over ``config.range`` at
``config.step`` (the chart), and answers "what fired since my shift started" from the
``ALERTS`` series (API-REFERENCE §2, §3).

Decisions worth knowing:

* **prometheus-api-client is synchronous** (requests). Every call runs in the source's own
  thread pool (:data:`WORKERS` threads), with ``timeout=`` on the request, a ``timeout``
  parameter for Prometheus's own query evaluation, and the library's silent triple retry
  replaced by ``Retry(total=0)``. A poll as a whole is bounded by
  ``asyncio.timeout(config.timeout)``; a request abandoned by that deadline finishes in its
  thread (bounded by its own timeout) and :meth:`aclose` waits for it before closing the
  session. The pool is not asyncio's default executor on purpose: a Prometheus that
  accepts connections and never answers would otherwise hold every default worker for the
  whole timeout, and everything else that needs one (the probes' DNS lookups through
  ``loop.getaddrinfo``, mail intake, file writes) would wait behind it. Calls still
  queued when the deadline passes are dropped, so abandoned polls never pile up.
* **Per-query vs whole-source failures.** An error envelope from Prometheus about one query
  (``bad_data`` 400, ``execution`` 422, a query timeout) lands in that reading's ``error``.
  Anything that says the source itself is unusable — unreachable, timed out, 503 "not
  ready" (plain text, every ``/api/v1`` call during startup), a 200 that is not Prometheus
  JSON, or a Grafana ``{"message": ...}`` error (401/403/404/400/502) — raises
  :class:`~opsconsole.core.sources.SourceError` with a one-line reason.
* **Values.** Sample values are strings: ``"NaN"`` becomes ``None`` (level ``unknown``),
  ``"+Inf"`` stays infinite. A query returning several series shows the largest value
  (higher is worse), and the chart takes the largest per timestamp; non-finite chart points
  are dropped.
* **Secrets.** Reasons never contain a token, a URL's query string or a raw exception text
  from requests (whose messages include the request URL with the PromQL in it). Untrusted
  text from the server is squeezed to one line and truncated. The session ignores proxy and
  ``.netrc`` settings from the environment (``trust_env=False``), so nothing can replace the
  ``Authorization`` header.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import json
import math
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from opsconsole import __version__
from opsconsole.config.sources import MetricQuery, PrometheusConfig
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_duration
from opsconsole.core.sources import (
    CHART_ERROR_PREFIX,
    FiredAlert,
    MetricReading,
    MetricsSnapshot,
    SourceError,
    classify,
)

__all__ = ["WORKERS", "PrometheusSource", "connect_failure", "one_line"]

_T = TypeVar("_T")

WORKERS = 8
"""Threads of one source's pool: how many requests run at once."""

_MAX_REASON_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_STATUS = re.compile(r"^HTTP Status Code (\d{3}) \((.*)\)$", re.DOTALL)
_USER_AGENT = f"opsconsole/{__version__} (metrics)"


class _QueryFailed(Exception):
    """Prometheus answered with an error about this one query (goes into the reading)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PrometheusSource:
    """Polls the configured PromQL queries and the ``ALERTS`` history.

    Args:
        config: The ``prometheus:`` section (direct ``url`` or ``grafana`` proxy).
        clock: "Now" for the end of the chart range and the history window.
    """

    def __init__(self, config: PrometheusConfig, *, clock: Clock = system_clock) -> None:
        self._config = config
        self._clock = clock
        self._timeout = config.timeout.total_seconds()
        self._secrets: list[str] = []
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if config.grafana is not None:
            grafana = config.grafana
            url = f"{grafana.url}/api/datasources/proxy/uid/{quote(grafana.datasource_uid, '')}"
            token = grafana.token.get_secret_value()
            headers["Authorization"] = f"Bearer {token}"
            self._secrets.append(token)
            if grafana.org_id is not None:
                headers["X-Grafana-Org-Id"] = str(grafana.org_id)
            self._via = "Grafana"
        else:
            assert config.url is not None  # the schema requires exactly one way in
            url = config.url
            if config.token is not None:
                token = config.token.get_secret_value()
                headers["Authorization"] = f"Bearer {token}"
                self._secrets.append(token)
            self._via = "Prometheus"
        self._address = _address(url)
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.verify = True
        self._client = PrometheusConnect(
            url=url,
            headers=headers,
            disable_ssl=False,
            retry=Retry(total=0, redirect=0, raise_on_status=False),
            session=session,
            timeout=self._timeout,
        )
        # Prometheus aborts evaluation itself after this (floats are accepted as seconds).
        self._params = {"timeout": f"{self._timeout:g}"}
        self._inflight: set[asyncio.Future[Any]] = set()
        self._executor = ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix="opsconsole-prometheus"
        )
        self._closed = False

    # -- public API ----------------------------------------------------------------------

    async def poll(self) -> MetricsSnapshot:
        """Read every configured query: instant value, level and chart series.

        Raises:
            SourceError: The source as a whole failed (unreachable, timeout, not ready,
                rejected by Grafana). Errors about one query go into its reading instead.
        """
        # The client rounds to whole seconds; rounding "now" down could leave the newest
        # samples out of the chart, so the range ends at the next whole second.
        end = datetime.fromtimestamp(math.ceil(self._clock().timestamp()), UTC)
        start = end - self._config.range
        step = f"{self._config.step.total_seconds():g}"
        calls: list[Callable[[], Any]] = []
        for query in self._config.queries:
            calls.append(functools.partial(self._instant, query.query))
            calls.append(functools.partial(self._range, query.query, start, end, step))
        outcomes = await self._gather(calls)
        readings = [
            _reading(query, outcomes[2 * i], outcomes[2 * i + 1])
            for i, query in enumerate(self._config.queries)
        ]
        return MetricsSnapshot(readings=tuple(readings))

    async def fired_since(self, start: datetime) -> tuple[FiredAlert, ...]:
        """Every alert that was firing at some point between ``start`` and now.

        Asks for ``max_over_time(ALERTS{alertstate="firing"}[Ns])``, so an alert that fired
        and resolved overnight is still listed after Alertmanager has dropped it. One entry
        per alert name and label set (``alertstate`` dropped), sorted by name then labels.

        Raises:
            SourceError: With a one-line reason, whatever went wrong.
        """
        seconds = max(1, math.ceil((self._clock() - start).total_seconds()))
        query = f'max_over_time(ALERTS{{alertstate="firing"}}[{seconds}s])'
        (outcome,) = await self._gather([functools.partial(self._instant, query)])
        if isinstance(outcome, _QueryFailed):
            raise SourceError(outcome.reason)
        fired: dict[tuple[str, tuple[tuple[str, str], ...]], FiredAlert] = {}
        for series in outcome if isinstance(outcome, list) else ():
            metric = series.get("metric") if isinstance(series, dict) else None
            if not isinstance(metric, dict):
                continue  # not a series of ALERTS (a scalar, junk from a proxy)
            labels = tuple(
                sorted(
                    (str(k), str(v))
                    for k, v in metric.items()
                    if k not in ("__name__", "alertstate")
                )
            )
            name = str(metric.get("alertname", "?"))
            severity = str(metric.get("severity", "none"))
            fired[(name, labels)] = FiredAlert(name=name, severity=severity, labels=labels)
        return tuple(fired[key] for key in sorted(fired))

    async def aclose(self) -> None:
        """Wait (briefly) for requests still running in threads, then close the session."""
        self._closed = True
        pending = {f for f in self._inflight if not f.done()}
        if pending:
            await asyncio.wait(pending, timeout=2 * self._timeout + 1)
        self._client.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- calls ---------------------------------------------------------------------------

    def _instant(self, query: str) -> Any:
        return self._client.custom_query(query, params=dict(self._params), timeout=self._timeout)

    def _range(self, query: str, start: datetime, end: datetime, step: str) -> Any:
        return self._client.custom_query_range(
            query, start, end, step, params=dict(self._params), timeout=self._timeout
        )

    async def _gather(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """Run blocking calls in threads under one deadline.

        Returns each call's result or its :class:`_QueryFailed`; raises the first
        whole-source :class:`SourceError`.
        """
        if self._closed:
            raise SourceError(f"the {self._via} source is closed")
        try:
            async with asyncio.timeout(self._timeout):
                outcomes = await asyncio.gather(
                    *(self._in_thread(call) for call in calls), return_exceptions=True
                )
        except TimeoutError:
            raise SourceError(self._timeout_reason()) from None
        for outcome in outcomes:
            if isinstance(outcome, SourceError):
                raise outcome
            if isinstance(outcome, BaseException) and not isinstance(outcome, _QueryFailed):
                raise outcome
        return list(outcomes)

    async def _in_thread(self, call: Callable[[], _T]) -> _T:
        submitted = self._executor.submit(call)
        future = asyncio.wrap_future(submitted)
        self._inflight.add(future)
        future.add_done_callback(self._settled)
        try:
            # shield: when the deadline cancels us, the thread runs on and aclose() waits.
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A call still queued is dropped (so abandoned polls never pile up in the
            # queue); one already running finishes on its own, bounded by its timeout.
            submitted.cancel()
            raise
        except Exception as exc:
            raise self._failure(exc) from None

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._inflight.discard(future)
        if not future.cancelled():
            future.exception()  # mark retrieved: an abandoned call must not log a warning

    # -- failures ------------------------------------------------------------------------

    def _timeout_reason(self) -> str:
        return f"{self._via} did not answer within {format_duration(self._config.timeout)}"

    def _failure(self, exc: Exception) -> Exception:
        """Map an exception from the client to :class:`_QueryFailed` or :class:`SourceError`."""
        if isinstance(exc, PrometheusApiClientException):
            status, body = _parse_client_exception(exc)
            if status is None:
                return SourceError(f"{self._via} answered with an error")
            return self._http_failure(status, body)
        if isinstance(exc, requests.Timeout):
            return SourceError(self._timeout_reason())
        if isinstance(exc, requests.ConnectionError):
            return SourceError(
                f"cannot reach {self._via} at {self._address}: {connect_failure(exc)}"
            )
        not_json = f"{self._via} answered with something that is not Prometheus JSON"
        if isinstance(exc, requests.JSONDecodeError):
            return SourceError(not_json)
        if isinstance(exc, requests.RequestException):
            return SourceError(f"request to {self._via} failed ({type(exc).__name__})")
        if isinstance(exc, ValueError | KeyError | TypeError):  # a 200 without data.result
            return SourceError(not_json)
        return exc

    def _http_failure(self, status: int, body: bytes) -> Exception:
        payload: Any = None
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
        if (
            isinstance(payload, dict)
            and payload.get("status") == "error"
            and "errorType" in payload
        ):
            return _query_failure(status, str(payload["errorType"]), str(payload.get("error", "")))
        message = payload.get("message") if isinstance(payload, dict) else None
        grafana = self._via == "Grafana"
        if grafana and status == 401:
            return SourceError("Grafana rejected the service-account token (401)")
        if grafana and status in (502, 504):
            return SourceError(f"Grafana could not reach Prometheus ({status})")
        if grafana and isinstance(message, str) and message:
            return SourceError(f"Grafana: {self._clean(message)} ({status})")
        if status == 503:
            return SourceError("Prometheus is not ready (503): still loading its TSDB")
        if status == 401:
            return SourceError(f"{self._via} rejected the token (401)")
        if status == 403:
            return SourceError(f"{self._via} denied access (403)")
        detail = self._clean(message if isinstance(message, str) else _first_line(body))
        return SourceError(
            f"{self._via} answered HTTP {status}" + (f": {detail}" if detail else "")
        )

    def _clean(self, text: str) -> str:
        return one_line(text, secrets=self._secrets)


# -- pure helpers ------------------------------------------------------------------------


def one_line(text: str, *, secrets: Iterable[str] = (), limit: int = _MAX_REASON_CHARS) -> str:
    """Squeeze untrusted text into one safe, short line with every secret masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def connect_failure(exc: BaseException) -> str:
    """Why a connection failed, in a few words ("connection refused", "host not found")."""
    for error in _chain(exc):
        if isinstance(error, socket.gaierror):
            return "host not found"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, ConnectionResetError):
            return "connection reset by peer"
    for error in _chain(exc):
        name = type(error).__name__
        if name in ("RemoteDisconnected", "RemoteProtocolError", "ProtocolError"):
            return "the server closed the connection"
        if "SSL" in name:
            return "TLS handshake failed"
    for error in _chain(exc):
        if isinstance(error, OSError) and error.strerror:
            return error.strerror.lower()
    return "connection failed"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes, contexts, exception arguments and urllib3 ``reason``s, once each."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        if isinstance(current, BaseExceptionGroup):
            linked.extend(current.exceptions)
        stack.extend(e for e in reversed(linked) if isinstance(e, BaseException))


def _address(url: str) -> str:
    """``host:port`` of ``url`` (no userinfo, path or query)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "?"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_client_exception(exc: PrometheusApiClientException) -> tuple[int | None, bytes]:
    """Status code and body of ``HTTP Status Code 400 (b'{...}')``."""
    match = _STATUS.match(str(exc))
    if match is None:
        return None, b""
    raw = match.group(2)
    body: bytes = raw.encode("utf-8", "replace")
    if raw[:2] in ("b'", 'b"'):
        try:
            literal = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            pass
        else:
            if isinstance(literal, bytes):
                body = literal
    return int(match.group(1)), body


def _query_failure(status: int, error_type: str, message: str) -> _QueryFailed:
    message = one_line(message)
    if error_type == "bad_data":
        message = message.removeprefix('invalid parameter "query": ')
        return _QueryFailed(f"bad query: {message}")
    if error_type == "execution":
        return _QueryFailed(f"query failed: {message}")
    if error_type in ("timeout", "canceled"):
        return _QueryFailed(f"query timed out: {message}")
    return _QueryFailed(f"Prometheus error {status} ({one_line(error_type)}): {message}")


def _first_line(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else ""


def _sample(value: Any) -> float | None:
    """A sample value string as a float; NaN (and junk) as None."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        return None
    return None if math.isnan(number) else number


def _instant_value(result: Any) -> float | None:
    """The largest value of an instant result (vector or scalar); None when empty or NaN."""
    if (
        isinstance(result, list)
        and len(result) == 2
        and isinstance(result[0], int | float)
        and not isinstance(result[1], dict)
    ):
        return _sample(result[1])  # a scalar: [ts, "v"]
    values: list[float] = []
    for series in result if isinstance(result, list) else ():
        pair = series.get("value") if isinstance(series, dict) else None
        if isinstance(pair, list) and len(pair) == 2:
            number = _sample(pair[1])
            if number is not None:
                values.append(number)
    return max(values) if values else None


def _range_points(result: Any) -> tuple[tuple[float, float], ...]:
    """Chart points of a matrix: the largest finite value per timestamp, in time order."""
    points: dict[float, float] = {}
    for series in result if isinstance(result, list) else ():
        values = series.get("values") if isinstance(series, dict) else None
        for pair in values if isinstance(values, list) else ():
            if not (isinstance(pair, list) and len(pair) == 2):
                continue
            number, ts = _sample(pair[1]), _sample(pair[0])
            if number is None or ts is None or math.isinf(number) or math.isinf(ts):
                continue  # junk from a proxy or an exporter: skip the point, keep the chart
            points[ts] = max(number, points.get(ts, number))
    return tuple(sorted(points.items()))


def _reading(query: MetricQuery, instant: Any, chart: Any) -> MetricReading:
    """Build one reading; a failed range query keeps the value and notes the chart error."""
    error: str | None = None
    value: float | None = None
    if isinstance(instant, _QueryFailed):
        error = instant.reason
    else:
        value = _instant_value(instant)
    series: tuple[tuple[float, float], ...] = ()
    if isinstance(chart, _QueryFailed):
        if error is None:
            error = f"{CHART_ERROR_PREFIX}{chart.reason}"
    else:
        series = _range_points(chart)
    return MetricReading(
        name=query.name,
        unit=query.unit,
        value=value,
        level="unknown"
        if isinstance(instant, _QueryFailed)
        else classify(value, query.warn, query.crit),
        series=series,
        warn=query.warn,
        crit=query.crit,
        grafana_url=query.grafana_panel,
        error=error,
    )
