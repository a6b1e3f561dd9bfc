"""Regression tests for bugs found in the polled sources, against real loopback servers.

Each server below answers with the documented shapes of API-REFERENCE (Sentry §1,
Prometheus §2, Slack §5, Statuspage §6); nothing of httpx, requests or the client library
is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from canned_server import Answer, Canned
from opsconsole.adapters.prometheus import PrometheusSource
from opsconsole.adapters.sentry import MAX_RETRY_WAIT, SentrySource
from opsconsole.adapters.slack import (
    MAX_TEXT_CHARS,
    TRUNCATION_MARK,
    SlackError,
    SlackWebhook,
    slack_escape,
)
from opsconsole.adapters.statuspage import StatuspageSource
from opsconsole.config.loader import ConfigError, load_config
from opsconsole.config.sources import PrometheusConfig, SentryConfig, StatuspageConfig
from opsconsole.core.sources import SourceError
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.polling import SourcePoller

TOKEN = "sntryu_HUNTCANARY0123456789abcdef"

# -- Sentry -------------------------------------------------------------------------------------


def sentry_row(**fields: Any) -> dict[str, Any]:
    """One issue exactly as the group serializer writes it (API-REFERENCE §1)."""
    row = {
        "id": "4508123456",
        "shortId": "API-1F",
        "title": "KeyError: 'job'",
        "culprit": "opsconsole.prom in parse_vector",
        "level": "error",
        "status": "unresolved",
        "substatus": "new",
        "count": "42",
        "userCount": 3,
        "firstSeen": "2026-11-02T01:13:09.120000Z",
        "lastSeen": "2026-11-02T06:40:11Z",
        "permalink": "https://acme.sentry.io/issues/4508123456/",
        "project": {"id": "11", "name": "api", "slug": "api", "platform": "python"},
        "stats": {"24h": [[1762041600, 0], [1762045200, 5]]},
    }
    row.update(fields)
    return row


def sentry_link(base: str) -> str:
    """Sentry's Link header for a last page: both entries, ``next`` without results."""
    url = f"{base}/api/0/organizations/acme/issues/"
    return (
        f'<{url}?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{url}?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"'
    )


def serve_sentry(server: Canned, rows: list[dict[str, Any]], prefix: str = "") -> None:
    def issues(query: list[tuple[str, str]], body: bytes) -> Answer:
        headers = {
            "Content-Type": "application/json",
            "Link": sentry_link(server.base + prefix),
            "X-Hits": str(len(rows)),
        }
        return 200, headers, rows

    server.routes[f"{prefix}/api/0/organizations/acme/issues/"] = issues


def sentry_source(base_url: str, **overrides: Any) -> SentrySource:
    data: dict[str, Any] = {
        "base_url": base_url,
        "org": "acme",
        "projects": ["11"],
        "token": TOKEN,
        "interval": "1m",
        "timeout": "5s",
        **overrides,
    }
    shift = datetime.now(UTC) - timedelta(hours=6)
    return SentrySource(SentryConfig.model_validate(data), shift_start=lambda: shift)


async def test_sentry_base_url_written_with_api_0_as_in_the_reference(server: Canned) -> None:
    """API-REFERENCE §1 writes the base URL as ``https://sentry.io/api/0/``; configured
    that way (here self-hosted under /sentry), requests must not go to /api/0/api/0/."""
    serve_sentry(server, [sentry_row()], prefix="/sentry")
    source = sentry_source(f"{server.base}/sentry/api/0/")
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()
    assert snapshot.unresolved == 1
    assert [issue.short_id for issue in snapshot.top] == ["API-1F"]
    assert {path for _, path, *_ in server.requests} == {"/sentry/api/0/organizations/acme/issues/"}


@pytest.mark.parametrize(
    ("permalink", "kept"),
    [
        ("https://acme.sentry.io/issues/4508123456/", True),
        ("http://sentry.internal:9000/organizations/acme/issues/7/", True),
        (None, False),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://acme.sentry.io/issues/1/\x1b]52;c;ZXZpbA==\x07", False),
        ("https://acme.sentry.io/issues/1/ https://evil.example", False),
        ("/issues/4508123456/", False),
    ],
)
async def test_sentry_permalink_must_be_a_web_link(
    server: Canned, permalink: str | None, kept: bool
) -> None:
    """The permalink is opened in a browser on ``o``: only http(s) URLs with a host."""
    serve_sentry(server, [sentry_row(permalink=permalink)])
    source = sentry_source(server.base)
    try:
        (issue,) = (await source.poll()).top
    finally:
        await source.aclose()
    assert issue.permalink == (permalink if kept else None)


@pytest.mark.parametrize("retry_after", ["inf", "1e12", "nan"])
async def test_sentry_429_retry_after_is_finite_and_bounded(
    server: Canned, retry_after: str
) -> None:
    """A 429 asking for an absurd wait must not park the poller for ever."""
    server.routes["/api/0/organizations/acme/issues/"] = lambda q, b: (
        429,
        {"Content-Type": "application/json", "Retry-After": retry_after},
        {"detail": "You are attempting to use this endpoint too frequently."},
    )
    source = sentry_source(server.base, timeout="2s")
    try:
        with pytest.raises(SourceError) as caught:
            await source.poll()
    finally:
        await source.aclose()
    wait = caught.value.retry_after
    assert wait is not None and 0 <= wait <= MAX_RETRY_WAIT
    assert caught.value.reason.startswith("429 Too Many Requests")


class _RateLimitedOnce:
    """A source that asks for an infinite back-off once, then answers."""

    def __init__(self) -> None:
        self.polls = 0
        self.answered = asyncio.Event()

    async def poll(self) -> object:
        self.polls += 1
        if self.polls == 1:
            raise SourceError("429 Too Many Requests", retry_after=float("inf"))
        self.answered.set()
        return {"ok": True}

    async def aclose(self) -> None:
        pass


async def test_poller_never_waits_for_ever_on_a_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``retry_after=inf`` used to become ``wait_for(…, inf)``: the pane never recovered."""
    import opsconsole.polling as polling

    monkeypatch.setattr(polling, "MAX_BACKOFF", 0.2)
    source = _RateLimitedOnce()
    poller = SourcePoller("sentry", source, timedelta(milliseconds=50))
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.wait_for(source.answered.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert poller.status.error is None and poller.status.data == {"ok": True}


# -- Prometheus ---------------------------------------------------------------------------------


async def test_hung_prometheus_does_not_hold_the_default_executor() -> None:
    """A Prometheus that accepts connections and never answers held every worker of
    asyncio's default pool for the whole timeout, so the probes' DNS lookups
    (``loop.getaddrinfo``) and other ``to_thread`` work waited behind it."""
    hole = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = hole.getsockname()[1]
    queries = [{"name": f"q{i}", "query": f"vector({i})"} for i in range(24)]
    config = PrometheusConfig.model_validate(
        {"url": f"http://127.0.0.1:{port}", "timeout": "3s", "queries": queries}
    )
    source = PrometheusSource(config)
    loop = asyncio.get_running_loop()
    try:
        poll = asyncio.ensure_future(source.poll())
        await asyncio.sleep(0.3)  # every request is now waiting on the silent server
        started = time.monotonic()
        await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        await asyncio.to_thread(lambda: None)
        waited = time.monotonic() - started
        with pytest.raises(SourceError, match="did not answer within 3s"):
            await poll
    finally:
        await source.aclose()
        hole.close()
    assert waited < 1.0, f"default executor blocked for {waited:.1f}s"


# -- Statuspage ---------------------------------------------------------------------------------

SUMMARY = {
    "page": {
        "id": "4g2my7tbhjsq",
        "name": "Acme",
        "url": "https://status.acme.example",
        "time_zone": "Etc/UTC",
        "updated_at": "2026-11-02T06:40:11.123Z",
    },
    "status": {"indicator": "minor", "description": "Partially Degraded Service"},
    "components": [
        {
            "id": "grp1",
            "name": "Platform",
            "status": "partial_outage",
            "group": True,
            "group_id": None,
            "components": ["c1", "c2"],
            "only_show_if_degraded": False,
        },
        {"id": "c1", "name": "API", "status": "partial_outage", "group": False, "group_id": "grp1"},
        {"id": "c2", "name": "Web", "status": "operational", "group": False, "group_id": "grp1"},
    ],
    "incidents": [
        {
            "id": "cp306tmzcl0y",
            "name": "Elevated API errors",
            "status": "investigating",
            "impact": "minor",
            "shortlink": "https://stspg.io/abc",
            "started_at": "2026-11-02T06:00:00.000-07:00",
            "incident_updates": [
                {"id": "u1", "status": "investigating", "body": "We are looking into it."}
            ],
        }
    ],
    "scheduled_maintenances": [],
}


@pytest.mark.parametrize("suffix", ["/api/v2/summary.json", "/api/v2", "/api/v2/"])
async def test_statuspage_url_may_name_the_api(server: Canned, suffix: str) -> None:
    """``url: https://status.acme.example/api/v2/summary.json`` (the URL people copy from
    the page's API doc) used to be polled as …/summary.json/api/v2/summary.json: a 404,
    reported as "not an Atlassian Statuspage"."""
    server.routes["/api/v2/summary.json"] = lambda q, b: (
        200,
        {"Content-Type": "application/json; charset=utf-8"},
        SUMMARY,
    )
    source = StatuspageSource(StatuspageConfig(url=server.base + suffix))
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()
    assert snapshot.indicator == "minor"
    assert [(c.name, c.status) for c in snapshot.components] == [
        ("Platform / API", "partial_outage")
    ]
    assert snapshot.incidents[0].latest_update == "We are looking into it."
    assert [path for _, path, *_ in server.requests] == ["/api/v2/summary.json"]


# -- Slack --------------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    with SlackFake(slow_seconds=1.0) as fake:
        yield fake


async def test_slack_text_is_escaped_for_mrkdwn(slack: SlackFake) -> None:
    """Slack reads a webhook's ``text`` as mrkdwn: ``<module>`` vanished as a bogus link,
    ``<!channel>`` from a quoted error pinged the whole channel, ``&`` began entities."""
    hook = SlackWebhook(slack.webhook_url, timeout=2.0)
    text = "INCIDENT: NameError in <module> & p95 > 1000 ms <!channel> &amp;"
    try:
        await hook.post(text)
    finally:
        await hook.aclose()
    (message,) = slack.messages
    assert message["text"] == (
        "INCIDENT: NameError in &lt;module&gt; &amp; p95 &gt; 1000 ms &lt;!channel&gt; &amp;amp;"
    )
    assert "<" not in message["text"] and ">" not in message["text"]


async def test_slack_long_text_is_capped(slack: SlackFake) -> None:
    """Slack truncates messages over 40,000 characters wherever it likes; cut ourselves,
    visibly, and never inside an entity."""
    hook = SlackWebhook(slack.webhook_url, timeout=5.0)
    text = "timeline line & more\n" * 3000  # 63,000 characters, 3,000 ampersands
    try:
        await hook.post(text)
    finally:
        await hook.aclose()
    (message,) = slack.messages
    sent = message["text"]
    assert len(sent) <= MAX_TEXT_CHARS
    assert sent.endswith(TRUNCATION_MARK)
    body = sent.removesuffix(TRUNCATION_MARK)
    assert body.count("&") == body.count("&amp;")  # no entity cut in half
    assert sent.startswith("timeline line &amp; more\n")


@pytest.mark.parametrize("cut_at", range(35, 46))
def test_slack_escape_never_splits_an_entity(cut_at: int) -> None:
    text = "a" * 30 + "&<>&" * 10
    out = slack_escape(text, limit=cut_at + len(TRUNCATION_MARK))
    body = out.removesuffix(TRUNCATION_MARK)
    assert len(out) <= cut_at + len(TRUNCATION_MARK)
    for piece in body.split("&")[1:]:
        assert piece.startswith(("amp;", "lt;", "gt;")), body


async def test_slack_403_action_prohibited_is_not_called_a_bad_token(server: Canned) -> None:
    """403 ``action_prohibited`` is a workspace restriction, not an invalid token."""
    server.routes["/services/T000/B000/hunt"] = lambda q, b: (
        403,
        {"Content-Type": "text/plain"},
        b"action_prohibited",
    )
    hook = SlackWebhook(f"{server.base}/services/T000/B000/hunt", timeout=2.0)
    try:
        with pytest.raises(SlackError) as caught:
            await hook.post("INC-1 update")
    finally:
        await hook.aclose()
    assert caught.value.retryable is False
    assert "action_prohibited" in caught.value.reason
    assert "invalid or revoked" not in caught.value.reason
    assert "restricted" in caught.value.reason


# -- tokens -------------------------------------------------------------------------------------


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


async def test_token_with_a_trailing_newline_works_and_never_leaks(
    server: Canned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token read from a CRLF .env or a file keeps its ``\\r``/``\\n``. httpx refused the
    header and Sentry's reason quoted it: ``Illegal header value b'Bearer sntryu_…\\n'``
    (the token, on screen, in logs and in ``status --json``)."""
    serve_sentry(server, [sentry_row()])
    monkeypatch.setenv("HUNT_SENTRY_TOKEN", TOKEN + "\r\n")
    path = _write_config(
        tmp_path,
        f"sentry:\n  base_url: {server.base}\n  org: acme\n  projects: ['11']\n"
        "  token: ${HUNT_SENTRY_TOKEN}\n",
    )
    config = load_config(path)
    assert config.sentry is not None
    shift = datetime.now(UTC) - timedelta(hours=6)
    source = SentrySource(config.sentry, shift_start=lambda: shift)
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()
    assert snapshot.unresolved == 1
    assert {headers["Authorization"] for *_, headers in server.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "section",
    [
        "sentry: {org: acme, projects: [api], token: '${HUNT_BAD_TOKEN}'}",
        "alertmanager: {url: 'http://127.0.0.1:9093', token: '${HUNT_BAD_TOKEN}'}",
        "prometheus: {url: 'http://127.0.0.1:9090', token: '${HUNT_BAD_TOKEN}'}",
        "prometheus: {grafana: {url: 'http://127.0.0.1:3000', datasource_uid: prom, "
        "token: '${HUNT_BAD_TOKEN}'}}",
    ],
)
@pytest.mark.parametrize("bad", ["glsa_abc\u2019def", "glsa_abc def", "glsa_abc\x1bdef"])
def test_token_http_cannot_carry_is_a_config_error_without_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, bad: str
) -> None:
    """A non-ASCII character raised UnicodeEncodeError while building the adapters (the
    console did not start, with a traceback); now it is a one-line config error."""
    monkeypatch.setenv("HUNT_BAD_TOKEN", bad)
    path = _write_config(tmp_path, section + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "token: contains a space, a control character or a non-ASCII character" in message
    assert "abc" not in message and "def" not in message


async def test_sentry_transport_errors_never_quote_the_exception(server: Canned) -> None:
    """Even for a config built in code (no validation), a refused header is named by its
    type only: httpx's message quotes the header value."""
    config = SentryConfig.model_construct(
        base_url=server.base,
        org="acme",
        projects=("11",),
        token=SecretStr(TOKEN + "\n"),
        environment=None,
        interval=timedelta(seconds=60),
        timeout=timedelta(seconds=5),
        top=10,
    )
    source = SentrySource(config, shift_start=lambda: datetime.now(UTC))
    try:
        with pytest.raises(SourceError) as caught:
            await source.poll()
    finally:
        await source.aclose()
    assert TOKEN not in caught.value.reason
    assert caught.value.reason == "Sentry request to 127.0.0.1 failed (LocalProtocolError)"


async def test_sentry_403_on_the_slug_lookup_names_org_read(server: Canned) -> None:
    """Listing an org's projects needs ``org:read``; a token with only ``event:read`` (what
    the README asks for) reads issues but gets 403 there. The pane said the token lacked
    event:read, which it has."""
    serve_sentry(server, [sentry_row()])
    server.routes["/api/0/organizations/acme/projects/"] = lambda q, b: (
        403,
        {"Content-Type": "application/json"},
        {"detail": "You do not have permission to perform this action."},
    )
    source = sentry_source(server.base, projects=["api"])
    try:
        with pytest.raises(SourceError) as caught:
            await source.poll()
    finally:
        await source.aclose()
    reason = caught.value.reason
    assert reason.startswith("403 Forbidden: the token cannot list the org's projects")
    assert "org:read" in reason and "numeric project ids" in reason
    # With numeric ids there is no lookup, and the same token works.
    numeric = sentry_source(server.base, projects=["11"])
    try:
        assert (await numeric.poll()).unresolved == 1
    finally:
        await numeric.aclose()


# -- Alertmanager + ALERTS history --------------------------------------------------------------

AM_ALERT = {
    "labels": {"alertname": "HighErrorRate", "job": "api", "severity": "page"},
    "annotations": {"summary": "5xx > 5% [bold]not markup[/bold]"},
    "startsAt": "2026-11-02T02:10:00.123456789Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "updatedAt": "2026-11-02T07:10:00.000Z",
    "fingerprint": "a1b2c3d4e5f60718",
    "receivers": [{"name": "oncall"}],
    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
    "generatorURL": "http://prom:9090/graph?g0.expr=up",
}


async def test_junk_series_in_the_alerts_history_keeps_the_firing_list(server: Canned) -> None:
    """One ALERTS series without a ``metric`` object (a proxy's junk) raised AttributeError
    out of the history query, and the alerts pane lost the firing alerts it had read."""
    from opsconsole.adapters.alertmanager import AlertmanagerSource
    from opsconsole.config.sources import AlertmanagerConfig

    server.routes["/api/v2/alerts"] = lambda q, b: (
        200,
        {"Content-Type": "application/json"},
        [AM_ALERT],
    )
    history = [
        {"metric": None, "value": [1762066800.1, "1"]},
        {
            "metric": {
                "__name__": "ALERTS",
                "alertname": "RedisDown",
                "alertstate": "firing",
                "severity": "critical",
            },
            "value": [1762066800.1, "1"],
        },
    ]
    server.routes["/prom/api/v1/query"] = lambda q, b: (
        200,
        {"Content-Type": "application/json"},
        {"status": "success", "data": {"resultType": "vector", "result": history}},
    )
    prometheus = PrometheusSource(PrometheusConfig(url=f"{server.base}/prom", queries=()))
    source = AlertmanagerSource(AlertmanagerConfig(url=server.base), history=prometheus)
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()
        await prometheus.aclose()
    (alert,) = snapshot.firing
    assert (alert.name, alert.severity, alert.state) == ("HighErrorRate", "page", "active")
    assert alert.starts_at == datetime(2026, 11, 2, 2, 10, 0, 123456, tzinfo=UTC)
    assert snapshot.history_error is None
    assert snapshot.fired_since_shift is not None
    assert [f.name for f in snapshot.fired_since_shift] == ["RedisDown"]


async def test_slack_long_retry_after_goes_back_to_the_outbox(server: Canned) -> None:
    """A 429 asking for 120 s was retried after 60 s (the in-call cap), three times, each
    earning another 429, and the outbox was then told to retry after 60 s: Retry-After
    was never honoured. Now the wait goes back to the caller, uncut, at once."""
    server.routes["/services/T000/B000/hunt"] = lambda q, b: (
        429,
        {"Content-Type": "text/plain", "Retry-After": "120"},
        b"rate_limited",
    )
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    hook = SlackWebhook(f"{server.base}/services/T000/B000/hunt", timeout=2.0, sleep=record)
    try:
        with pytest.raises(SlackError) as caught:
            await hook.post("INC-1 update")
    finally:
        await hook.aclose()
    assert caught.value.retryable is True
    assert caught.value.retry_after == 120.0
    assert caught.value.reason == "Slack rate-limited the webhook (429); retry after 120 s"
    assert waits == []
    assert len(server.requests) == 1
