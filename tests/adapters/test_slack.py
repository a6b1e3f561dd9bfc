"""SlackWebhook against the Slack fake on 127.0.0.1 (real HTTP, no mocks of httpx)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from opsconsole.adapters.slack import MAX_RETRY_AFTER, SlackError, SlackWebhook, _retry_after
from opsconsole.demo.slack_fake import SlackFake

WebhookFactory = Callable[..., SlackWebhook]


class Sleeps:
    """An injected ``sleep`` that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[SlackFake]:
    with SlackFake(slow_seconds=3.0) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_hook(fake: SlackFake, sleeps: Sleeps) -> AsyncIterator[WebhookFactory]:
    hooks: list[SlackWebhook] = []

    def make(url: str | None = None, **kw: object) -> SlackWebhook:
        kw.setdefault("sleep", sleeps)
        kw.setdefault("timeout", 2.0)
        hook = SlackWebhook(url or fake.webhook_url, **kw)  # type: ignore[arg-type]
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        await hook.aclose()


def assert_no_secret(fake: SlackFake, *texts: str) -> None:
    for text in texts:
        assert fake.secret not in text
        assert fake.path not in text
        assert fake.webhook_url not in text


async def failure(hook: SlackWebhook, text: str = "INC-1 update") -> SlackError:
    with pytest.raises(SlackError) as caught:
        await hook.post(text)
    return caught.value


# -- success ------------------------------------------------------------------------------------


async def test_ok_posts_text_only(fake: SlackFake, make_hook: WebhookFactory) -> None:
    await make_hook().post("INC-42 mitigated: error rate back under 1%")
    assert fake.messages == [{"text": "INC-42 mitigated: error rate back under 1%"}]
    assert fake.statuses == [200]


async def test_blocks_keep_the_text_fallback_and_send_no_overrides(
    fake: SlackFake, make_hook: WebhookFactory
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*INC-42* resolved"}}]
    await make_hook().post("INC-42 resolved", blocks=blocks)
    (message,) = fake.messages
    assert message == {"text": "INC-42 resolved", "blocks": blocks}
    assert not {"channel", "username", "icon_emoji", "icon_url"} & message.keys()


async def test_unicode_text_round_trips(fake: SlackFake, make_hook: WebhookFactory) -> None:
    await make_hook().post("Ausfall behoben ✅ — naïve café")
    assert fake.messages[0]["text"] == "Ausfall behoben ✅ — naïve café"


async def test_fake_answers_no_text_like_slack(fake: SlackFake) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        missing = await client.post(fake.webhook_url, json={"blocks": []})
        bad = await client.post(fake.webhook_url, content=b"{not json")
        wrong_path = await client.post(fake.webhook_url + "x", json={"text": "hi"})
    assert (missing.status_code, missing.text) == (400, "no_text")
    assert (bad.status_code, bad.text) == (400, "invalid_payload")
    assert (wrong_path.status_code, wrong_path.text) == (404, "no_service")
    assert fake.messages == []


# -- non-retryable answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("400", "Slack rejected the message (400 invalid_payload)"),
        (
            "403",
            "Slack rejected the message (403 invalid_token): "
            "the webhook token is invalid or revoked",
        ),
        ("404", "Slack rejected the message: the webhook was removed or disabled (404 no_service)"),
        ("410", "Slack rejected the message: the channel is archived (410)"),
    ],
)
async def test_client_errors_are_not_retried(
    fault: str,
    expected: str,
    fake: SlackFake,
    make_hook: WebhookFactory,
    sleeps: Sleeps,
) -> None:
    fake.inject(fault, times=5)  # type: ignore[arg-type]
    error = await failure(make_hook())
    assert error.reason == expected
    assert str(error) == expected
    assert error.retryable is False
    assert error.retry_after is None
    assert len(fake.statuses) == 1  # one attempt only
    assert sleeps.waits == []
    assert_no_secret(fake, str(error), repr(error))


async def test_200_without_ok_is_an_error(fake: SlackFake, make_hook: WebhookFactory) -> None:
    fake.inject("200_not_ok")
    error = await failure(make_hook())
    assert error.retryable is False
    assert "200 without 'ok'" in error.reason
    assert "HTML" in error.reason


async def test_blank_text_is_refused_before_sending(
    fake: SlackFake, make_hook: WebhookFactory
) -> None:
    error = await failure(make_hook(), "   ")
    assert error.retryable is False
    assert fake.statuses == []


# -- retries ------------------------------------------------------------------------------------


async def test_429_waits_retry_after_then_succeeds(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    fake.inject("429")
    await make_hook(backoff=5.0).post("update 1")
    assert fake.statuses == [429, 200]
    assert sleeps.waits == [1.0]  # Retry-After, not the 5 s backoff
    assert fake.messages == [{"text": "update 1"}]


async def test_429_with_real_sleep(fake: SlackFake, make_hook: WebhookFactory) -> None:
    import asyncio
    import time

    fake.inject("429")
    hook = make_hook(sleep=asyncio.sleep)
    started = time.monotonic()
    await hook.post("update 1")
    assert time.monotonic() - started >= 0.95
    assert fake.statuses == [429, 200]


async def test_429_every_time_gives_up_retryable_with_retry_after(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    fake.inject("429", times=10)
    error = await failure(make_hook(max_attempts=3))
    assert error.retryable is True
    assert error.retry_after == 1.0
    assert error.reason == "Slack rate-limited the webhook (429) (gave up after 3 attempts)"
    assert sleeps.waits == [1.0, 1.0]
    assert len(fake.statuses) == 3


def test_retry_after_is_capped_and_parsed() -> None:
    assert _retry_after("1") == 1.0
    assert _retry_after("3600") == MAX_RETRY_AFTER
    assert _retry_after("-5") == 0.0
    assert _retry_after("") is None
    assert _retry_after("soon") is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


async def test_500_twice_then_ok_backs_off_exponentially(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    fake.inject("500", times=2)
    await make_hook(backoff=0.5).post("update 2")
    assert fake.statuses == [500, 500, 200]
    assert sleeps.waits == [0.5, 1.0]
    assert fake.messages == [{"text": "update 2"}]


async def test_500_every_time_is_retryable(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    fake.inject("500", times=10)
    error = await failure(make_hook(max_attempts=4, backoff=1.0))
    assert error.retryable is True
    assert error.retry_after is None
    assert error.reason == "Slack returned 500 rollup_error (gave up after 4 attempts)"
    assert sleeps.waits == [1.0, 2.0, 4.0]
    assert_no_secret(fake, str(error), repr(error))


async def test_slow_answer_times_out_and_retries(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    fake.inject("slow")
    hook = make_hook(timeout=0.3, max_attempts=2)
    await hook.post("update 3")
    assert sleeps.waits == [1.0]
    # The slow attempt's message may still arrive (as with Slack): at least once.
    assert {"text": "update 3"} in fake.messages


async def test_slow_every_time_reports_the_timeout(
    fake: SlackFake, make_hook: WebhookFactory
) -> None:
    fake.inject("slow", times=2)
    error = await failure(make_hook(timeout=0.2, max_attempts=2))
    assert error.retryable is True
    assert error.reason == "Slack did not answer within 0.2 s (gave up after 2 attempts)"


async def test_unreachable_is_retryable(
    fake: SlackFake, make_hook: WebhookFactory, sleeps: Sleeps
) -> None:
    url = fake.webhook_url
    fake.stop()
    error = await failure(make_hook(url, max_attempts=3))
    assert error.retryable is True
    assert error.reason == (
        "cannot connect to Slack at 127.0.0.1: connection refused (gave up after 3 attempts)"
    )
    assert sleeps.waits == [1.0, 2.0]
    assert_no_secret(fake, str(error), repr(error))


async def test_closed_port_then_recovery(
    closed_port: int, fake: SlackFake, make_hook: WebhookFactory
) -> None:
    dead = f"http://127.0.0.1:{closed_port}{fake.path}"
    error = await failure(make_hook(dead, max_attempts=1))
    assert error.retryable is True
    assert "1 attempt)" in error.reason
    assert_no_secret(fake, str(error), repr(error))
    await make_hook().post("after the outage")  # the queued update goes out later
    assert fake.messages == [{"text": "after the outage"}]


# -- secrets ------------------------------------------------------------------------------------


async def test_webhook_secret_never_leaks(
    fake: SlackFake, make_hook: WebhookFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="opsconsole")
    hook = make_hook(max_attempts=2)
    texts = [repr(hook), str(hook)]
    for fault in ("400", "403", "404", "410", "500", "200_not_ok"):
        fake.inject(fault, times=2)  # type: ignore[arg-type]
        error = await failure(hook)
        fake.clear_faults()
        texts += [str(error), repr(error), error.reason, repr(error.args)]
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    texts.append(repr(fake))
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("opsconsole")]
    assert_no_secret(fake, *texts)
    assert "[redacted]" in repr(hook)


async def test_hooks_slack_com_url_is_redacted_in_repr_and_errors(
    closed_port: int,
) -> None:
    secret = "xyzCANARYwebhookSecret0123"
    bad = SlackWebhook(
        f"http://hooks.slack.com:{closed_port}/services/T1/B2/{secret}", max_attempts=1
    )
    try:
        assert secret not in repr(bad)
    finally:
        await bad.aclose()
    # Point a hooks.slack.com-looking URL at a closed loopback port via its IP.
    hook = SlackWebhook(f"http://127.0.0.1:{closed_port}/services/T1/B2/{secret}", max_attempts=1)
    try:
        error = await failure(hook)
    finally:
        await hook.aclose()
    assert secret not in str(error) and secret not in repr(error)


@pytest.mark.parametrize("url", ["", "not a url", "ftp://hooks.slack.com/services/x", "http://"])
def test_invalid_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(SlackError) as caught:
        SlackWebhook(url)
    assert caught.value.retryable is False
    if url:
        assert url not in caught.value.reason


async def test_closed_client_refuses(fake: SlackFake, make_hook: WebhookFactory) -> None:
    hook = make_hook()
    await hook.aclose()
    error = await failure(hook)
    assert error.retryable is False
    assert fake.statuses == []


def test_fake_inject_rejects_unknown_kinds(fake: SlackFake) -> None:
    with pytest.raises(ValueError):
        fake.inject("418")  # type: ignore[arg-type]
    assert json.dumps(fake.messages) == "[]"
