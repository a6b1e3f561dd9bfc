"""Probes built from real checks.yaml text, run against real loopback servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import ProbeConfig
from opsconsole.core.models import Outcome, ProbeResult
from opsconsole.engine import ProbeEngine


class _Handler(BaseHTTPRequestHandler):
    """``/away`` redirects to an unresolvable host; ``/echo`` returns the request headers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == "/away":
            self._send(302, b"", {"Location": "http://moved-away.invalid/health"})
        elif path == "/echo":
            body = json.dumps({"headers": dict(self.headers)}).encode()
            self._send(200, body, {"Content-Type": "application/json"})
        else:
            self._send(404, b"", {})

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def probe_from_yaml(text: str, env: dict[str, str] | None = None) -> ProbeConfig:
    return loads_config(text, env=env or {}).probes[0]


async def run(p: ProbeConfig) -> ProbeResult:
    async with ProbeRunner() as runner:
        return await runner.run(p)


async def test_dns_failure_after_a_redirect_names_the_host_that_failed(base_url: str) -> None:
    p = probe_from_yaml(f"probes:\n  - name: a\n    url: {base_url}/away\n    timeout: 5s\n")
    result = await run(p)
    assert result.outcome is Outcome.DNS_FAILURE
    assert result.error is not None
    assert result.error.startswith("DNS lookup failed for moved-away.invalid:"), result.error
    assert "127.0.0.1" not in result.error


async def test_empty_env_default_in_a_header_still_sends_the_request(base_url: str) -> None:
    """``Bearer ${TOKEN:-}`` with TOKEN unset used to be refused by httpx (trailing space)."""
    p = probe_from_yaml(
        f"""
probes:
  - name: a
    url: {base_url}/echo
    headers:
      Authorization: "Bearer ${{TOKEN:-}}"
      X-Pad: "  padded  "
    conditions:
      - "[STATUS] == 200"
      - "[BODY].headers.Authorization == Bearer"
      - "[BODY].headers.X-Pad == padded"
""",
    )
    result = await run(p)
    assert result.outcome is Outcome.OK, result.reason


async def test_header_number_is_sent_as_written(base_url: str) -> None:
    p = probe_from_yaml(
        f"""
probes:
  - name: a
    url: {base_url}/echo
    headers:
      X-Tenant-Id: 0012345
      Accept-Version: 1.10
    conditions:
      - "[BODY].headers.X-Tenant-Id == pat(0012345)"
      - "[BODY].headers.Accept-Version == pat(1.10)"
""",
    )
    result = await run(p)
    assert result.outcome is Outcome.OK, result.reason


async def test_gatus_tcp_url_probes_the_port(blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    p = probe_from_yaml(f"probes:\n  - name: a\n    url: tcp://{host}:{port}\n")
    result = await run(p)
    assert result.outcome is Outcome.OK, result.reason
    assert [c.resolved for c in result.conditions] == ["[CONNECTED] (true) == true"]


async def test_engine_status_never_shows_url_credentials_or_query(base_url: str) -> None:
    """The health pane shows ProbeStatus.target for every up probe: no tokens in it."""
    config = loads_config(
        f"""
probes:
  - name: a
    url: http://alice:${{PASS}}@{base_url.removeprefix("http://")}/echo?key=${{KEY}}
    conditions: ["[STATUS] == 200"]
""",
        env={"PASS": "hunter2-pass", "KEY": "sk-live-123"},
    )
    async with ProbeRunner() as runner:
        engine = ProbeEngine(config, store=None, runner=runner)
        (result,) = await engine.run_once()
        assert result.ok, result.reason
        (status,) = engine.statuses()
    assert status.target == f"http://***@{base_url.removeprefix('http://')}/echo?***"
    for secret in ("hunter2-pass", "sk-live-123", "alice"):
        assert secret not in status.target


async def test_timeout_message_names_a_fractional_timeout_exactly(
    blackhole: tuple[str, int],
) -> None:
    """A 1.25 s timeout used to be reported as "timed out after 1s"."""
    host, port = blackhole
    p = probe_from_yaml(
        f"probes:\n  - name: a\n    url: http://{host}:{port}/\n    timeout: 1.25s\n"
        "    interval: 1m\n"
    )
    result = await run(p)
    assert result.outcome is Outcome.TIMEOUT
    assert result.error == "timed out after 1.25s"


@pytest.mark.parametrize(
    "condition",
    ["has([BODY].errors) == false", "[BODY] != pat(*error*)", "len([BODY]) < 1000"],
)
async def test_body_conditions_that_hold_on_no_answer_do_not_make_a_dead_server_ok(
    condition: str, closed_port: int
) -> None:
    p = probe_from_yaml(
        f"probes:\n  - name: a\n    url: http://127.0.0.1:{closed_port}/\n"
        f'    conditions: ["{condition}"]\n'
    )
    result = await run(p)
    assert result.outcome is Outcome.CONNECTION_REFUSED
    assert not result.ok
    assert result.reason == "connection refused"


async def test_connected_false_still_asserts_a_closed_port(closed_port: int) -> None:
    p = probe_from_yaml(
        f"probes:\n  - name: a\n    tcp: 127.0.0.1:{closed_port}\n"
        '    conditions: ["[CONNECTED] == false"]\n'
    )
    result = await run(p)
    assert result.outcome is Outcome.OK, result.reason
