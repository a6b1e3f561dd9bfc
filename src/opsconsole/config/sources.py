"""Schema of the external sources in ``checks.yaml``: Sentry, Prometheus/Grafana,
Alertmanager, the status page, shift times and the console's own crash reporting.

Tokens are ``SecretStr``: their ``repr`` never shows the value, and code must call
``get_secret_value()`` to send them to their own service.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from opsconsole.config.types import Duration, FieldError
from opsconsole.core.durations import format_duration

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


HttpUrl = Annotated[str, Field(min_length=1)]


def _header_safe(value: SecretStr) -> SecretStr:
    """A token as sent in ``Authorization: Bearer …``: surrounding whitespace (a newline
    from a file, ``\r`` from a CRLF .env) is dropped; anything else that HTTP cannot carry
    in a header is a config error. The message never contains the value."""
    raw = value.get_secret_value().strip()
    if any(not "\x21" <= ch <= "\x7e" for ch in raw):
        raise ValueError(
            "contains a space, a control character or a non-ASCII character, which "
            "cannot be sent in an HTTP header (pasted with a stray character?)"
        )
    return SecretStr(raw)


Token = Annotated[SecretStr, AfterValidator(_header_safe)]
"""A bearer token from checks.yaml (usually ``${ENV_VAR}``)."""


class _Source(BaseModel):
    model_config = _FROZEN

    @field_validator("url", "base_url", mode="after", check_fields=False)
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> Any:
        interval: timedelta | None = getattr(self, "interval", None)
        timeout: timedelta | None = getattr(self, "timeout", None)
        if interval is not None and timeout is not None and timeout >= interval:
            raise FieldError(
                ("timeout",), f"must be shorter than interval ({format_duration(interval)})"
            )
        return self


class SentryConfig(_Source):
    """``sentry:`` — issue counts for an org's projects (API-REFERENCE §1)."""

    base_url: HttpUrl = "https://sentry.io"
    org: str = Field(min_length=1)
    projects: tuple[str, ...] = Field(min_length=1)
    token: Token
    environment: str | None = None
    interval: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=15)
    top: int = Field(default=10, ge=1, le=100)


class MetricQuery(BaseModel):
    """One PromQL query shown in the metrics pane."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    unit: str = ""
    warn: float | None = Field(default=None, allow_inf_nan=False)
    crit: float | None = Field(default=None, allow_inf_nan=False)
    grafana_panel: str | None = None

    @field_validator("grafana_panel")
    @classmethod
    def _panel_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="after")
    def _ordered(self) -> MetricQuery:
        if self.warn is not None and self.crit is not None and self.warn > self.crit:
            raise FieldError(("warn",), f"must not be above crit ({self.crit:g})")
        return self


DEFAULT_QUERIES: tuple[MetricQuery, ...] = (
    MetricQuery(
        name="p95 latency",
        query="histogram_quantile(0.95, sum by (le) "
        "(rate(http_request_duration_seconds_bucket[5m]))) * 1000",
        unit="ms",
        warn=800,
        crit=1000,
    ),
    MetricQuery(
        name="5xx error rate",
        # "or vector(0)": with no 5xx yet the series does not exist; show 0, not "no data"
        query='100 * (sum(rate(http_requests_total{status=~"5.."}[5m])) or vector(0)) '
        "/ sum(rate(http_requests_total[5m]))",
        unit="%",
        warn=1,
        crit=5,
    ),
    MetricQuery(
        name="429 rate",
        query='100 * (sum(rate(http_requests_total{status="429"}[5m])) or vector(0)) '
        "/ sum(rate(http_requests_total[5m]))",
        unit="%",
        warn=2,
        crit=5,
    ),
    MetricQuery(
        name="request rate",
        query="sum(rate(http_requests_total[5m]))",
        unit="req/s",
    ),
)
"""The guide's metrics: p95 > 1000 ms is "API slow" (§3.3), 5xx, 429 false positives, traffic."""


class GrafanaConfig(BaseModel):
    """Reach Prometheus through Grafana's datasource proxy (API-REFERENCE §3)."""

    model_config = _FROZEN

    url: HttpUrl
    datasource_uid: str = Field(min_length=1)
    token: Token
    org_id: int | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)


class PrometheusConfig(_Source):
    """``prometheus:`` — metrics queries and the ALERTS history."""

    url: str | None = None
    grafana: GrafanaConfig | None = None
    token: Token | None = None
    interval: Duration = timedelta(seconds=15)
    timeout: Duration = timedelta(seconds=10)
    range: Duration = timedelta(hours=1)
    step: Duration = timedelta(seconds=60)
    queries: tuple[MetricQuery, ...] = DEFAULT_QUERIES
    alert_history: bool = True

    @model_validator(mode="after")
    def _one_way_in(self) -> PrometheusConfig:
        if (self.url is None) == (self.grafana is None):
            raise ValueError("set exactly one of 'url' (direct) or 'grafana' (datasource proxy)")
        return self


class AlertmanagerConfig(_Source):
    """``alertmanager:`` — firing alerts (API v2)."""

    url: str
    token: Token | None = None
    interval: Duration = timedelta(seconds=30)
    timeout: Duration = timedelta(seconds=10)


MIN_STATUSPAGE_INTERVAL = timedelta(seconds=60)


class StatuspageConfig(_Source):
    """``statuspage:`` — a public Atlassian Statuspage (summary.json)."""

    url: str
    interval: Duration = MIN_STATUSPAGE_INTERVAL
    timeout: Duration = timedelta(seconds=10)

    @field_validator("interval")
    @classmethod
    def _polite(cls, value: timedelta) -> timedelta:
        if value < MIN_STATUSPAGE_INTERVAL:
            raise ValueError("must be at least 60s (status pages are rate-limited CDN pages)")
        return value


class ShiftConfig(BaseModel):
    """``shift:`` — when shifts start, in the configured timezone."""

    model_config = _FROZEN

    starts: tuple[str, ...] = ("09:00",)

    @field_validator("starts")
    @classmethod
    def _times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one start time like '09:00'")
        for text in value:
            if not _HHMM.match(text.strip()):
                raise ValueError(f"expected times like '09:00', got {text!r}")
        return tuple(t.strip() for t in value)


class TelemetryConfig(BaseModel):
    """``telemetry:`` — report the console's own crashes to Sentry."""

    model_config = _FROZEN

    sentry_dsn: SecretStr | None = None
    environment: str = "oncall"
