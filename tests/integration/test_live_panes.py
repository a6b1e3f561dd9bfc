"""The real console, polling for real: killing Prometheus mid-run and bringing it back.

The issue's last "Done when": the app built by ``make_app`` with the real adapters
(``build_sources``), the real probe runner and a real history database, polling a real
Prometheus and Alertmanager (scraping the demo API), the Sentry fake and the fake status
page on short intervals. Stopping Prometheus turns only the metrics pane to an error;
starting it again brings the pane back by itself.

Tests needing the binaries skip locally and fail under ``CI=true`` when they are missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import OpsConsoleApp, make_app
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.demo.api import DemoApi
from opsconsole.demo.prom_stack import PromStack
from opsconsole.demo.sentry_api import SentryFake
from opsconsole.demo.statuspage import DemoStatuspage
from opsconsole.polling import build_sources
from opsconsole.widgets.alerts_pane import AlertsPane
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.metrics_pane import MetricsPane
from opsconsole.widgets.sentry_pane import SentryPane
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.statuspage_pane import StatusPagePane

WATCHDOG = "AlwaysFiringWatchdog"
PROBE = "API health"
SIZE = (160, 48)
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)? ")  # "12.3 req/s", "1,180 ms", "0.00 %"


def _require_binaries() -> None:
    reason = PromStack.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def _wait_blocking(predicate: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class Services:
    """The demo API, Prometheus + Alertmanager scraping it, the Sentry and status fakes."""

    api: DemoApi
    prom: PromStack
    sentry: SentryFake
    page: DemoStatuspage


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    """Ready when rate() has data and the watchdog reached Alertmanager."""
    _require_binaries()
    api = DemoApi(healthy_for=3600, unhealthy_for=1).start()
    # A 5xx and a 429 series exist from the first scrape, so every default query is a number.
    api.metrics.observe("POST", "/v1/check", 500, 0.05)
    api.metrics.observe("POST", "/v1/check", 429, 0.01)
    sentry = SentryFake().start()
    page = DemoStatuspage(scenario="operational").start()
    try:
        with PromStack([f"127.0.0.1:{api.port}"]).start() as prom:
            rate = urllib.parse.urlencode({"query": "sum(rate(http_requests_total[5m])) > 0"})
            _wait_blocking(
                lambda: bool(
                    _get_json(f"{prom.prometheus_url}/api/v1/query?{rate}")["data"]["result"]
                ),
                "rate() data from the demo API",
            )
            _wait_blocking(
                lambda: any(
                    a["labels"].get("alertname") == WATCHDOG
                    for a in _get_json(f"{prom.alertmanager_url}/api/v2/alerts")
                ),
                "the watchdog in Alertmanager",
            )
            yield Services(api, prom, sentry, page)
    finally:
        page.stop()
        sentry.stop()
        api.stop()


def _config(document: dict[str, Any]) -> Config:
    return loads_config(yaml.safe_dump({"service": "AI Governance API", **document}))


def _app(config: Config, tmp_path: Path) -> OpsConsoleApp:
    async def open_store() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "history.db")

    return make_app(
        config,
        store_factory=open_store,
        runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
        sources_factory=lambda: build_sources(config),
        poll=True,
    )


async def _until(
    pilot: Pilot[None],
    predicate: Callable[[], bool],
    what: str,
    seconds: float,
    *,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Let the app run until ``predicate`` holds, checking ``meanwhile`` at every tick."""
    deadline = time.monotonic() + seconds
    while True:
        if meanwhile is not None:
            meanwhile()
        if predicate():
            return
        if time.monotonic() > deadline:
            pane = pilot.app.query_one(MetricsPane)
            state = (pane.classes, _error_line(pane), _metric_values(pilot.app))
            raise AssertionError(f"timed out after {seconds}s waiting for {what}: {state}")
        await pilot.pause(0.1)


def _error_line(pane: SourcePane) -> str:
    return str(pane.query_one(".pane-error", Static).render())


def _column(table: DataTable[Any], index: int) -> list[str]:
    return [table.get_row_at(i)[index].plain for i in range(table.row_count)]


def _metric_values(app: Any) -> list[str]:
    return _column(app.query_one("#metrics-table", DataTable), 1)


def _shows_numbers(app: OpsConsoleApp) -> bool:
    values = _metric_values(app)
    return len(values) == 4 and all(NUMBER.match(v) for v in values)


def _checked(app: OpsConsoleApp) -> str:
    cell = app.query_one(HealthPane).get_cell(PROBE, "checked")
    return str(cell.plain)


@pytest.mark.realserver
async def test_killing_prometheus_errors_only_the_metrics_pane_and_it_recovers(
    services: Services, tmp_path: Path
) -> None:
    """Stopping Prometheus mid-run turns the metrics pane to an error naming the cause while
    Sentry, Alerts, the status page and Health keep working; starting it again brings the
    metrics pane back to ok with no key pressed."""
    prom = services.prom
    config = _config(
        {
            "timezone": "UTC",
            "probes": [{"name": PROBE, "url": f"{services.api.base_url}/health", "interval": 1}],
            "prometheus": {
                "url": prom.prometheus_url,
                "interval": "1s",
                "timeout": "800ms",
                "range": "5m",
                "step": "15s",
            },
            "alertmanager": {"url": prom.alertmanager_url, "interval": "1s", "timeout": "800ms"},
            "sentry": {
                "base_url": services.sentry.base_url,
                "org": "acme",
                "projects": ["api", "dashboard"],
                "token": services.sentry.token,
                "interval": "2s",
                "timeout": "1500ms",
            },
            "statuspage": {"url": services.page.base_url},  # 60 s: polled once, at start
        }
    )
    app = _app(config, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        metrics = app.query_one(MetricsPane)
        others: list[SourcePane] = [
            app.query_one(SentryPane),
            app.query_one(AlertsPane),
            app.query_one(StatusPagePane),
        ]
        await _until(
            pilot,
            lambda: metrics.has_class("-ok") and _shows_numbers(app),
            "the metrics pane to show numbers",
            seconds=10,
        )
        await _until(
            pilot,
            lambda: all(p.has_class("-ok") for p in others) and _checked(app) != "never",
            "every pane to be ok",
            seconds=10,
        )
        assert _error_line(metrics) == ""
        sentry_polls = len(services.sentry.requests)
        checked_before = _checked(app)
        alerts_table = app.query_one("#alerts-table", DataTable)

        def others_stay_ok() -> None:
            for pane in others:
                assert pane.has_class("-ok"), (pane.source_name, _error_line(pane))
                assert _error_line(pane) == "", pane.source_name
            assert WATCHDOG in _column(alerts_table, 1)  # Alertmanager still lists it

        # -- kill -------------------------------------------------------------------------
        await asyncio.to_thread(prom.stop_prometheus)
        await _until(
            pilot,
            lambda: metrics.has_class("-error"),
            "the metrics pane to turn to an error",
            seconds=5,
            meanwhile=others_stay_ok,
        )
        error = _error_line(metrics)
        assert "cannot reach Prometheus" in error, error
        assert f"127.0.0.1:{prom.prometheus_port}" in error
        assert str(metrics.border_subtitle).startswith("ERROR · last good ")
        assert _shows_numbers(app), "the last good values stay on screen"
        assert not metrics.has_class("-ok")
        # The alert list is fine; only its "since shift start" line may carry the error.
        history = app.query_one("#alerts-history", Static)
        await _until(
            pilot,
            lambda: "cannot reach Prometheus" in str(history.render()),
            "the alerts history line to show the error",
            seconds=5,
            meanwhile=others_stay_ok,
        )
        # Everything else keeps polling while Prometheus is down.
        await _until(
            pilot,
            lambda: (
                _checked(app) != checked_before and len(services.sentry.requests) > sentry_polls
            ),
            "the Health pane and Sentry to keep updating",
            seconds=5,
            meanwhile=others_stay_ok,
        )
        assert metrics.has_class("-error")

        # -- restart ----------------------------------------------------------------------
        await asyncio.to_thread(prom.start_prometheus)
        await _until(
            pilot,
            lambda: metrics.has_class("-ok"),
            "the metrics pane to recover by itself",
            seconds=8,
            meanwhile=others_stay_ok,
        )
        assert _error_line(metrics) == ""
        assert str(metrics.border_subtitle).startswith("updated ")
        assert _shows_numbers(app)
        await _until(
            pilot,
            lambda: "Fired since shift start" in str(history.render()),
            "the alerts history line to recover",
            seconds=5,
        )
        assert WATCHDOG in str(history.render())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_pane_that_never_succeeded_says_no_data_yet(tmp_path: Path) -> None:
    """A source that has failed since start-up shows "ERROR · no data yet" and its reason,
    not an empty ok pane, and keeps the rest of the console alive."""
    port = _closed_port()
    config = _config(
        {
            "timezone": "UTC",
            "prometheus": {
                "url": f"http://127.0.0.1:{port}",
                "interval": "1s",
                "timeout": "800ms",
            },
        }
    )
    app = _app(config, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        metrics = app.query_one(MetricsPane)
        await _until(pilot, lambda: metrics.has_class("-error"), "the first failure", seconds=5)
        assert str(metrics.border_subtitle) == "ERROR · no data yet"
        error = _error_line(metrics)
        assert f"cannot reach Prometheus at 127.0.0.1:{port}" in error, error
        assert app.query_one("#metrics-table", DataTable).row_count == 0
        assert not app.query(SentryPane) and not app.query(AlertsPane)  # hidden, not broken
        await pilot.pause(1.2)  # a second failed poll leaves it as it was
        assert metrics.has_class("-error")
        assert str(metrics.border_subtitle) == "ERROR · no data yet"
        assert app.is_running
