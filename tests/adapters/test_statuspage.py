"""StatuspageSource against the fake Statuspage server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsconsole.adapters.statuspage import StatuspageSource, parse_summary
from opsconsole.config.sources import StatuspageConfig
from opsconsole.core.sources import SourceError
from opsconsole.demo.statuspage import DemoStatuspage

NOW = datetime(2026, 11, 2, 7, 0, 0, tzinfo=UTC)


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime = NOW) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def page() -> Iterator[DemoStatuspage]:
    with DemoStatuspage(api_url="http://127.0.0.1:8999", clock=lambda: NOW) as server:
        yield server


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
async def source(page: DemoStatuspage, clock: StepClock) -> AsyncIterator[StatuspageSource]:
    config = StatuspageConfig(url=page.base_url, timeout="2s")
    src = StatuspageSource(config, clock=clock)
    yield src
    await src.aclose()


async def test_all_operational(page: DemoStatuspage, source: StatuspageSource) -> None:
    snapshot = await source.poll()
    assert snapshot.page == "AI Governance API (demo)"
    assert (snapshot.indicator, snapshot.description) == ("none", "All Systems Operational")
    assert snapshot.components == snapshot.incidents == snapshot.maintenances == ()


async def test_degraded_scenario(page: DemoStatuspage, source: StatuspageSource) -> None:
    """Groups are skipped (not counted twice); children are named "Group / Child"; offsets
    become aware UTC; the newest update's first line is kept."""
    page.scenario = "degraded"
    snapshot = await source.poll()
    assert snapshot.indicator == "minor"
    assert [(c.name, c.status) for c in snapshot.components] == [
        ("Ingestion / EU", "degraded_performance")
    ]
    (incident,) = snapshot.incidents
    assert incident.name == "Elevated error rates in EU ingestion"
    assert (incident.status, incident.impact) == ("investigating", "minor")
    assert incident.started_at == NOW - timedelta(minutes=25)
    assert incident.started_at is not None and incident.started_at.tzinfo == UTC
    assert incident.shortlink is not None and incident.shortlink.startswith("https://stspg.io/")
    assert incident.latest_update == "We are investigating elevated error rates."
    (maintenance,) = snapshot.maintenances
    assert (maintenance.name, maintenance.status) == ("Database upgrade", "scheduled")
    assert maintenance.impact == "maintenance"
    assert maintenance.started_at == NOW + timedelta(days=1)


async def test_demo_scenario(page: DemoStatuspage, source: StatuspageSource) -> None:
    page.scenario = "demo"
    snapshot = await source.poll()
    assert snapshot.indicator == "minor"
    assert [(c.name, c.status) for c in snapshot.components] == [("API", "degraded_performance")]
    (incident,) = snapshot.incidents
    assert incident.shortlink == "http://127.0.0.1:8999/health"
    assert "/health returns 503" in incident.latest_update


async def test_polls_at_most_once_a_minute(
    page: DemoStatuspage, source: StatuspageSource, clock: StepClock
) -> None:
    """Within 60 s of the last successful fetch poll() answers from cache, without a request."""
    first = await source.poll()
    assert page.requests == 1
    page.scenario = "degraded"
    clock.advance(59)
    assert await source.poll() is first
    assert page.requests == 1
    clock.advance(1)
    second = await source.poll()
    assert page.requests == 2
    assert second.indicator == "minor"
    assert source.fetched_at == NOW + timedelta(seconds=60)


async def test_failures_are_not_cached(
    page: DemoStatuspage, source: StatuspageSource, clock: StepClock
) -> None:
    page.fault = "500"
    with pytest.raises(SourceError, match="HTTP 500"):
        await source.poll()
    page.fault = None
    clock.advance(5)
    assert (await source.poll()).indicator == "none"
    assert page.requests == 2


async def test_rate_limited_waits_for_retry_after(
    page: DemoStatuspage, source: StatuspageSource, clock: StepClock
) -> None:
    page.fault = "429"
    with pytest.raises(SourceError, match="rate limited") as caught:
        await source.poll()
    assert caught.value.retry_after == 120
    clock.advance(60)
    with pytest.raises(SourceError, match="rate limited"):
        await source.poll()
    assert page.requests == 1
    page.fault = None
    clock.advance(61)
    await source.poll()
    assert page.requests == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("404", "not an Atlassian Statuspage (summary.json returned 404)"),
        ("html", "not an Atlassian Statuspage (HTML, not JSON)"),
        ("garbage", "invalid JSON from summary.json"),
        ("wrong-shape", "not an Atlassian Statuspage (summary.json has no status.indicator)"),
        ("500", "status page answered HTTP 500 Internal Server Error"),
    ],
)
async def test_faults_are_one_line_reasons(
    page: DemoStatuspage, source: StatuspageSource, fault: Any, reason: str
) -> None:
    page.fault = fault
    with pytest.raises(SourceError) as caught:
        await source.poll()
    assert str(caught.value) == reason


async def test_timeout(page: DemoStatuspage, clock: StepClock) -> None:
    page.fault = "slow"
    config = StatuspageConfig(url=page.base_url, timeout="300ms")
    source = StatuspageSource(config, clock=clock)
    try:
        with pytest.raises(SourceError, match=r"^timed out after 300ms$"):
            await source.poll()
    finally:
        await source.aclose()


async def test_unreachable(clock: StepClock, closed_port: int) -> None:
    config = StatuspageConfig(url=f"http://127.0.0.1:{closed_port}", timeout="2s")
    source = StatuspageSource(config, clock=clock)
    try:
        with pytest.raises(SourceError, match=r"^connection refused by 127\.0\.0\.1$"):
            await source.poll()
    finally:
        await source.aclose()


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "page": {"name": "P"},
        "status": {"indicator": "major", "description": "Partial System Outage"},
        "components": [],
        "incidents": [],
        "scheduled_maintenances": [],
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "summary.json is not a JSON object"),
        ({"status": "ok"}, "has no status.indicator"),
        (_doc(components={"a": 1}), "'components' is not a list"),
        (_doc(incidents=None), "'incidents' is not a list"),
    ],
)
def test_malformed_shapes(data: Any, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        parse_summary(data)


def test_untrusted_strings_are_capped_and_bad_entries_skipped() -> None:
    """Names stay as sent (the UI sanitizes) but are capped; junk rows are skipped."""
    long_name = "\x1b]52;c;AAAA\x07" + "x" * 5000
    snapshot = parse_summary(
        _doc(
            components=[
                "junk",
                {"id": "a", "name": long_name, "status": "major_outage", "group": False},
                {"id": "b", "name": "OK one", "status": "operational"},
            ],
            incidents=[
                7,
                {
                    "name": "Resolved already",
                    "status": "resolved",
                    "impact": "minor",
                    "incident_updates": [],
                },
                {
                    "name": "Outage",
                    "status": "identified",
                    "impact": "major",
                    "shortlink": "javascript:alert(1)",
                    "started_at": "2026-11-02T01:00:00-05:00",
                    "incident_updates": [
                        {"body": "old", "display_at": "2026-11-02T06:00:00Z"},
                        {"body": "\n\nnewer first line\nsecond", "display_at": "2026-11-02T06:30Z"},
                        {"body": 42},
                    ],
                },
            ],
        )
    )
    (component,) = snapshot.components
    assert component.name.startswith("\x1b]52;")
    assert len(component.name) == 200 and component.name.endswith("…")
    (incident,) = snapshot.incidents
    assert incident.shortlink is None
    assert incident.started_at == datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    assert incident.latest_update == "newer first line"


def test_bad_timestamps_become_none() -> None:
    snapshot = parse_summary(
        _doc(incidents=[{"name": "x", "status": "investigating", "started_at": "yesterday"}])
    )
    assert snapshot.incidents[0].started_at is None
