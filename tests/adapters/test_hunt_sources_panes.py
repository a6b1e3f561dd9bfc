"""Regression tests: what the source panes show for real answers, end to end.

Each test polls the real adapter against a loopback server that answers with the
documented shapes (API-REFERENCE §1, §2), then hands the result to the pane the way the
console does (a ``SourceUpdated`` message) and reads the table back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

from canned_server import Answer, Canned
from opsconsole.adapters.prometheus import PrometheusSource
from opsconsole.adapters.sentry import SentrySource
from opsconsole.config.sources import PrometheusConfig, SentryConfig
from opsconsole.core.sources import MetricsSnapshot, SourceStatus
from opsconsole.messages import SourceUpdated
from opsconsole.widgets.metrics_pane import MetricsPane
from opsconsole.widgets.sentry_pane import SentryPane
from opsconsole.widgets.source_pane import SourcePane

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


class Host(App[None]):
    """Just one pane, as the dashboard mounts it."""

    def __init__(self, pane: SourcePane) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane


def status_of(name: str, data: object, interval: float = 60) -> SourceStatus:
    return SourceStatus(source=name, interval=timedelta(seconds=interval)).succeeded(data, NOW)


def cells(table: DataTable[Any], row: int) -> list[str]:
    return [cell.plain if isinstance(cell, Text) else str(cell) for cell in table.get_row_at(row)]


# -- Sentry -------------------------------------------------------------------------------------


def _row(**fields: Any) -> dict[str, Any]:
    row = {
        "shortId": "API-1F",
        "title": "KeyError: 'job'",
        "culprit": "opsconsole.prom in parse_vector",
        "level": "error",
        "status": "unresolved",
        "count": "42",
        "userCount": 3,
        "firstSeen": "2026-11-02T01:13:09.120000Z",
        "lastSeen": "2026-11-02T06:40:11Z",
        "permalink": None,
        "project": {"id": "11", "name": "api", "slug": "api", "platform": "python"},
    }
    row.update(fields)
    return row


async def test_sentry_rows_without_a_usable_id_do_not_crash_the_pane(server: Canned) -> None:
    """Issue ids are server data: two rows with the same (or no) ``id`` made the issues
    table raise DuplicateKey in a message handler, which ended the whole console."""
    rows = [
        _row(shortId="API-1F", title="first"),  # no "id" at all
        _row(shortId="API-1G", title="second"),  # no "id" either
        _row(id="77", shortId="API-1H", title="third"),
        _row(id="77", shortId="API-1H", title="third again"),  # repeated id
    ]
    link = (
        f'<{server.base}/x?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{server.base}/x?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"'
    )
    server.routes["/api/0/organizations/acme/issues/"] = lambda q, _: (
        200,
        {"Content-Type": "application/json", "Link": link, "X-Hits": "4"},
        rows,
    )
    config = SentryConfig.model_validate(
        {
            "base_url": server.base,
            "org": "acme",
            "projects": ["11"],
            "token": "sntryu_hunt_token_0123456789",
            "timeout": "5s",
        }
    )
    source = SentrySource(config, shift_start=lambda: datetime.now(UTC) - timedelta(hours=2))
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()

    pane = SentryPane(clock=lambda: NOW, timezone=UTC)
    app = Host(pane)
    async with app.run_test(size=(160, 30)) as pilot:
        pane.post_message(SourceUpdated(status_of("sentry", snapshot)))
        await pilot.pause()
        assert app.is_running
        table = pane.query_one("#sentry-issues", DataTable)
        assert [cells(table, i)[5] for i in range(table.row_count)] == [
            "first",
            "second",
            "third",
            "third again",
        ]
        assert pane.has_class("-ok")
        # Enter on a row still opens that row's detail.
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "LinkDetailScreen"
        assert getattr(app.screen, "url", "missing") is None


# -- Prometheus ---------------------------------------------------------------------------------


def serve_prometheus(server: Canned, *, range_error: str | None = None) -> None:
    """``/api/v1/query`` answers a vector, ``/api/v1/query_range`` a matrix (or an error)."""

    def instant(pairs: list[tuple[str, str]], _: bytes) -> Answer:
        query = dict(pairs)
        value = query["query"].removeprefix("vector(").removesuffix(")")
        result = [{"metric": {}, "value": [1762066800.123, value]}]
        return 200, {"Content-Type": "application/json"}, _success("vector", result)

    def ranged(_pairs: list[tuple[str, str]], _body: bytes) -> Answer:
        if range_error is not None:
            body = {"status": "error", "errorType": "bad_data", "error": range_error}
            return 400, {"Content-Type": "application/json"}, body
        values = [[1762066800 + 60 * i, str(i)] for i in range(5)]
        matrix = _success("matrix", [{"metric": {}, "values": values}])
        return 200, {"Content-Type": "application/json"}, matrix

    server.routes["/api/v1/query"] = instant
    server.routes["/api/v1/query_range"] = ranged


def _success(kind: str, result: list[Any]) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": kind, "result": result}}


async def poll_metrics(server: Canned, queries: list[dict[str, Any]]) -> MetricsSnapshot:
    config = PrometheusConfig.model_validate(
        {"url": server.base, "timeout": "5s", "queries": queries}
    )
    source = PrometheusSource(config)
    try:
        return await source.poll()
    finally:
        await source.aclose()


async def test_two_queries_with_the_same_name_both_show(server: Canned) -> None:
    """Query names are not unique in checks.yaml; the second row used to raise
    DuplicateKey and end the console."""
    serve_prometheus(server)
    snapshot = await poll_metrics(
        server,
        [
            {"name": "error rate", "query": "vector(5)", "unit": "%", "warn": 1, "crit": 5},
            {"name": "error rate", "query": "vector(0.25)", "unit": "%", "warn": 1, "crit": 5},
        ],
    )
    pane = MetricsPane(clock=lambda: NOW, timezone=UTC)
    app = Host(pane)
    async with app.run_test(size=(160, 30)) as pilot:
        pane.post_message(SourceUpdated(status_of("metrics", snapshot, 15)))
        await pilot.pause()
        assert app.is_running
        table = pane.query_one("#metrics-table", DataTable)
        assert [cells(table, i)[:2] for i in range(table.row_count)] == [
            ["error rate", "5.00 %"],
            ["error rate", "0.25 %"],
        ]


async def test_a_failed_chart_keeps_the_value_on_screen(server: Canned) -> None:
    """Prometheus refuses a range over 11,000 points (400 bad_data) while the instant
    query is fine: the adapter keeps the value, but the pane showed only "error"."""
    serve_prometheus(
        server,
        range_error="exceeded maximum resolution of 11,000 points per timeseries. "
        "Try decreasing the query resolution (?step=XX)",
    )
    snapshot = await poll_metrics(
        server, [{"name": "p95 latency", "query": "vector(5)", "unit": "ms", "warn": 2, "crit": 10}]
    )
    (reading,) = snapshot.readings
    assert (reading.value, reading.level) == (5.0, "warn")
    pane = MetricsPane(clock=lambda: NOW, timezone=UTC)
    app = Host(pane)
    async with app.run_test(size=(160, 30)) as pilot:
        pane.post_message(SourceUpdated(status_of("metrics", snapshot, 15)))
        await pilot.pause()
        table = pane.query_one("#metrics-table", DataTable)
        _name, value, _limits, chart = table.get_row_at(0)
        assert value.plain == "5.00 ms"
        assert value.style == "bold yellow"  # warn
        assert chart.plain.startswith("chart: bad query: exceeded maximum resolution")
        assert chart.style == "red"


async def test_a_failed_instant_query_still_says_error(server: Canned) -> None:
    """The other way round is unchanged: no value, "error", and the reason."""
    serve_prometheus(server)
    server.routes["/api/v1/query"] = lambda q, _: (
        422,
        {"Content-Type": "application/json"},
        {"status": "error", "errorType": "execution", "error": "many-to-many matching"},
    )
    snapshot = await poll_metrics(server, [{"name": "m", "query": "vector(5)"}])
    pane = MetricsPane(clock=lambda: NOW, timezone=UTC)
    app = Host(pane)
    async with app.run_test(size=(160, 30)) as pilot:
        pane.post_message(SourceUpdated(status_of("metrics", snapshot, 15)))
        await pilot.pause()
        table = pane.query_one("#metrics-table", DataTable)
        assert cells(table, 0)[1] == "error"
        assert cells(table, 0)[3] == "query failed: many-to-many matching"


# -- every pane ---------------------------------------------------------------------------------


class _FragilePane(SourcePane):
    """A pane whose drawing code fails on some data."""

    source_name = "fragile"
    title = "Fragile"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="fragile-body", markup=False)

    def show(self, data: object) -> None:
        if data == "bad":
            raise ValueError("cannot draw this")
        self.query_one("#fragile-body", Static).update(str(data))


async def test_data_a_pane_cannot_draw_is_a_reason_not_a_crash() -> None:
    pane = _FragilePane(clock=lambda: NOW, timezone=UTC)
    app = Host(pane)
    async with app.run_test(size=(100, 10)) as pilot:
        pane.post_message(SourceUpdated(status_of("fragile", "bad")))
        await pilot.pause()
        assert app.is_running
        error = str(pane.query_one(".pane-error", Static).render())
        assert error == "⚠ could not display this data (ValueError)"
        pane.post_message(SourceUpdated(status_of("fragile", "good")))
        await pilot.pause()
        assert str(pane.query_one(".pane-error", Static).render()) == ""
        assert str(pane.query_one("#fragile-body", Static).render()) == "good"
        # A source error still wins over a drawing problem.
        failed = status_of("fragile", "good").failed("Sentry did not answer within 5s", NOW)
        pane.post_message(SourceUpdated(failed))
        await pilot.pause()
        assert "did not answer" in str(pane.query_one(".pane-error", Static).render())
