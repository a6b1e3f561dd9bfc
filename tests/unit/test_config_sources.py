"""checks.yaml sections for Sentry, Prometheus/Grafana, Alertmanager, status page, shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsconsole.config.loader import ConfigError, loads_config
from opsconsole.config.sources import DEFAULT_QUERIES
from opsconsole.core.shift import shift_start

ENV = {"SENTRY_AUTH_TOKEN": "sntryu_canary_1234", "GRAFANA_TOKEN": "glsa_canary_5678"}


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text, env=ENV)
    return str(info.value)


def test_full_sources_block_loads_and_hides_tokens() -> None:
    config = loads_config(
        """
shift: {starts: ["08:00", "20:00"]}
sentry:
  org: acme
  projects: [api, dashboard]
  token: ${SENTRY_AUTH_TOKEN}
prometheus:
  grafana:
    url: "https://grafana.example.com/"
    datasource_uid: P1809F7CD0C75ACF3
    token: "${GRAFANA_TOKEN}"
  queries:
    - {name: p95 latency, query: "x", unit: ms, warn: 800, crit: 1000}
alertmanager: {url: "http://127.0.0.1:9093"}
statuspage: {url: "https://status.example.com", interval: 5m}
""",
        env=ENV,
    )
    assert config.sentry is not None and config.sentry.projects == ("api", "dashboard")
    assert config.sentry.base_url == "https://sentry.io"
    assert config.sentry.token.get_secret_value() == "sntryu_canary_1234"
    assert "canary" not in repr(config)
    assert config.prometheus is not None and config.prometheus.grafana is not None
    assert config.prometheus.grafana.url == "https://grafana.example.com"
    assert config.prometheus.interval == timedelta(seconds=15)
    assert config.statuspage is not None and config.statuspage.interval == timedelta(minutes=5)
    assert config.shift.starts == ("08:00", "20:00")


def test_prometheus_defaults_to_the_guide_queries() -> None:
    config = loads_config("prometheus: {url: 'http://127.0.0.1:9090'}\n")
    assert config.prometheus is not None
    assert config.prometheus.queries == DEFAULT_QUERIES
    names = [q.name for q in DEFAULT_QUERIES]
    assert names == ["p95 latency", "5xx error rate", "429 rate", "request rate"]
    assert DEFAULT_QUERIES[0].crit == 1000  # guide §3.3: API slow, p95 > 1000 ms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sentry: {org: acme, projects: [api]}\n", "checks.yaml:1: sentry.token: required"),
        (
            "sentry: {org: acme, projects: [], token: x}\n",
            "checks.yaml:1: sentry.projects:",
        ),
        (
            "prometheus: {}\n",
            "checks.yaml:1: prometheus: set exactly one of 'url' (direct) or 'grafana'",
        ),
        (
            "prometheus: {url: 'ftp://x'}\n",
            "checks.yaml:1: prometheus.url: expected an http:// or https:// URL, got 'ftp://x'",
        ),
        (
            "statuspage: {url: 'https://s.example.com', interval: 10s}\n",
            "checks.yaml:1: statuspage.interval: must be at least 60s",
        ),
        (
            "prometheus:\n  url: 'http://p:9090'\n  queries:\n"
            "    - {name: a, query: b, warn: 5, crit: 1}\n",
            "checks.yaml:4: prometheus.queries[0].warn: must not be above crit (1)",
        ),
        ("shift: {starts: ['9am']}\n", "checks.yaml:1: shift.starts: expected times like '09:00'"),
        (
            "alertmanager: {url: 'http://a:9093', timout: 5s}\n",
            "checks.yaml:1: alertmanager.timout: unknown key (did you mean 'timeout'?)",
        ),
        (
            "sentry: {org: acme, projects: [api], token: '${NOPE}'}\n",
            "checks.yaml:1: sentry.token: environment variable NOPE is not set",
        ),
    ],
)
def test_source_mistakes(text: str, message: str) -> None:
    assert error(text).startswith(message)


@pytest.mark.parametrize(
    ("now", "starts", "tz", "expected"),
    [
        ("2026-11-28T10:00:00+00:00", ["09:00"], "UTC", "2026-11-28T09:00:00+00:00"),
        ("2026-11-28T08:00:00+00:00", ["09:00"], "UTC", "2026-11-27T09:00:00+00:00"),
        ("2026-11-28T22:00:00+00:00", ["09:00", "21:00"], "UTC", "2026-11-28T21:00:00+00:00"),
        ("2026-11-28T02:00:00+00:00", ["09:00", "21:00"], "UTC", "2026-11-27T21:00:00+00:00"),
        # 09:00 in Paris (UTC+1 in November) is 08:00 UTC
        ("2026-11-28T08:30:00+00:00", ["09:00"], "Europe/Paris", "2026-11-28T08:00:00+00:00"),
    ],
)
def test_shift_start(now: str, starts: list[str], tz: str, expected: str) -> None:
    got = shift_start(datetime.fromisoformat(now), starts, ZoneInfo(tz))
    assert got == datetime.fromisoformat(expected)
    assert got.tzinfo is UTC


def test_unquoted_times_are_read_as_written() -> None:
    """YAML 1.1 reads 18:00 as the number 1080; shift starts must still work unquoted."""
    config = loads_config("shift: {starts: [09:00, 18:00]}\n")
    assert config.shift.starts == ("09:00", "18:00")


def test_an_impossible_date_is_a_config_error_not_a_traceback() -> None:
    assert error("service: 2025-02-30\n").startswith(
        "checks.yaml:1: service: cannot read '2025-02-30'"
    )
