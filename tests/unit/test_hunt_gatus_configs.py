"""Gatus endpoint definitions, written into checks.yaml the way the README maps them, run
against a real HTTP server on 127.0.0.1: each condition resolves and passes or fails as
Gatus documents it (README "Conditions"), through the same ProbeRunner ``opsconsole check``
uses, and through ``opsconsole check --json`` itself. Gatus features checks.yaml has no
equivalent for are refused at load time with one line, never evaluated into a constant
answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.config.loader import ConfigError, load_config, loads_config
from opsconsole.config.schema import Config
from opsconsole.core.conditions import ConditionSyntaxError, parse_condition
from opsconsole.core.models import Outcome, ProbeResult

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
DRIP_SECONDS = 1.0

HEALTH = {
    "status": "UP",
    "version": "1.10",
    "data": {"items": [{"name": "john.doe", "id": 1}], "count": "3", "ratio": 0.7},
    "users": [],
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/health":
            self._send(200, json.dumps(HEALTH).encode(), "application/json")
        elif self.path == "/page":
            self._send(200, b"<html><h1>Example Domain</h1></html>", "text/html")
        elif self.path == "/text":
            self._send(200, b"ok\n", "text/plain")
        elif self.path == "/array":
            self._send(200, b'[{"id": 1}, {"id": 2}]', "application/json")
        elif self.path == "/drip":  # headers at once, the body a second later
            body = json.dumps(HEALTH).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:5])
            self.wfile.flush()
            time.sleep(DRIP_SECONDS)
            self.wfile.write(body[5:])
        elif self.path == "/down":
            self._send(503, b'{"status": "DOWN", "errors": ["db"]}', "application/json")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/graphql":
            answer = {
                "method": self.command,
                "token": self.headers.get("Authorization", ""),
                "query": json.loads(body or b"{}").get("query", ""),
            }
            self._send(200, json.dumps(answer).encode(), "application/json")
        else:
            self._send(404, b"", "text/plain")

    do_POST = do_GET

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default 5 drops SYNs of concurrent probes: 1 s retries
    daemon_threads = True


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def gatus_config(base: str) -> str:
    """Gatus's README examples, with `endpoints:` renamed `probes:` (nothing else changes)."""
    return f"""\
x-json: &json
  headers:
    Accept: application/json
probes:
  - name: website
    group: core
    url: "{base}/health"
    interval: 5m
    <<: *json
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "[RESPONSE_TIME] < 1000"
      - "[RESPONSE_TIME] < 1s"
      - "[IP] == 127.0.0.1"
      - "[IP] == pat(127.*)"
      - "[CONNECTED] == true"
      - "[BODY].data.items[0].name == pat(john*)"
      - "len([BODY].data.items) < 5"
      - "len([BODY].data.items[0].name) == 8"
      - "has([BODY].errors) == false"
      - "has([BODY].users) == true"
      - "[BODY].data.items[0].id == any(1, 2)"
      - "[BODY].data.count > 2"
      - "[BODY].data.ratio < 0.9"
      - "[BODY].version == 1.10"
      - "[STATUS] == any(200, 201)"
      - "[STATUS] < 300"
  - name: make-sure-header-is-rendered
    url: "{base}/page"
    interval: 60s
    conditions:
      - "[STATUS] == 200"
      - "[BODY] == pat(*<h1>Example Domain</h1>*)"
  - name: plain text
    url: "{base}/text"
    conditions: ["[BODY] == ok", "len([BODY]) == 2"]
  - name: top-level array
    url: "{base}/array"
    conditions: ["[BODY][1].id == 2", "len([BODY]) == 2"]
  - name: redirect followed
    url: "{base}/moved"
    conditions: ["[STATUS] == 200", "[BODY].status == UP"]
  - name: graphql as a POST body
    url: "{base}/graphql"
    method: POST
    headers:
      Content-Type: application/json
      Authorization: "Bearer ${{OPSCONSOLE_HUNT_GATUS_TOKEN}}"
    body: '{{"query": "{{ user(id: 42) {{ name }} }}"}}'
    conditions:
      - "[BODY].method == POST"
      - "[BODY].token == Bearer ${{OPSCONSOLE_HUNT_GATUS_TOKEN}}"
      - "[BODY].query == pat(*user(id: 42)*)"
  - name: degraded api
    url: "{base}/down"
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "has([BODY].errors) == false"
      - "len([BODY].errors) == 0"
      - "[BODY].missing.path == 1"
  - name: slow body
    url: "{base}/drip"
    conditions: ["[RESPONSE_TIME] < 800", "[BODY].status == UP"]
  - name: database
    url: "tcp://127.0.0.1:{base.rsplit(":", 1)[1]}"
    conditions: ["[CONNECTED] == true", "[RESPONSE_TIME] < 1000"]
"""


ENV = {"OPSCONSOLE_HUNT_GATUS_TOKEN": "tok-4242-abcd"}


def _load(tmp_path: Path, base: str) -> Config:
    path = tmp_path / "checks.yaml"
    path.write_text(gatus_config(base), encoding="utf-8")
    path.chmod(0o600)
    return load_config(path, env=ENV)


async def _run_all(config: Config) -> dict[str, ProbeResult]:
    async with ProbeRunner() as runner:
        results = await asyncio.gather(*(runner.run(p) for p in config.probes))
    return {r.probe: r for r in results}


@pytest.fixture(scope="module")
def results(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProbeResult]:
    config = _load(tmp_path_factory.mktemp("gatus"), base_url)
    return asyncio.run(_run_all(config))


def _failed(result: ProbeResult) -> list[str]:
    return [c.resolved for c in result.conditions if not c.ok]


@pytest.mark.parametrize(
    "name",
    [
        "website",
        "make-sure-header-is-rendered",
        "plain text",
        "top-level array",
        "redirect followed",
        "graphql as a POST body",
        "slow body",
        "database",
    ],
)
def test_gatus_examples_pass_against_a_healthy_server(
    results: dict[str, ProbeResult], name: str
) -> None:
    result = results[name]
    assert _failed(result) == [], result
    assert result.outcome is Outcome.OK


def test_response_time_ends_at_the_headers_as_in_gatus(results: dict[str, ProbeResult]) -> None:
    """Gatus times ``client.Do`` (up to the response headers): a body that takes a second
    to arrive is read for ``[BODY]`` but not counted in ``[RESPONSE_TIME]``."""
    result = results["slow body"]
    assert result.latency_ms is not None and result.latency_ms < DRIP_SECONDS * 1000 * 0.8
    assert result.outcome is Outcome.OK


def test_failing_conditions_resolve_as_gatus_shows_them(results: dict[str, ProbeResult]) -> None:
    result = results["degraded api"]
    assert result.outcome is Outcome.FAILED_CONDITIONS
    assert _failed(result) == [
        "[STATUS] (503) == 200",
        "[BODY].status (DOWN) == UP",
        "has([BODY].errors) (true) == false",
        "len([BODY].errors) (1) == 0",
        "[BODY].missing.path (INVALID) == 1",
    ]


def test_a_secret_in_a_condition_is_compared_but_shown_as_written(
    results: dict[str, ProbeResult],
) -> None:
    conditions = results["graphql as a POST body"].conditions
    token = next(c for c in conditions if "token" in c.condition)
    assert token.ok
    assert "tok-4242" not in token.resolved and "tok-4242" not in token.condition


def test_check_json_runs_the_same_gatus_config(base_url: str, tmp_path: Path) -> None:
    """The real ``opsconsole check --json``: exit 1 (one probe fails), every other probe ok."""
    path = tmp_path / "checks.yaml"
    path.write_text(gatus_config(base_url), encoding="utf-8")
    path.chmod(0o600)
    env = {**os.environ, **ENV, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run(
        [str(OPSCONSOLE), "--config", str(path), "check", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert {name for name, row in rows.items() if not row["ok"]} == {"degraded api"}
    assert rows["degraded api"]["outcome"] == "failed_conditions"
    assert "tok-4242" not in proc.stdout


# -- what Gatus accepts but can never hold (or always holds) -------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        "[CONNECTED] == True",
        "[CONNECTED] != yes",
        "has([BODY].errors) == no",
        "has([BODY].errors) != FALSE",
        "[STATUS] != 5xx",
        "[STATUS] == OK",
        "[RESPONSE_TIME] != fast",
        "[CERTIFICATE_EXPIRATION] == never",
    ],
)
def test_a_comparison_that_can_never_change_is_a_syntax_error(condition: str) -> None:
    with pytest.raises(ConditionSyntaxError):
        parse_condition(condition)


@pytest.mark.parametrize(
    "condition",
    [
        "[CONNECTED] == false",
        "has([BODY].errors) != true",
        "[STATUS] != 500",
        "[STATUS] == 0x1F4",
        "[STATUS] == pat(2*)",
        "[STATUS] == any(200, 204)",
        "[STATUS] == [BODY].expected",
        "[RESPONSE_TIME] != 1s",
        "[BODY].ok == True",
        "[BODY].code != 5xx",
        "len([BODY].name) == john",  # Gatus shows it (INVALID) when the path is missing
    ],
)
def test_comparisons_that_can_go_either_way_still_parse(condition: str) -> None:
    parse_condition(condition)


def test_a_verbatim_gatus_config_points_at_probes() -> None:
    text = "endpoints:\n  - name: website\n    url: https://twin.sh/health\n"
    with pytest.raises(ConfigError) as caught:
        loads_config(text, source="config.yaml")
    assert str(caught.value) == "config.yaml:1: endpoints: unknown key (did you mean 'probes'?)"


@pytest.mark.parametrize(
    ("extra", "line", "needle"),
    [
        ("    enabled: false\n", 4, "probes[0].enabled: unsupported Gatus key (comment"),
        ("    ui:\n      hide-url: true\n", 4, "probes[0].ui: unsupported Gatus key"),
        ("    maintenance-windows: []\n", 4, "maintenance-windows: unsupported Gatus key"),
        ("    client:\n      insecure: true\n", 4, "'timeout' or 'verify_tls'"),
    ],
)
def test_gatus_only_endpoint_keys_say_so(extra: str, line: int, needle: str) -> None:
    text = "probes:\n  - name: a\n    url: https://twin.sh/health\n" + extra
    with pytest.raises(ConfigError) as caught:
        loads_config(text, source="c.yaml")
    assert str(caught.value).startswith(f"c.yaml:{line}: "), caught.value
    assert needle in str(caught.value)


@pytest.mark.parametrize("scheme", ["icmp", "udp", "ws", "wss", "grpc", "ssh", "starttls", "tls"])
def test_other_gatus_probe_kinds_are_named(scheme: str) -> None:
    text = f"probes:\n  - name: a\n    url: {scheme}://10.0.0.1:1234\n"
    with pytest.raises(ConfigError) as caught:
        loads_config(text, source="c.yaml")
    assert str(caught.value).startswith(
        f"c.yaml:3: probes[0].url: {scheme}:// probes are not supported"
    ), caught.value
