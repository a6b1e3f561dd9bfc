"""Test doubles for the UI layer: a scripted probe runner and config builders.

UI tests exercise the Textual app, not the HTTP adapter (that has its own tests
against real servers), so the runner here returns scripted results.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import yaml

from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config, ProbeConfig
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult
from opsconsole.core.store import StoreError

FROZEN = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)


def config_with(names: Iterable[str], *, interval: str = "1h", service: str = "Demo API") -> Config:
    """A config with one HTTP probe per name (never contacted by the fake runner)."""
    probes = [
        {"name": name, "url": f"http://127.0.0.1:9/{i}", "interval": interval}
        for i, name in enumerate(names)
    ]
    document = {"service": service, "timezone": "UTC", "probes": probes}
    return loads_config(yaml.safe_dump(document))


def ok(name: str, latency: float = 42.0, at: datetime = FROZEN) -> ProbeResult:
    return ProbeResult(
        name,
        at,
        Outcome.OK,
        status=200,
        latency_ms=latency,
        conditions=(ConditionResult("[STATUS] == 200", True, "[STATUS] (200) == 200"),),
    )


def failed(name: str, status: int = 503, at: datetime = FROZEN) -> ProbeResult:
    return ProbeResult(
        name,
        at,
        Outcome.FAILED_CONDITIONS,
        status=status,
        latency_ms=12.0,
        conditions=(ConditionResult("[STATUS] == 200", False, f"[STATUS] ({status}) == 200"),),
    )


def slow(name: str, at: datetime = FROZEN) -> ProbeResult:
    return ProbeResult(
        name,
        at,
        Outcome.FAILED_CONDITIONS,
        status=200,
        latency_ms=1532.0,
        conditions=(
            ConditionResult("[STATUS] == 200", True, "[STATUS] (200) == 200"),
            ConditionResult(
                "[RESPONSE_TIME] < 1000", False, "[RESPONSE_TIME] (1532) < 1000", latency_only=True
            ),
        ),
    )


class ScriptedRunner:
    """Returns queued results per probe (repeating the last one); counts calls."""

    def __init__(self, script: dict[str, list[ProbeResult]] | None = None) -> None:
        self.script = {k: deque(v) for k, v in (script or {}).items()}
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.closed = False

    async def run(self, probe: ProbeConfig) -> ProbeResult:
        self.calls[probe.name] += 1
        queue = self.script.get(probe.name)
        if not queue:
            return ok(probe.name)
        return queue.popleft() if len(queue) > 1 else queue[0]

    async def aclose(self) -> None:
        self.closed = True


# -- sources ------------------------------------------------------------------------------

from datetime import timedelta  # noqa: E402

from opsconsole.core.sources import (  # noqa: E402
    Alert,
    AlertsSnapshot,
    FiredAlert,
    MetricReading,
    MetricsSnapshot,
    SentryIssue,
    SentryProjectCounts,
    SentrySnapshot,
    StatusComponent,
    StatusIncident,
    StatusPageSnapshot,
)

SOURCES_YAML = {
    "sentry": {"org": "acme", "projects": ["api", "dashboard"], "token": "t0ken-not-real"},
    "prometheus": {"url": "http://127.0.0.1:9"},
    "alertmanager": {"url": "http://127.0.0.1:9"},
    "statuspage": {"url": "http://127.0.0.1:9"},
}


def sources_config(names: Iterable[str] = ("API health", "Dashboard"), **only: bool) -> Config:
    """A config with probes and every source section (or only those passed as True)."""
    wanted = {k: v for k, v in SOURCES_YAML.items() if not only or only.get(k)}
    probes = [
        {"name": name, "url": f"http://127.0.0.1:9/{i}", "interval": "1h"}
        for i, name in enumerate(names)
    ]
    document = {"service": "AI Governance API", "timezone": "UTC", "probes": probes, **wanted}
    return loads_config(yaml.safe_dump(document))


class MutableClock:
    """A clock tests can move forward."""

    def __init__(self, now: datetime = FROZEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class FakeSource:
    """Returns (or raises) queued items; repeats the last one."""

    def __init__(self, *items: object) -> None:
        self.items = deque(items)
        self.polls = 0
        self.closed = False

    async def poll(self) -> object:
        self.polls += 1
        item = self.items.popleft() if len(self.items) > 1 else self.items[0]
        if isinstance(item, Exception):
            raise item
        return item

    async def aclose(self) -> None:
        self.closed = True


def sentry_snapshot() -> SentrySnapshot:
    return SentrySnapshot(
        projects=(
            SentryProjectCounts("api", unresolved=37, new_24h=4, new_since_shift=2),
            SentryProjectCounts("dashboard", unresolved=5, new_24h=1, new_since_shift=0),
        ),
        top=(
            SentryIssue(
                "4508123456",
                "API-1F",
                "KeyError: 'policy_id' [bold]not markup[/bold]",
                "governance.policies in evaluate",
                "error",
                "api",
                1234,
                17,
                FROZEN - timedelta(hours=30),
                FROZEN - timedelta(minutes=3),
                "https://acme.sentry.io/issues/4508123456/",
            ),
            SentryIssue(
                "4508123457",
                "DASH-9",
                "TypeError: Cannot read properties of undefined (reading 'keys')",
                "src/pages/keys.tsx",
                "warning",
                "dashboard",
                88,
                9,
                FROZEN - timedelta(hours=2),
                FROZEN - timedelta(minutes=40),
                None,
            ),
        ),
        shift_start=FROZEN - timedelta(hours=18),
        rate_limit_remaining=38,
    )


def metrics_snapshot() -> MetricsSnapshot:
    series = tuple((1000.0 + i * 60, 400.0 + (i % 7) * 90) for i in range(60))
    return MetricsSnapshot(
        readings=(
            MetricReading("p95 latency", "ms", 1180.0, "crit", series, 800, 1000, None),
            MetricReading(
                "5xx error rate",
                "%",
                0.42,
                "ok",
                tuple((t, v / 1000) for t, v in series),
                1,
                5,
                "https://grafana.example.com/d/api?viewPanel=2",
            ),
            MetricReading("429 rate", "%", 2.5, "warn", (), 2, 5),
            MetricReading(
                "bad query", "", None, "unknown", error="bad query: 1:5: parse error: unexpected"
            ),
        )
    )


def alerts_snapshot() -> AlertsSnapshot:
    return AlertsSnapshot(
        firing=(
            Alert(
                "HighErrorRate",
                "critical",
                "5xx > 5% on /v1/check",
                FROZEN - timedelta(minutes=12),
                "active",
                False,
                False,
                "a1",
            ),
            Alert(
                "Watchdog",
                "none",
                "always firing",
                FROZEN - timedelta(days=2),
                "suppressed",
                True,
                False,
                "a2",
            ),
        ),
        fired_since_shift=(
            FiredAlert("HighErrorRate", "critical"),
            FiredAlert("RedisDown", "page"),
        ),
    )


def statuspage_snapshot() -> StatusPageSnapshot:
    return StatusPageSnapshot(
        page="AI Governance",
        indicator="minor",
        description="Partially Degraded Service",
        components=(StatusComponent("API / Policy evaluation", "degraded_performance"),),
        incidents=(
            StatusIncident(
                "Elevated API errors",
                "investigating",
                "minor",
                FROZEN - timedelta(minutes=20),
                "https://stspg.io/x",
                "We are looking into it.",
            ),
        ),
        maintenances=(),
    )


def all_fakes() -> dict[str, FakeSource]:
    return {
        "sentry": FakeSource(sentry_snapshot()),
        "metrics": FakeSource(metrics_snapshot()),
        "alerts": FakeSource(alerts_snapshot()),
        "statuspage": FakeSource(statuspage_snapshot()),
    }


# -- a store that fails on demand ------------------------------------------------------


class BreakableStore:
    """A real store whose every coroutine method raises StoreError while ``broken``
    (as SQLite's disk I/O, full-disk and lock-timeout errors reach the console)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.broken = False
        self.only: frozenset[str] | None = None  # while broken, fail only these methods
        self.refused: list[str] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or not asyncio.iscoroutinefunction(value):
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.broken and name != "close" and (self.only is None or name in self.only):
                self.refused.append(name)
                raise StoreError("disk I/O error")
            return await value(*args, **kwargs)

        return call
