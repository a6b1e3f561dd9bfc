"""Secret redaction: URLs, free text, log records and a real httpx INFO line (canaries)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import yaml

from opsconsole.adapters.logging_setup import (
    RedactingFilter,
    config_secrets,
    install_log_redaction,
    uninstall_log_redaction,
)
from opsconsole.config.loader import loads_config
from opsconsole.core.redact import REDACTED, redact_query, redact_text, redact_url

CANARY = "CANARYx7q9Zk2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/health", "https://example.com/health"),
        ("https://user:pa55@example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://h.example/api?token=abc&project=1&flag",
            "https://h.example/api?token=[redacted]&project=[redacted]&[redacted]",
        ),
        ("https://h.example/cb#access_token=abc", "https://h.example/cb#[redacted]"),
        (
            "https://hooks.slack.com/services/T0123/B0456/abcDEF123secret",
            "https://hooks.slack.com/services/[redacted]",
        ),
        (
            "https://discord.com/api/webhooks/123/tok-en",
            "https://discord.com/api/webhooks/[redacted]",
        ),
        (
            "https://0123456789abcdef@o1.ingest.sentry.io/4505",
            "https://o1.ingest.sentry.io/4505",
        ),
        ("http://[::1]:8080/p?q=1", "http://[::1]:8080/p?q=[redacted]"),
        ("http://[bad/p?q=secret", "http://[bad/p?[redacted]"),
        ("/api/0/projects/?cursor=abc", "/api/0/projects/?cursor=[redacted]"),
        ("https://g.example/api/sntryu_" + "a" * 20, "https://g.example/api/[redacted]"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "text",
    [
        f'HTTP Request: GET https://sentry.example/api/0/?token={CANARY} "HTTP/1.1 200 OK"',
        f"posting to https://hooks.slack.com/services/T000/B000/{CANARY} failed",
        f"dsn=https://{CANARY}@o1.ingest.sentry.io/1",
        f"Authorization: Bearer {CANARY}",
        f"{{'Authorization': 'Bearer {CANARY}', 'Accept': 'application/json'}}",
        f'{{"X-Api-Key": "{CANARY}"}}',
        f"retrying with token={CANARY}",
        f"smtp password: {CANARY}",
        f"bearer {CANARY} rejected",
        f"redis://:{CANARY}@cache.internal:6379/0",
        "sentry said: sntryu_" + CANARY + "abc",
        "org token sntrys_" + CANARY + "_abc==",
        "grafana glsa_" + CANARY + "_0123",
        "slack xoxb-1234-5678-" + CANARY,
        "user token xoxp-1234-" + CANARY,
    ],
)
def test_redact_text_removes_canary(text: str) -> None:
    redacted = redact_text(text)
    assert CANARY not in redacted
    assert redacted != text


def test_literal_secrets_also_percent_encoded() -> None:
    """A config secret is redacted wherever it appears, raw or URL-encoded."""
    secret = f"p@ss {CANARY}/+"
    text = f"failed for {secret!r}; url was https://x.example/?k={secret.replace(' ', '%20')}"
    text += " and body " + "p%40ss+" + CANARY + "%2F%2B"
    redacted = redact_text(text, [secret, "ab"])  # "ab" is too short to redact
    assert CANARY not in redacted
    assert "ab" in redact_text("about", ["ab"])


def test_ordinary_text_survives() -> None:
    text = "probe API health failed: [STATUS] (503) == 200 after 1.2s; basic auth not used"
    assert redact_text(text) == text
    assert redact_text("") == ""


def test_redaction_is_idempotent() -> None:
    once = redact_text(f"GET https://h.example/?token={CANARY} Authorization: Bearer {CANARY}")
    assert redact_text(once) == once
    assert "]]" not in once
    assert once.count(REDACTED) == 2


# -- config secrets ---------------------------------------------------------------------


def _config(**extra: Any) -> Any:
    document = {
        "probes": [
            {
                "name": "api",
                "url": "https://api.example/health?key=probe-url-secret-1",
                "headers": {"Authorization": "Bearer probe-header-secret", "Accept": "text/html"},
            }
        ],
        "sentry": {"org": "acme", "projects": ["api"], "token": "sentry-token-secret"},
        "prometheus": {"url": "https://prom.example", "token": "prom-token-secret"},
        "alertmanager": {"url": "https://am.example", "token": "am-token-secret"},
        "telemetry": {"sentry_dsn": "https://dsnkey0123456789@o1.ingest.sentry.io/42"},
        **extra,
    }
    return loads_config(yaml.safe_dump(document))


def test_config_secrets_walks_every_secret() -> None:
    secrets = config_secrets(_config())
    for expected in (
        "sentry-token-secret",
        "prom-token-secret",
        "am-token-secret",
        "https://dsnkey0123456789@o1.ingest.sentry.io/42",
        "dsnkey0123456789",
        "Bearer probe-header-secret",
        "probe-header-secret",
        "probe-url-secret-1",
    ):
        assert expected in secrets
    assert "text/html" not in secrets  # benign headers are not secrets
    assert secrets == sorted(secrets, key=len, reverse=True)


def test_config_secrets_grafana_token() -> None:
    config = _config(
        prometheus={
            "grafana": {"url": "https://g.example", "datasource_uid": "u", "token": "glsa_tok3n"}
        }
    )
    assert "glsa_tok3n" in config_secrets(config)


# -- logging ----------------------------------------------------------------------------


def test_filter_rewrites_message_args_and_traceback() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s -> %s", None, None)
    record.args = (f"https://h.example/?token={CANARY}", "boom")
    try:
        raise RuntimeError(f"secret {CANARY}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter([CANARY]).filter(record)
    assert record.args is None
    assert record.msg == "GET https://h.example/?token=[redacted] -> boom"
    output = logging.Formatter().format(record)
    assert CANARY not in output and "RuntimeError: secret [redacted]" in output


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def loopback() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def log_capture() -> Iterator[io.StringIO]:
    """A root handler at DEBUG, httpx/httpcore lowered to DEBUG; everything restored."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.INFO)
    logging.getLogger("httpcore").setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        uninstall_log_redaction()
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def _get(url: str) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(url, headers={"Authorization": f"Bearer {CANARY}"})
        assert response.status_code == 200


async def test_httpx_info_line_is_redacted(loopback: str, log_capture: io.StringIO) -> None:
    """httpx's INFO "HTTP Request: GET <url>" line carries ?token=: the filter removes it."""
    install_log_redaction([CANARY])
    await _get(f"{loopback}/api?token={CANARY}&project=api")
    output = log_capture.getvalue()
    assert "HTTP Request: GET" in output
    assert "?token=[redacted]&project=[redacted]" in output
    assert CANARY not in output


async def test_httpx_logger_filter_covers_handlers_added_later(
    loopback: str, log_capture: io.StringIO
) -> None:
    """A handler attached after install still never sees httpx's raw URL."""
    install_log_redaction()
    late = io.StringIO()
    handler = logging.StreamHandler(late)
    logging.getLogger().addHandler(handler)
    try:
        await _get(f"{loopback}/api?token={CANARY}")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "HTTP Request: GET" in late.getvalue()
    assert CANARY not in late.getvalue()


async def test_canary_leaks_without_the_filter(loopback: str, log_capture: io.StringIO) -> None:
    """Guard for the test above: without the filter the INFO line does carry the token."""
    await _get(f"{loopback}/api?token={CANARY}")
    assert CANARY in log_capture.getvalue()


def test_install_is_idempotent() -> None:
    handler = logging.NullHandler()
    logging.getLogger().addHandler(handler)
    try:
        first = install_log_redaction(["one-secret"])
        second = install_log_redaction(["two-secret"])
        assert first is second
        assert handler.filters.count(first) == 1
        assert logging.getLogger("httpx").filters.count(first) == 1
        assert {"one-secret", "two-secret"} <= set(first.secrets)
    finally:
        uninstall_log_redaction()
        logging.getLogger().removeHandler(handler)
    assert not any(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("token=abc&project=api", "token=[redacted]&project=[redacted]"),
        ("flag&&x=", "[redacted]&x=[redacted]"),
    ],
)
def test_redact_query(query: str, expected: str) -> None:
    """Breadcrumbs carry the query string on its own (``http.query``): every value goes."""
    assert redact_query(query) == expected
