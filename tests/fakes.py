"""Test doubles for the UI layer: a scripted probe runner and config builders.

UI tests exercise the Textual app, not the HTTP adapter (that has its own tests
against real servers), so the runner here returns scripted results.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import UTC, datetime

import yaml

from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config, ProbeConfig
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult

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
