"""``opsconsole status``: poll every configured source once and report.

The JSON document has the keys ``probes``, ``sentry``, ``metrics``, ``alerts`` and
``statuspage``; a source that is not configured is ``null``, one that failed is
``{"error": "<reason>"}``. Non-finite numbers (a metric at ``+Inf``, a ``NaN`` quantile) are
written as Prometheus writes them, the strings ``"+Inf"``, ``"-Inf"`` and ``"NaN"``: JSON has
no such numbers, and ``json.dumps`` would otherwise emit ``Infinity``, which parsers refuse.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.core.sources import (
    CHART_ERROR_PREFIX,
    AlertsSnapshot,
    MetricsSnapshot,
    SentrySnapshot,
    SourceStatus,
    StatusPageSnapshot,
)
from opsconsole.core.text import sanitize_terminal
from opsconsole.engine import ProbeEngine

SOURCE_KEYS = ("sentry", "metrics", "alerts", "statuspage")
UNANSWERED = {
    Outcome.TIMEOUT,
    Outcome.DNS_FAILURE,
    Outcome.CONNECTION_REFUSED,
    Outcome.TLS_ERROR,
    Outcome.ERROR,
}


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and datetimes as JSON-ready values."""
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"
    return value


def sentry_json(data: SentrySnapshot) -> dict[str, Any]:
    """Totals, per-project counts and the top issues."""
    return {
        "unresolved": data.unresolved,
        "new_24h": data.new_24h,
        "new_since_shift": data.new_since_shift,
        "shift_start": data.shift_start.isoformat(),
        "projects": {
            p.project: {
                "unresolved": p.unresolved,
                "new_24h": p.new_24h,
                "new_since_shift": p.new_since_shift,
            }
            for p in data.projects
        },
        "top": _plain(list(data.top)),
        "rate_limit_remaining": data.rate_limit_remaining,
    }


def source_json(status: SourceStatus) -> dict[str, Any]:
    """One source's entry: its data, or ``{"error": reason}``."""
    if status.error is not None or status.data is None:
        return {"error": status.error or "no data"}
    data = status.data
    if isinstance(data, SentrySnapshot):
        return sentry_json(data)
    if isinstance(data, MetricsSnapshot | AlertsSnapshot | StatusPageSnapshot):
        result: dict[str, Any] = _plain(data)
        return result
    return {"data": _plain(data)}


def one_shot_state(result: ProbeResult) -> str:
    """State of a single run: up, degraded (only latency failed) or down."""
    if result.ok:
        return "up"
    return "degraded" if result.degraded else "down"


def result_json(result: ProbeResult) -> dict[str, object]:
    """The ``check --json`` object for one result."""
    return {
        "name": result.probe,
        "ok": result.ok,
        "state": one_shot_state(result),
        "outcome": result.outcome.value,
        "status": result.status,
        "latency_ms": None if result.latency_ms is None else round(result.latency_ms, 1),
        "error": result.error if not result.ok else None,
        "conditions": [
            {"condition": c.condition, "ok": c.ok, "resolved": c.resolved}
            for c in result.conditions
        ],
    }


async def run_probes_once(config: Config, db: Path | None) -> list[ProbeResult]:
    """Run every probe once (recording the results when ``db`` is given)."""
    from opsconsole.adapters.http_probe import ProbeRunner
    from opsconsole.adapters.sqlite_store import SqliteStore

    store = await SqliteStore.open(db) if db is not None else None
    try:
        async with ProbeRunner(max_concurrency=config.max_concurrency) as runner:
            engine = ProbeEngine(config, store=store, runner=runner)
            return await engine.run_once()
    finally:
        if store is not None:
            await store.close()


def build_document(results: list[ProbeResult], statuses: dict[str, SourceStatus]) -> dict[str, Any]:
    """The ``status --json`` document."""
    document: dict[str, Any] = {"probes": [result_json(r) for r in results]}
    for key in SOURCE_KEYS:
        status = statuses.get(key)
        document[key] = None if status is None else source_json(status)
    return document


def all_answered(results: list[ProbeResult], statuses: dict[str, SourceStatus]) -> bool:
    """True when every source answered (a probe target answered, even with a failed check)."""
    probes_ok = all(r.outcome not in UNANSWERED for r in results)
    return probes_ok and all(s.error is None for s in statuses.values())


async def collect(
    config: Config, *, db: Path | None = None, clock: Clock = system_clock
) -> tuple[list[ProbeResult], dict[str, SourceStatus]]:
    """Run every probe and poll every configured source once, concurrently."""
    from opsconsole.polling import SourceHub, build_sources

    hub = SourceHub(config, build_sources(config, clock=clock), clock=clock)
    try:
        results, statuses = await asyncio.gather(run_probes_once(config, db), hub.poll_all_once())
    finally:
        await hub.stop()
    return results, statuses


def render_table(document: dict[str, Any]) -> str:
    """A human summary of the status document, one line per item."""
    lines: list[str] = []

    def add(text: str) -> None:
        lines.append(sanitize_terminal(text, single_line=True, limit=200))

    probes = document["probes"]
    down = [p for p in probes if not p["ok"]]
    add(f"PROBES      {len(probes) - len(down)}/{len(probes)} ok")
    for p in down:
        failing = "; ".join(c["resolved"] for c in p["conditions"] if not c["ok"])
        add(f"  {p['state'].upper():<9} {p['name']}: {failing or p['error'] or p['outcome']}")
    sentry = document["sentry"]
    if sentry is not None:
        if "error" in sentry:
            add(f"SENTRY      error: {sentry['error']}")
        else:
            add(
                f"SENTRY      {sentry['unresolved']} unresolved, {sentry['new_24h']} new in 24h, "
                f"{sentry['new_since_shift']} new this shift"
            )
            for name, counts in sentry["projects"].items():
                add(f"  {name}: {counts['unresolved']} unresolved, {counts['new_24h']} new in 24h")
    metrics = document["metrics"]
    if metrics is not None:
        if "error" in metrics:
            add(f"METRICS     error: {metrics['error']}")
        else:
            add("METRICS")
            for r in metrics["readings"]:
                number = r["value"]
                shown = f"{number:.4g}" if isinstance(number, int | float) else str(number)
                value = "—" if number is None else f"{shown} {r['unit']}".strip()
                error = r["error"]
                if error and error.startswith(CHART_ERROR_PREFIX) and number is not None:
                    value = f"{value} ({error})"  # only the chart failed: the value is good
                elif error:
                    value = error
                add(f"  {r['level'].upper():<7} {r['name']}: {value}")
    alerts = document["alerts"]
    if alerts is not None:
        if "error" in alerts:
            add(f"ALERTS      error: {alerts['error']}")
        else:
            add(f"ALERTS      {len(alerts['firing'])} firing")
            for a in alerts["firing"]:
                muted = " (silenced)" if a["silenced"] else " (inhibited)" if a["inhibited"] else ""
                add(f"  {a['severity']:<9} {a['name']}{muted}: {a['summary']}")
            fired = alerts.get("fired_since_shift")
            if fired is not None:
                names = sorted({f["name"] for f in fired})
                add(f"  fired since shift start: {', '.join(names) or 'none'}")
    page = document["statuspage"]
    if page is not None:
        if "error" in page:
            add(f"STATUSPAGE  error: {page['error']}")
        else:
            add(f"STATUSPAGE  {page['indicator']}: {page['description']}")
            for c in page["components"]:
                add(f"  {c['name']}: {c['status']}")
            for i in page["incidents"]:
                add(f"  incident: {i['name']} ({i['status']})")
    return "\n".join(lines)
