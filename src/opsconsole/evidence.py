"""Live evidence for escalations and runbook steps, read from the engine and the pollers."""

from __future__ import annotations

from opsconsole.core.redact import redact_text
from opsconsole.core.sources import MetricsSnapshot, SentrySnapshot, StatusPageSnapshot
from opsconsole.core.templates import Evidence
from opsconsole.engine import ProbeEngine
from opsconsole.polling import SourceHub


def escalation_evidence(engine: ProbeEngine | None, hub: SourceHub | None) -> Evidence:
    """Probe states (failing ones with their reason) and Sentry counts and links."""
    probes: list[str] = []
    if engine is not None:
        for status in engine.statuses():
            line = f"{status.name}: {status.state.value}"
            if status.result is not None and not status.result.ok:
                line += f" — {status.result.reason}"
            probes.append(redact_text(line))
    sentry = None
    links: list[str] = []
    data = _data(hub, "sentry")
    if isinstance(data, SentrySnapshot):
        sentry = (
            f"{data.unresolved} unresolved, {data.new_24h} new in 24h, "
            f"{data.new_since_shift} new this shift"
        )
        links = [i.permalink for i in data.top[:3] if i.permalink]
    return Evidence(probes=tuple(probes), sentry=sentry, links=tuple(links))


def runbook_evidence(key: str, engine: ProbeEngine | None, hub: SourceHub | None) -> str | None:
    """A short live fact for a runbook step, e.g. ``API health: up, 120 ms``."""
    kind, _, name = key.partition(":")
    if kind == "probe":
        for status in engine.statuses() if engine is not None else []:
            if status.name.lower() == name.lower():
                latency = status.result.latency_ms if status.result else None
                extra = f", {latency:.0f} ms" if latency is not None else ""
                return f"{status.name}: {status.state.value}{extra}"
        return None
    if kind == "metrics":
        metrics = _data(hub, "metrics")
        if isinstance(metrics, MetricsSnapshot):
            bad = [r.name for r in metrics.readings if r.level in ("warn", "crit")]
            return f"metrics: {', '.join(bad)} above threshold" if bad else "metrics: normal"
        return None
    if kind == "metric":
        metrics = _data(hub, "metrics")
        if isinstance(metrics, MetricsSnapshot):
            for reading in metrics.readings:
                if reading.name.lower() == name.lower() and reading.value is not None:
                    return f"{reading.name}: {reading.value:.3g} {reading.unit} ({reading.level})"
        return None
    data = _data(hub, kind)
    if isinstance(data, SentrySnapshot):
        return f"Sentry: {data.unresolved} unresolved, {data.new_24h} new in 24h"
    if isinstance(data, StatusPageSnapshot):
        return f"status page: {data.indicator} ({data.description})"
    return None


def _data(hub: SourceHub | None, name: str) -> object | None:
    poller = hub.pollers.get(name) if hub is not None else None
    return poller.status.data if poller is not None else None
