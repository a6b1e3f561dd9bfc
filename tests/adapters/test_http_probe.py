"""ProbeRunner against real loopback servers (HTTP, HTTPS, TCP): no mocks of httpx."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.config.schema import ProbeConfig
from opsconsole.core.clock import frozen_clock
from opsconsole.core.models import Outcome, ProbeResult, ProbeState

if TYPE_CHECKING:
    from .conftest import LoopbackServer, TLSServer

DEADLINE_SLACK = 1.10  # a timed-out run must end within its deadline + 10%


def probe(
    *conditions: str,
    url: str | None = None,
    tcp: str | None = None,
    name: str = "probe",
    timeout: str = "2s",
    **fields: Any,
) -> ProbeConfig:
    """Build a ProbeConfig the way checks.yaml would (conditions parsed at load time)."""
    data: dict[str, Any] = {"name": name, "interval": "1h", "timeout": timeout, **fields}
    if url is not None:
        data["url"] = url
    if tcp is not None:
        data["tcp"] = tcp
    if conditions:
        data["conditions"] = list(conditions)
    return ProbeConfig.model_validate(data)


async def run_one(p: ProbeConfig, **runner_args: Any) -> ProbeResult:
    async with ProbeRunner(**runner_args) as runner:
        return await runner.run(p)


async def timed(p: ProbeConfig, **runner_args: Any) -> tuple[ProbeResult, float]:
    async with ProbeRunner(**runner_args) as runner:
        start = time.perf_counter()
        result = await runner.run(p)
        return result, time.perf_counter() - start


# -- HTTP basics ----------------------------------------------------------------------------


async def test_ok_probe_passes_every_condition(http_server: LoopbackServer) -> None:
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    p = probe(
        "[STATUS] == 200",
        "[BODY].status == ok",
        "[RESPONSE_TIME] < 1000",
        "[CONNECTED] == true",
        "[IP] == 127.0.0.1",
        url=http_server.url("/ok"),
    )
    result = await run_one(p, clock=frozen_clock(at))
    assert result.outcome is Outcome.OK, result.reason
    assert result.probe == "probe"
    assert result.timestamp == at
    assert result.status == 200
    assert result.latency_ms is not None and 0 < result.latency_ms < 1000
    assert result.error is None
    assert [c.ok for c in result.conditions] == [True] * 5
    assert result.state is ProbeState.UNKNOWN


async def test_failed_condition_shows_the_resolved_value(http_server: LoopbackServer) -> None:
    result = await run_one(probe("[STATUS] == 200", url=http_server.url("/status/503")))
    assert result.outcome is Outcome.FAILED_CONDITIONS
    assert result.status == 503
    assert result.conditions[0].resolved == "[STATUS] (503) == 200"
    assert result.reason == "[STATUS] (503) == 200"


async def test_method_headers_and_body_are_sent(http_server: LoopbackServer) -> None:
    p = probe(
        "[STATUS] == 200",
        "[BODY].method == POST",
        "[BODY].body == ping",
        url=http_server.url("/echo"),
        method="POST",
        headers={"X-Probe": "hello"},
        body="ping",
    )
    result = await run_one(p)
    assert result.outcome is Outcome.OK, result.reason
    seen = http_server.requests[-1]
    assert (seen.method, seen.path, seen.body) == ("POST", "/echo", b"ping")
    assert seen.headers["X-Probe"] == "hello"
    assert seen.headers["User-Agent"].startswith("opsconsole/")


# -- deadlines ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["hang", "slow"])
async def test_timeout_ends_within_the_deadline(
    where: str, http_server: LoopbackServer, blackhole: tuple[str, int]
) -> None:
    """A server that accepts and never answers, or answers too late, is a TIMEOUT on time."""
    host, port = blackhole
    url = f"http://{host}:{port}/" if where == "hang" else http_server.url("/slow")
    result, elapsed = await timed(probe("[STATUS] == 200", url=url, timeout="500ms"))
    assert result.outcome is Outcome.TIMEOUT
    assert result.error == "timed out after 500ms"
    assert result.latency_ms is None
    assert 0.45 <= elapsed <= 0.5 * DEADLINE_SLACK


@pytest.mark.parametrize("kind", ["http", "tcp"])
async def test_connect_timeout_ends_within_the_deadline(
    kind: str, unanswered_syn: tuple[str, int]
) -> None:
    """A SYN that is never answered times out at the deadline, not at the OS's minutes."""
    host, port = unanswered_syn
    target = {"url": f"http://{host}:{port}/"} if kind == "http" else {"tcp": f"{host}:{port}"}
    result, elapsed = await timed(probe(timeout="300ms", **target))
    assert result.outcome is Outcome.TIMEOUT
    assert result.error == "timed out after 300ms"
    assert elapsed <= 0.3 * DEADLINE_SLACK


async def test_cancelling_a_run_propagates(blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    async with ProbeRunner() as runner:
        task = asyncio.create_task(runner.run(probe(url=f"http://{host}:{port}/", timeout="5s")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# -- redirects -------------------------------------------------------------------------------


async def test_redirect_is_followed(http_server: LoopbackServer) -> None:
    result = await run_one(
        probe("[STATUS] == 200", "[BODY].status == ok", url=http_server.url("/redirect-once"))
    )
    assert result.outcome is Outcome.OK, result.reason
    assert [r.path for r in http_server.requests] == ["/redirect-once", "/ok"]


async def test_redirect_loop_is_too_many_redirects(http_server: LoopbackServer) -> None:
    result = await run_one(probe("[STATUS] == 200", url=http_server.url("/redirect-loop")))
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error is not None and "stopped after 2 redirects" in result.error
    assert len(http_server.requests) == 3  # /redirect-loop, /loop/a, /loop/b: no more


async def test_redirect_chain_stops_at_max_redirects(http_server: LoopbackServer) -> None:
    p = probe("[STATUS] == 200", url=http_server.url("/chain/5"), max_redirects=3)
    result = await run_one(p)
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error == "stopped after 3 redirects"
    assert result.status == 302
    ok = await run_one(probe("[STATUS] == 200", url=http_server.url("/chain/5"), max_redirects=5))
    assert ok.outcome is Outcome.OK, ok.reason


async def test_follow_redirects_off_sees_the_302(http_server: LoopbackServer) -> None:
    p = probe("[STATUS] == 302", url=http_server.url("/redirect-once"), follow_redirects=False)
    result = await run_one(p)
    assert result.outcome is Outcome.OK, result.reason
    assert result.status == 302
    assert [r.path for r in http_server.requests] == ["/redirect-once"]


# -- body -----------------------------------------------------------------------------------


async def test_big_body_fails_only_when_a_condition_reads_it(http_server: LoopbackServer) -> None:
    url = http_server.url("/big")
    result = await run_one(probe("[STATUS] == 200", "[BODY] == x", url=url))
    assert result.outcome is Outcome.BODY_TOO_LARGE
    assert result.error == "response body exceeds 1 MiB"
    assert result.status == 200

    result = await run_one(probe("[STATUS] == 200", url=url))
    assert result.outcome is Outcome.OK, result.reason


async def test_small_unread_bodies_keep_the_connection_alive(http_server: LoopbackServer) -> None:
    """Probes share one keep-alive client: the second run reuses the first connection."""
    async with ProbeRunner() as runner:
        for path in ("/ok", "/status/503", "/ok"):
            await runner.run(probe(url=http_server.url(path)))
    assert http_server.connections == 1


async def test_a_big_unread_body_is_not_downloaded(http_server: LoopbackServer) -> None:
    """Without a [BODY] condition the 2 MiB body is not read: the connection is dropped."""
    async with ProbeRunner() as runner:
        first = await runner.run(probe(url=http_server.url("/big")))
        second = await runner.run(probe(url=http_server.url("/ok")))
    assert (first.outcome, second.outcome) == (Outcome.OK, Outcome.OK)
    assert http_server.connections == 2


async def test_a_non_http_server_is_a_one_line_error(not_http: tuple[str, int]) -> None:
    host, port = not_http
    result = await run_one(probe(url=f"http://{host}:{port}/health?token=secret"))
    assert result.outcome is Outcome.ERROR
    assert result.error is not None
    assert result.error.startswith("invalid HTTP response")
    assert "\n" not in result.error and "secret" not in result.error
    assert len(result.error) <= 160


# -- TCP ------------------------------------------------------------------------------------


async def test_tcp_open_port(blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    result = await run_one(probe("[CONNECTED] == true", "[IP] == 127.0.0.1", tcp=f"{host}:{port}"))
    assert result.outcome is Outcome.OK, result.reason
    assert result.latency_ms is not None and result.latency_ms >= 0


async def test_tcp_closed_port_is_refused(closed_port: int) -> None:
    result = await run_one(probe("[CONNECTED] == true", tcp=f"127.0.0.1:{closed_port}"))
    assert result.outcome is Outcome.CONNECTION_REFUSED
    assert result.error == "connection refused"
    assert result.latency_ms is None


async def test_connected_false_condition_passes_on_a_closed_port(closed_port: int) -> None:
    """Gatus semantics: conditions still run on a failed connection and may pass."""
    result = await run_one(probe("[CONNECTED] == false", tcp=f"127.0.0.1:{closed_port}"))
    assert result.outcome is Outcome.OK, result.reason
    assert result.conditions[0].ok


async def test_http_closed_port_is_refused(closed_port: int) -> None:
    result = await run_one(probe(url=f"http://127.0.0.1:{closed_port}/health"))
    assert result.outcome is Outcome.CONNECTION_REFUSED
    assert result.status is None
    assert result.conditions and not result.conditions[0].ok


@pytest.mark.parametrize("kind", ["http", "tcp"])
async def test_dns_failure(kind: str) -> None:
    target = (
        {"url": "http://no-such-host.invalid/health"}
        if kind == "http"
        else {"tcp": "no-such-host.invalid:5432"}
    )
    result = await run_one(probe(**target))
    assert result.outcome is Outcome.DNS_FAILURE
    assert result.error is not None and "no-such-host.invalid" in result.error


# -- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["dns", "refused", "timeout", "tls"])
async def test_errors_never_leak_query_or_userinfo(
    where: str, closed_port: int, blackhole: tuple[str, int], tls_server: TLSServer
) -> None:
    secret_part = "/hook/path?token=secret"
    base = {
        "dns": "http://alice:hunter2@no-such-host.invalid",
        "refused": f"http://alice:hunter2@127.0.0.1:{closed_port}",
        "timeout": f"http://alice:hunter2@127.0.0.1:{blackhole[1]}",
        "tls": tls_server.server.base.replace("https://", "https://alice:hunter2@"),
    }[where]
    p = probe(url=base + secret_part, timeout="300ms", headers={"Authorization": "Bearer sk-123"})
    result = await run_one(p)
    assert result.outcome is not Outcome.OK
    for text in (result.error or "", result.reason):
        assert "\n" not in text
        for leaked in ("token=secret", "secret", "hunter2", "alice", "sk-123"):
            assert leaked not in text


async def test_a_secret_in_a_condition_is_shown_as_its_reference(
    http_server: LoopbackServer,
) -> None:
    """`[BODY].x == ${API_TOKEN}`: the token is compared, but the result (shown, stored,
    logged, `status --json`) holds `${API_TOKEN}`, never the token itself."""
    from opsconsole.adapters.logging_setup import config_secrets
    from opsconsole.config.loader import loads_config

    token = "tok-canary-4711-abcdef"
    text = (
        "probes:\n"
        "  - name: echo\n"
        f"    url: {http_server.url('/echo')}\n"
        "    method: POST\n"
        "    body: '${API_TOKEN}'\n"
        "    conditions:\n"
        "      - '[BODY].body == ${API_TOKEN}'\n"
        "      - '[BODY].method == ${METHOD}'\n"
        "      - '[STATUS] == ${EXPECTED_STATUS}'\n"
    )
    env = {"API_TOKEN": token, "METHOD": "PUT", "EXPECTED_STATUS": "201"}
    config = loads_config(text, env=env)
    result = await run_one(config.probes[0])
    assert http_server.requests[-1].body == token.encode()  # the real value is sent
    first, second, third = result.conditions
    assert first.ok and first.condition == "[BODY].body == ${API_TOKEN}"
    assert first.resolved == "[BODY].body (${API_TOKEN}) == ${API_TOKEN}"
    # Variables not named like a secret stay visible: the operator needs "201".
    assert not second.ok and second.resolved == "[BODY].method (POST) == PUT"
    assert not third.ok and third.resolved == "[STATUS] (200) == 201"
    assert token not in repr(result) and token not in result.reason
    assert token in config_secrets(config)  # so logs and Sentry redact it too


async def test_a_long_secret_cut_for_display_is_masked_in_pieces(
    http_server: LoopbackServer,
) -> None:
    """Body values are cut to 200 characters for display: the cut JWT's start must not
    stay readable. A secret-named variable is redacted even with no probe using it."""
    from opsconsole.adapters.logging_setup import config_secrets
    from opsconsole.config.loader import loads_config

    jwt = "eyJhbGciOiJIUzI1NiJ9." + "x7Kq" * 80  # 341 characters
    text = (
        "probes:\n"
        "  - name: echo\n"
        f"    url: {http_server.url('/echo')}\n"
        "    method: POST\n"
        "    body: '${SESSION_JWT}'\n"
        "    conditions: ['[BODY].body == nope']\n"
    )
    config = loads_config(text, env={"SESSION_JWT": jwt})
    result = await run_one(config.probes[0])
    (condition,) = result.conditions
    assert not condition.ok and "(truncated)" in condition.resolved
    assert condition.resolved.startswith("[BODY].body (${SESSION_JWT}")
    assert "x7Kqx7Kq" not in condition.resolved and "eyJhbGciOiJI" not in condition.resolved

    bare = loads_config("service: S\nprometheus: {url: 'http://127.0.0.1:9'}\n"
                        "x-notes: '${DB_PASS}'\n", env={"DB_PASS": "hunter2-hunter2"})  # fmt: skip
    assert "hunter2-hunter2" in config_secrets(bare)


# -- TLS ------------------------------------------------------------------------------------


async def test_tls_verified_with_a_trusted_ca(tls_server: TLSServer) -> None:
    p = probe(
        "[STATUS] == 200",
        "[CERTIFICATE_EXPIRATION] > 23h",
        "[CERTIFICATE_EXPIRATION] < 25h",
        url=tls_server.url("/ok"),
    )
    result = await run_one(p, ssl_context=tls_server.client_context)
    assert result.outcome is Outcome.OK, result.reason


async def test_tls_untrusted_ca_is_a_tls_error(tls_server: TLSServer) -> None:
    result = await run_one(probe(url=tls_server.url("/ok")))
    assert result.outcome is Outcome.TLS_ERROR
    assert result.error is not None
    assert result.error.startswith("TLS error: certificate verify failed")
    assert "\n" not in result.error


async def test_tls_verify_off_still_reports_expiry(tls_server: TLSServer) -> None:
    p = probe(
        "[STATUS] == 200",
        "[CERTIFICATE_EXPIRATION] > 48h",
        url=tls_server.url("/ok"),
        verify_tls=False,
    )
    result = await run_one(p)
    assert result.outcome is Outcome.FAILED_CONDITIONS
    assert result.status == 200
    status, expiry = result.conditions
    assert status.ok and not expiry.ok
    # Shown like Gatus, as a whole-second duration: "[CERTIFICATE_EXPIRATION] (23h59m59s) > 48h".
    shown = re.match(
        r"\[CERTIFICATE_EXPIRATION\] \((?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\)", expiry.resolved
    )
    assert shown is not None, expiry.resolved
    hours, minutes, seconds = (int(g or 0) for g in shown.groups())
    remaining = hours * 3600 + minutes * 60 + seconds
    assert 86_400 - 120 <= remaining <= 86_400, expiry.resolved


# -- concurrency ----------------------------------------------------------------------------


async def test_global_concurrency_is_bounded(http_server: LoopbackServer) -> None:
    probes = [
        probe(url=http_server.url(f"/work/{i}?ms=100"), name=f"p{i}", timeout="5s")
        for i in range(30)
    ]
    async with ProbeRunner(max_concurrency=5) as runner:
        results = await asyncio.gather(*(runner.run(p) for p in probes))
    assert all(r.outcome is Outcome.OK for r in results), [r.reason for r in results]
    assert http_server.peak["*"] == 5


async def test_semaphore_wait_does_not_count_toward_the_deadline(
    http_server: LoopbackServer,
) -> None:
    probes = [
        probe(url=http_server.url(f"/work/{i}?ms=150"), name=f"p{i}", timeout="400ms")
        for i in range(5)
    ]
    async with ProbeRunner(max_concurrency=1) as runner:
        results = await asyncio.gather(*(runner.run(p) for p in probes))
    assert [r.outcome for r in results] == [Outcome.OK] * 5, [r.reason for r in results]
    assert all(r.latency_ms is not None and r.latency_ms < 400 for r in results)


async def test_a_hung_target_does_not_delay_others(
    http_server: LoopbackServer, blackhole: tuple[str, int]
) -> None:
    host, port = blackhole
    hung = probe(url=f"http://{host}:{port}/", name="hung", timeout="3s")
    fast = [
        probe(url=http_server.url(f"/work/{i}?ms=20"), name=f"f{i}", timeout="3s")
        for i in range(10)
    ]
    async with ProbeRunner(max_concurrency=5) as runner:
        hung_task = asyncio.create_task(runner.run(hung))
        await asyncio.sleep(0.05)  # the hung probe holds its slot first
        start = time.perf_counter()
        results = await asyncio.gather(*(runner.run(p) for p in fast))
        elapsed = time.perf_counter() - start
        assert not hung_task.done()
        hung_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung_task
    assert all(r.outcome is Outcome.OK for r in results)
    assert elapsed < 1.0


async def test_same_target_runs_never_overlap(http_server: LoopbackServer) -> None:
    p = probe(url=http_server.url("/work/same?ms=50"), timeout="2s")
    async with ProbeRunner(max_concurrency=10) as runner:
        start = time.perf_counter()
        results = await asyncio.gather(*(runner.run(p) for _ in range(5)))
        elapsed = time.perf_counter() - start
    assert all(r.outcome is Outcome.OK for r in results)
    assert http_server.peak["/work/same"] == 1
    assert elapsed >= 0.25
    assert all(r.latency_ms is not None and r.latency_ms < 1000 for r in results)


async def test_closed_runner_returns_an_error_result(http_server: LoopbackServer) -> None:
    runner = ProbeRunner()
    await runner.aclose()
    result = await runner.run(probe(url=http_server.url("/ok")))
    assert result.outcome is Outcome.ERROR
    assert result.error == "probe runner is closed"


async def test_a_finished_probe_leaves_no_reference_cycles(http_server: LoopbackServer) -> None:
    """Everything a probe allocated is freed by reference counting, not by the cyclic GC."""
    import gc

    async with ProbeRunner() as runner:
        for _ in range(5):  # warm the pool and the client
            await runner.run(probe("[STATUS] == 200", url=http_server.url("/ok")))
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for path in ("/ok", "/status/503", "/ok") * 10:
                await runner.run(probe("[STATUS] == 200", url=http_server.url(path)))
            gc.collect()
            garbage = len(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    # Without the fix each probe left ~37 objects in cycles (1,100 for these 30 probes).
    assert garbage < 30, f"{garbage} objects in reference cycles after 30 probes"


# -- per-connection facts ---------------------------------------------------------------------


async def test_peer_ip_is_read_once_per_connection(http_server: LoopbackServer) -> None:
    """The peer IP belongs to the connection: later probes on it reuse what was read."""
    async with ProbeRunner() as runner:
        results = [
            await runner.run(probe("[IP] == 127.0.0.1", url=http_server.url("/ok")))
            for _ in range(3)
        ]
        assert len(runner._peers) == 1  # one connection, read once
    assert http_server.connections == 1
    assert [r.outcome for r in results] == [Outcome.OK] * 3


async def test_certificate_expiry_counts_down_on_a_reused_connection(
    tls_server: TLSServer,
) -> None:
    """The certificate is read once per connection; its remaining lifetime uses the clock."""
    now = [datetime.now(UTC)]
    p = probe("[CERTIFICATE_EXPIRATION] > 23h", url=tls_server.url("/ok"))
    async with ProbeRunner(ssl_context=tls_server.client_context, clock=lambda: now[0]) as runner:
        first = await runner.run(p)
        now[0] += timedelta(hours=2)  # the 24-hour certificate now has ~22h left
        second = await runner.run(p)
        assert len(runner._peers) == 1
    assert first.outcome is Outcome.OK, first.reason
    assert second.outcome is Outcome.FAILED_CONDITIONS
    assert "(21h59m" in second.conditions[0].resolved  # 24h - 2h, less the seconds elapsed
