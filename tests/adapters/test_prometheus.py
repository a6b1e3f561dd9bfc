"""PrometheusSource against a REAL Prometheus (scraping the demo API) and loopback fakes.

One stack per module (the demo API, Prometheus from :class:`PromStack`, a Grafana-like
proxy in front of it). Without the binaries the stack tests skip locally and fail under
``CI=true``. The kill/restart test runs last because it restarts the shared Prometheus.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsconsole.adapters.prometheus import PrometheusSource, one_line
from opsconsole.config.sources import DEFAULT_QUERIES, PrometheusConfig
from opsconsole.core.sources import FiredAlert, SourceError, classify
from opsconsole.demo.api import DemoApi
from opsconsole.demo.prom_stack import DEMO_RULES, PromStack

from grafana_proxy import FixedServer, GrafanaProxy, serving

CANARY = "glsa_CANARY_7f3e9d_do_not_leak"
PARSE_ERROR_QUERY = "sum(rate(http_requests_total[5m]"
MANY_TO_MANY = (
    '(vector(1) or label_replace(vector(1), "x", "y", "", "")) '
    '+ on() (vector(1) or label_replace(vector(1), "x", "y", "", ""))'
)
PANEL = "https://grafana.example/d/api?viewPanel=2"


def _require_binaries() -> None:
    reason = PromStack.missing_reason(alertmanager=False)
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _query(base: str, promql: str) -> list[Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=2) as response:
        result: list[Any] = json.load(response)["data"]["result"]
        return result


@pytest.fixture(scope="module")
def stack() -> Iterator[PromStack]:
    """The demo API scraped every second by a real Prometheus, with data for rate()."""
    _require_binaries()
    api = DemoApi().start()
    try:
        with PromStack([f"127.0.0.1:{api.port}"], alertmanager=False).start() as prom:
            deadline = time.monotonic() + 15
            while not _query(prom.prometheus_url, "sum(rate(http_requests_total[5m])) > 0"):
                assert time.monotonic() < deadline, "no rate() data from the demo API"
                time.sleep(0.25)
            yield prom
    finally:
        api.stop()


@pytest.fixture(scope="module")
def grafana(stack: PromStack) -> Iterator[GrafanaProxy]:
    """A Grafana-like proxy in front of the stack's Prometheus (uid ``prom``)."""
    with serving(GrafanaProxy(stack.prometheus_url, token=CANARY)) as proxy:
        yield proxy


@pytest.fixture
def lone_grafana(closed_port: int) -> Iterator[GrafanaProxy]:
    """A Grafana-like proxy whose upstream is down (its own errors come first)."""
    with serving(GrafanaProxy(f"http://127.0.0.1:{closed_port}", token=CANARY)) as proxy:
        yield proxy


@pytest.fixture
async def make_source() -> AsyncIterator[Callable[..., PrometheusSource]]:
    """Build PrometheusSources from config keywords; all are closed after the test."""
    sources: list[PrometheusSource] = []

    def make(**config: Any) -> PrometheusSource:
        config.setdefault("interval", "15s")
        config.setdefault("timeout", "5s")
        source = PrometheusSource(PrometheusConfig.model_validate(config))
        sources.append(source)
        return source

    yield make
    for source in sources:
        await source.aclose()


def _q(name: str, query: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "query": query, **kw}


async def _reason(source: PrometheusSource) -> str:
    with pytest.raises(SourceError) as info:
        await source.poll()
    reason = str(info.value)
    assert CANARY not in reason
    assert "\n" not in reason
    return reason


# -- real Prometheus --------------------------------------------------------------------


@pytest.mark.realserver
async def test_default_queries_give_float_values_levels_and_charts(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """The guide's default queries read real numbers off the demo API's metrics."""
    source = make_source(url=stack.prometheus_url, range="1m", step="2s")
    snapshot = await source.poll()

    assert [r.name for r in snapshot.readings] == [q.name for q in DEFAULT_QUERIES]
    by_name = {r.name: r for r in snapshot.readings}
    rate = by_name["request rate"]
    assert isinstance(rate.value, float) and rate.value > 0
    assert rate.unit == "req/s"
    for reading, query in zip(snapshot.readings, DEFAULT_QUERIES, strict=True):
        assert reading.error is None, reading
        assert (reading.warn, reading.crit) == (query.warn, query.crit)
        assert reading.level == classify(reading.value, query.warn, query.crit)
        if reading.value is not None:
            assert isinstance(reading.value, float)
    p95 = by_name["p95 latency"]
    assert isinstance(p95.value, float) and 0 < p95.value < 5000
    assert rate.series, "the chart has points"
    timestamps = [ts for ts, _ in rate.series]
    assert timestamps == sorted(timestamps)
    assert all(isinstance(v, float) and v > 0 for _, v in rate.series)


@pytest.mark.realserver
async def test_levels_follow_thresholds_and_odd_values(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """crit/warn/ok by threshold; NaN is unknown; +Inf is crit; scalars and several series."""
    source = make_source(
        url=stack.prometheus_url,
        range="1m",
        step="5s",
        queries=[
            _q("crit", "vector(1500)", unit="ms", warn=800, crit=1000, grafana_panel=PANEL),
            _q("warn", "vector(900)", warn=800, crit=1000),
            _q("ok", "vector(12.5)", warn=800, crit=1000),
            _q("nan", "vector(0) / 0", warn=1, crit=5),
            _q("inf", "vector(1) / 0", crit=5),
            _q("scalar", "1 + 1"),
            _q("largest", 'vector(3) or label_replace(vector(7), "x", "y", "", "")'),
            _q("empty", 'up{job="no-such-job"}', crit=1),
        ],
    )
    readings = {r.name: r for r in (await source.poll()).readings}

    assert (readings["crit"].value, readings["crit"].level) == (1500.0, "crit")
    assert readings["crit"].grafana_url == PANEL
    assert readings["crit"].unit == "ms"
    assert len(readings["crit"].series) == 13  # 1m at 5s, both ends included
    assert {v for _, v in readings["crit"].series} == {1500.0}
    assert (readings["warn"].value, readings["warn"].level) == (900.0, "warn")
    assert (readings["ok"].value, readings["ok"].level) == (12.5, "ok")
    assert (readings["nan"].value, readings["nan"].level, readings["nan"].series) == (
        None,
        "unknown",
        (),
    )
    assert readings["inf"].value == float("inf") and readings["inf"].level == "crit"
    assert readings["inf"].series == ()  # non-finite points are not charted
    assert readings["scalar"].value == 2.0
    assert readings["largest"].value == 7.0
    assert {v for _, v in readings["largest"].series} == {7.0}
    assert (readings["empty"].value, readings["empty"].level) == (None, "unknown")
    assert all(r.error is None for r in readings.values())


@pytest.mark.realserver
async def test_bad_query_and_execution_error_stay_in_their_readings(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """A 400 parse error and a 422 execution error do not fail the other readings."""
    source = make_source(
        url=stack.prometheus_url,
        queries=[
            _q("broken", PARSE_ERROR_QUERY, crit=1),
            _q("fine", "vector(1500)", crit=1000),
            _q("many-to-many", MANY_TO_MANY),
        ],
    )
    broken, fine, many = (await source.poll()).readings

    assert broken.error is not None
    assert broken.error.startswith("bad query: 1:")
    assert "parse error: unclosed left parenthesis" in broken.error
    assert (broken.value, broken.level) == (None, "unknown")
    assert (fine.value, fine.level, fine.error) == (1500.0, "crit", None)
    assert many.error is not None and many.error.startswith("query failed: ")
    assert "many-to-many matching not allowed" in many.error
    assert many.level == "unknown"


@pytest.mark.realserver
async def test_chart_error_keeps_the_instant_value(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """A range query over 11,000 points fails with 400 but the value is still shown."""
    source = make_source(
        url=stack.prometheus_url,
        range="4h",
        step="1s",
        queries=[_q("v", "vector(5)", warn=10)],
    )
    (reading,) = (await source.poll()).readings
    assert (reading.value, reading.level) == (5.0, "ok")
    assert reading.error is not None
    assert reading.error.startswith("chart: bad query: exceeded maximum resolution")


@pytest.mark.realserver
async def test_fired_since_lists_the_always_firing_rule(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """ALERTS history: one FiredAlert per alert and label set, without alertstate."""
    source = make_source(url=stack.prometheus_url, token=CANARY)
    deadline = time.monotonic() + 10
    while True:
        fired = await source.fired_since(datetime.now(UTC) - timedelta(hours=1))
        if fired or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    watchdog = FiredAlert(
        name="AlwaysFiringWatchdog",
        severity="none",
        labels=(("alertname", "AlwaysFiringWatchdog"), ("severity", "none")),
    )
    assert watchdog in fired
    assert [f.name for f in fired] == sorted(f.name for f in fired)
    assert all(dict(f.labels).keys().isdisjoint({"alertstate", "__name__"}) for f in fired)
    assert {f.name for f in fired} <= {rule.name for rule in DEMO_RULES}


# -- through the Grafana-like proxy ------------------------------------------------------


@pytest.mark.realserver
async def test_grafana_proxy_returns_the_same_numbers_as_direct(
    stack: PromStack, grafana: GrafanaProxy, make_source: Callable[..., PrometheusSource]
) -> None:
    """Same readings through the datasource proxy; Bearer token and org header are sent."""
    queries = [
        _q("const", "vector(1500)", crit=1000),
        _q("targets", "count(up)"),
        _q("broken", PARSE_ERROR_QUERY),
    ]
    direct = make_source(url=stack.prometheus_url, range="1m", step="5s", queries=queries)
    proxied = make_source(
        grafana={"url": grafana.url, "datasource_uid": "prom", "token": CANARY, "org_id": 3},
        range="1m",
        step="5s",
        queries=queries,
    )
    a = await direct.poll()
    grafana.seen.clear()
    b = await proxied.poll()

    for x, y in zip(a.readings, b.readings, strict=True):
        assert (x.value, x.level, x.error) == (y.value, y.level, y.error)
        assert [v for _, v in x.series] == [v for _, v in y.series]
    assert b.readings[2].error is not None and "parse error" in b.readings[2].error
    _method, path, headers = grafana.seen[0]
    assert path.startswith("/api/datasources/proxy/uid/prom/api/v1/query")
    assert headers["Authorization"] == f"Bearer {CANARY}"
    assert headers["X-Grafana-Org-Id"] == "3"
    start = datetime.now(UTC) - timedelta(hours=1)
    assert await proxied.fired_since(start) == await direct.fired_since(start)


@pytest.mark.parametrize(
    ("uid", "token", "expected"),
    [
        ("prom", "glsa_wrong_token", "Grafana rejected the service-account token (401)"),
        ("locked", CANARY, "Grafana: Access denied to datasource (403)"),
        ("nope", CANARY, "Grafana: Unable to find datasource (404)"),
        ("badcreds", CANARY, "Grafana: Authentication to data source failed (400)"),
    ],
)
async def test_grafana_errors_are_one_line_reasons(
    lone_grafana: GrafanaProxy,
    make_source: Callable[..., PrometheusSource],
    uid: str,
    token: str,
    expected: str,
) -> None:
    """Grafana's JSON ``message`` errors fail the whole source, token never shown."""
    grafana = {"url": lone_grafana.url, "datasource_uid": uid, "token": token}
    source = make_source(grafana=grafana)
    reason = await _reason(source)
    assert reason == expected
    assert token not in reason
    with pytest.raises(SourceError, match=r"^Grafana"):
        await source.fired_since(datetime.now(UTC) - timedelta(hours=1))


async def test_grafana_502_when_prometheus_is_down(
    make_source: Callable[..., PrometheusSource], closed_port: int
) -> None:
    """The proxy cannot reach its upstream: 502 with an empty body."""
    with serving(GrafanaProxy(f"http://127.0.0.1:{closed_port}", token=CANARY)) as proxy:
        source = make_source(grafana={"url": proxy.url, "datasource_uid": "prom", "token": CANARY})
        assert await _reason(source) == "Grafana could not reach Prometheus (502)"


async def test_grafana_passes_not_ready_through(
    make_source: Callable[..., PrometheusSource],
) -> None:
    """Prometheus's plain-text 503 during startup reaches us through Grafana unchanged."""
    with (
        serving(FixedServer(503, b"Service Unavailable")) as upstream,
        serving(GrafanaProxy(upstream.url, token=CANARY)) as proxy,
    ):
        source = make_source(grafana={"url": proxy.url, "datasource_uid": "prom", "token": CANARY})
        assert await _reason(source) == "Prometheus is not ready (503): still loading its TSDB"


def test_grafana_proxy_health_endpoint(lone_grafana: GrafanaProxy) -> None:
    """The fake serves /api/health like Grafana (200 ok, 503 failing), without auth."""
    grafana = lone_grafana
    with urllib.request.urlopen(f"{grafana.url}/api/health", timeout=2) as response:
        assert json.load(response)["database"] == "ok"
    grafana.database_failing = True
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{grafana.url}/api/health", timeout=2)
        with info.value as error:
            assert error.code == 503
            assert json.load(error)["database"] == "failing"
    finally:
        grafana.database_failing = False


# -- whole-source failures (no Prometheus needed) ---------------------------------------


async def test_not_ready_503_plain_text(make_source: Callable[..., PrometheusSource]) -> None:
    """Every /api/v1 call answers 503 plain text while the TSDB loads; no silent retries."""
    with serving(FixedServer(503, b"Service Unavailable")) as fake:
        source = make_source(url=fake.url, token=CANARY, queries=[_q("one", "vector(1)")])
        assert await _reason(source) == "Prometheus is not ready (503): still loading its TSDB"
        assert fake.hits == 2  # one instant and one range request: Retry(total=0)
        assert {h["Authorization"] for h in fake.headers} == {f"Bearer {CANARY}"}


async def test_timeout_against_a_black_hole(
    make_source: Callable[..., PrometheusSource], blackhole: tuple[str, int]
) -> None:
    """A server that never answers: the poll gives up at config.timeout."""
    host, port = blackhole
    source = make_source(url=f"http://{host}:{port}", timeout="300ms", token=CANARY)
    started = time.monotonic()
    assert await _reason(source) == "Prometheus did not answer within 300ms"
    assert time.monotonic() - started < 2
    with pytest.raises(SourceError, match="did not answer within 300ms"):
        await source.fired_since(datetime.now(UTC) - timedelta(hours=1))


async def test_unreachable_closed_port(
    make_source: Callable[..., PrometheusSource], closed_port: int
) -> None:
    """Connection refused is one line with host:port and no URL query string."""
    source = make_source(url=f"http://127.0.0.1:{closed_port}/prefix?x=1", token=CANARY)
    reason = await _reason(source)
    assert reason == f"cannot reach Prometheus at 127.0.0.1:{closed_port}: connection refused"


async def test_a_200_that_is_not_prometheus_json(
    make_source: Callable[..., PrometheusSource],
) -> None:
    """Something else answers on the port (an HTML login page, say)."""
    with serving(FixedServer(200, b"<html>login</html>", "text/html")) as fake:
        source = make_source(url=fake.url)
        assert await _reason(source) == (
            "Prometheus answered with something that is not Prometheus JSON"
        )


async def test_untrusted_error_text_is_one_masked_line() -> None:
    """Server text is squeezed to one line, control characters removed, secrets masked."""
    text = f"boom\n\x1b[31mred\x1b[0m token={CANARY}\t" + "x" * 500
    line = one_line(text, secrets=[CANARY])
    assert "\n" not in line and "\x1b" not in line and CANARY not in line
    assert line.startswith("boom [31mred [0m token=*** ")
    assert len(line) == 200 and line.endswith("…")


# -- kill and restart (runs last: it restarts the shared Prometheus) --------------------


@pytest.mark.realserver
async def test_kill_prometheus_then_restart(
    stack: PromStack, make_source: Callable[..., PrometheusSource]
) -> None:
    """A crashed Prometheus is "cannot reach"; after a restart the same source recovers."""
    source = make_source(url=stack.prometheus_url, queries=[_q("const", "vector(1500)", crit=1)])
    assert (await source.poll()).readings[0].value == 1500.0

    stack.stop_prometheus(kill=True)
    reason = await _reason(source)
    assert reason == (
        f"cannot reach Prometheus at 127.0.0.1:{stack.prometheus_port}: connection refused"
    )

    stack.start_prometheus()
    (reading,) = (await source.poll()).readings
    assert (reading.value, reading.level, reading.error) == (1500.0, "crit", None)
