"""SentrySource against the Sentry fake on 127.0.0.1 (real HTTP, no mocks of httpx)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from opsconsole.adapters.sentry import SentrySource
from opsconsole.config.sources import SentryConfig
from opsconsole.core.sources import SentrySnapshot, SourceError
from opsconsole.demo.sentry_api import FakeProject, RecordedRequest, SentryFake

CANARY = "sntryu_CANARY5f3c9a0e1b7d4c2aa1b2c3d4e5f60718293a4b5c6d7e8f9"
"""The token every test uses: it must never show up in a reason."""

PAGE_SIZE = 5
NEW_24H = "is:unresolved firstSeen:-24h"

SourceFactory = Callable[..., SentrySource]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake() -> Iterator[SentryFake]:
    """An empty ``acme`` org (api = 11, dashboard = 12) paginating every 5 rows."""
    with SentryFake(token=CANARY, issues=[], page_size=PAGE_SIZE) as server:
        yield server


@pytest.fixture
async def make_source(fake: SentryFake) -> AsyncIterator[SourceFactory]:
    """Build SentrySources (closed at teardown); keyword args override the config."""
    made: list[SentrySource] = []

    def build(shift_start: datetime | None = None, **overrides: Any) -> SentrySource:
        data: dict[str, Any] = {
            "base_url": fake.base_url,
            "org": "acme",
            "projects": ["api", "dashboard"],
            "token": CANARY,
            "interval": "1m",
            "timeout": "5s",
            **overrides,
        }
        shift = shift_start or now() - timedelta(hours=6)
        source = SentrySource(SentryConfig.model_validate(data), shift_start=lambda: shift)
        made.append(source)
        return source

    yield build
    for source in made:
        await source.aclose()


def add_backlog(fake: SentryFake) -> None:
    """23 issues new today (15 api, 8 dashboard; 7 since a shift 6 h ago), 6 older
    unresolved ones and 3 resolved new ones that must not be counted."""
    t = now()
    for n in range(15):
        fresh = n < 5  # the first 5 started after the shift
        age = timedelta(hours=2) if fresh else timedelta(hours=10, minutes=n)
        fake.add_issue("api", title=f"KeyError: 'policy_{n}'", first_seen=t - age, count=n + 1)
    for n in range(8):
        age = timedelta(hours=1) if n < 2 else timedelta(hours=20)
        fake.add_issue("dashboard", title=f"CORS error {n}", first_seen=t - age)
    for n in range(4):
        fake.add_issue("api", title=f"Redis timeout {n}", first_seen=t - timedelta(days=5 + n))
    for n in range(2):
        fake.add_issue("dashboard", title=f"ChunkLoadError {n}", first_seen=t - timedelta(days=3))
    for n in range(3):
        fake.add_issue(
            "api", title=f"fixed {n}", first_seen=t - timedelta(hours=1), status="resolved"
        )


def walk_requests(fake: SentryFake, query: str = NEW_24H) -> list[RecordedRequest]:
    return [r for r in fake.issue_requests() if r.value("query") == query]


def assert_safe(reason: str) -> None:
    assert CANARY not in reason
    assert "\n" not in reason
    assert "?" not in reason and "cursor=" not in reason
    assert len(reason) <= 200


# -- counts -------------------------------------------------------------------------------


async def test_counts_per_project_across_several_pages(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    add_backlog(fake)
    snapshot = await make_source().poll()

    counts = {p.project: (p.unresolved, p.new_24h, p.new_since_shift) for p in snapshot.projects}
    assert counts == {"api": (19, 15, 5), "dashboard": (10, 8, 2)}
    assert (snapshot.unresolved, snapshot.new_24h, snapshot.new_since_shift) == (29, 23, 7)
    walk = walk_requests(fake)
    assert len(walk) == 5  # 23 rows, 5 a page
    assert [r.value("cursor") for r in walk] == [None, "5:5:0", "5:10:0", "5:15:0", "5:20:0"]


async def test_one_request_carries_every_project_and_an_explicit_query(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    """Regression: never `is:new` (a substatus with its own timer), always `query=`."""
    add_backlog(fake)
    await make_source().poll()

    issue_requests = fake.issue_requests()
    assert all(r.value("query") for r in issue_requests)
    assert not any("is:new" in (r.value("query") or "") for r in issue_requests)
    assert all(r.value("statsPeriod") == "90d" for r in issue_requests)
    for request in walk_requests(fake):
        assert request.values("project") == ["11", "12"]
        assert request.value("limit") == "100"
    top = [r for r in issue_requests if r.value("query") == "is:unresolved" and r.value("sort")]
    assert any(r.values("project") == ["11", "12"] and r.value("limit") == "10" for r in top)
    assert all(r.headers.get("Authorization") == f"Bearer {CANARY}" for r in fake.requests)


async def test_unresolved_comes_from_x_hits_with_limit_1(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    add_backlog(fake)
    await make_source().poll()

    hits = [r for r in fake.issue_requests() if r.value("limit") == "1"]
    assert [r.values("project") for r in hits] == [["11"], ["12"]]
    assert all(r.value("query") == "is:unresolved" for r in hits)
    assert all(r.value("cursor") is None for r in hits)  # no walk for unresolved


async def test_a_short_page_with_results_true_is_not_the_last_page(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    """Regression: Sentry post-filters rows, so a page may be short and still have more."""
    add_backlog(fake)
    fake.inject("short_page", only="firstSeen")
    snapshot = await make_source().poll()

    assert len(walk_requests(fake)) == 5
    assert snapshot.new_24h == 22  # the one row removed from the first page


async def test_new_since_a_shift_older_than_24h_has_its_own_query(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    t = now()
    shift = (t - timedelta(hours=30)).replace(microsecond=0)
    fake.add_issue("api", first_seen=t - timedelta(hours=26))  # since shift, not in 24 h
    fake.add_issue("api", first_seen=t - timedelta(hours=3))
    fake.add_issue("dashboard", first_seen=t - timedelta(hours=40))  # before the shift
    snapshot = await make_source(shift_start=shift).poll()

    counts = {p.project: (p.unresolved, p.new_24h, p.new_since_shift) for p in snapshot.projects}
    assert counts == {"api": (2, 1, 2), "dashboard": (1, 0, 0)}
    iso = shift.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert walk_requests(fake, f"is:unresolved firstSeen:>={iso}")
    assert snapshot.shift_start == shift


async def test_new_since_shift_within_24h_reuses_the_24h_walk(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    add_backlog(fake)
    await make_source().poll()

    queries = {r.value("query") for r in fake.issue_requests()}
    assert queries == {"is:unresolved", NEW_24H}


async def test_overnight_counts_from_the_previous_shift_start_in_one_extra_walk(
    fake: SentryFake,
) -> None:
    """Shifts at 09:00 only: at 09:05 "new since the last shift" reaches back 24 h 5 min,
    past the 24-hour walk, so one walk from the previous start serves both windows."""
    t = now().replace(microsecond=0)
    shift, overnight = t - timedelta(minutes=5), t - timedelta(hours=24, minutes=5)
    fake.add_issue("api", first_seen=t - timedelta(minutes=2))  # this shift
    fake.add_issue("api", first_seen=t - timedelta(hours=3))  # overnight
    fake.add_issue("dashboard", first_seen=t - timedelta(hours=24, minutes=2))  # overnight
    fake.add_issue("dashboard", first_seen=t - timedelta(hours=30))  # before
    config = SentryConfig.model_validate(
        {"base_url": fake.base_url, "org": "acme", "projects": ["api", "dashboard"],
         "token": CANARY, "timeout": "5s"}
    )  # fmt: skip
    source = SentrySource(config, shift_start=lambda: shift, overnight_start=lambda: overnight)
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()

    counts = {p.project: (p.new_since_shift, p.new_overnight) for p in snapshot.projects}
    assert counts == {"api": (1, 2), "dashboard": (0, 1)}
    assert snapshot.overnight_since == overnight and snapshot.shift_start == shift
    queries = [r.value("query") for r in fake.issue_requests()]
    iso = overnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert walk_requests(fake, f"is:unresolved firstSeen:>={iso}")
    assert not [q for q in queries if q.startswith("is:unresolved firstSeen:>=") and iso not in q]


async def test_overnight_within_24h_needs_no_extra_request(fake: SentryFake) -> None:
    t = now().replace(microsecond=0)
    add_backlog(fake)
    config = SentryConfig.model_validate(
        {"base_url": fake.base_url, "org": "acme", "projects": ["api", "dashboard"],
         "token": CANARY, "timeout": "5s"}
    )  # fmt: skip
    source = SentrySource(
        config,
        shift_start=lambda: t - timedelta(hours=6),
        overnight_start=lambda: t - timedelta(hours=18),
    )
    try:
        snapshot = await source.poll()
    finally:
        await source.aclose()
    assert {r.value("query") for r in fake.issue_requests()} == {"is:unresolved", NEW_24H}
    night = sum(p.new_overnight or 0 for p in snapshot.projects)
    assert snapshot.new_since_shift <= night <= snapshot.new_24h


# -- top issues ---------------------------------------------------------------------------


async def test_top_issues_are_parsed(fake: SentryFake, make_source: SourceFactory) -> None:
    t = now().replace(microsecond=0)
    fake.add_issue(
        "api",
        title="TimeoutError: Redis command timed out",
        first_seen=t - timedelta(days=2),
        last_seen=t - timedelta(minutes=1),
        count=1234,
        user_count=56,
        permalink=False,
    )
    fake.add_issue(
        "dashboard",
        title="CORS error",
        first_seen=t - timedelta(hours=5),
        last_seen=t - timedelta(minutes=10),  # sorted by last seen: after Redis
    )
    fake.add_issue(
        "api", title="old", first_seen=t - timedelta(days=9), last_seen=t - timedelta(days=8)
    )
    snapshot = await make_source(top=2).poll()

    assert [i.title for i in snapshot.top] == [
        "TimeoutError: Redis command timed out",
        "CORS error",
    ]
    redis = snapshot.top[0]
    assert (redis.events, redis.users, redis.permalink) == (1234, 56, None)
    assert redis.project == "api" and redis.level == "error"
    assert redis.short_id.startswith("API-")
    assert redis.first_seen == t - timedelta(days=2)
    assert redis.last_seen == t - timedelta(minutes=1)
    assert redis.last_seen is not None and redis.last_seen.tzinfo is not None
    assert snapshot.top[1].permalink is not None
    assert snapshot.top[1].permalink.endswith(f"/issues/{snapshot.top[1].id}/")


async def test_raw_rows_have_sentry_types(fake: SentryFake) -> None:
    """The fake itself: `count` a string, `userCount` an int, Sentry's Link format."""
    fake.add_issue("api", count=42, user_count=3)
    async with httpx.AsyncClient(base_url=fake.base_url, trust_env=False) as client:
        response = await client.get(
            "/api/0/organizations/acme/issues/",
            params={"project": ["11", "12"], "query": "is:unresolved"},
            headers={"Authorization": f"Bearer {CANARY}"},
        )
    row = response.json()[0]
    assert row["count"] == "42" and row["userCount"] == 3
    assert response.headers["X-Hits"] == "1"
    link = re.compile(
        r'^<http://[^>]+/issues/\?[^>]*&cursor=(\d+:\d+:1)>; rel="previous"; results="false"; '
        r'cursor="\1", <http://[^>]+&cursor=(\d+:\d+:0)>; rel="next"; results="false"; '
        r'cursor="\2"$'
    )
    assert link.match(response.headers["Link"]), response.headers["Link"]
    assert response.headers["X-Sentry-Rate-Limit-Remaining"].isdigit()


# -- projects -----------------------------------------------------------------------------


async def test_slugs_are_resolved_once(fake: SentryFake, make_source: SourceFactory) -> None:
    source = make_source()
    await source.poll()
    await source.poll()

    assert len([r for r in fake.requests if r.path.endswith("/projects/")]) == 1


async def test_numeric_ids_need_no_resolution(fake: SentryFake, make_source: SourceFactory) -> None:
    fake.add_issue("dashboard", first_seen=now() - timedelta(hours=1))
    snapshot = await make_source(projects=["12"]).poll()

    assert not [r for r in fake.requests if r.path.endswith("/projects/")]
    assert [(p.project, p.unresolved, p.new_24h) for p in snapshot.projects] == [("12", 1, 1)]
    assert snapshot.top[0].project == "dashboard"


async def test_unknown_slug(make_source: SourceFactory) -> None:
    with pytest.raises(SourceError) as caught:
        await make_source(projects=["api", "billing"]).poll()
    assert caught.value.reason == "404: unknown Sentry project 'billing' in org 'acme'"


async def test_environment_is_sent_when_configured(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    fake.add_issue("api", environment="staging")
    fake.add_issue("api", environment="production")
    snapshot = await make_source(environment="production").poll()

    assert snapshot.unresolved == 1
    assert all(r.value("environment") == "production" for r in fake.issue_requests())


# -- other hosts --------------------------------------------------------------------------


async def test_self_hosted_base_url_with_a_path_prefix(make_source: SourceFactory) -> None:
    with SentryFake(token=CANARY, issues=[], prefix="/sentry") as hosted:
        hosted.add_issue("api")
        snapshot = await make_source(base_url=hosted.base_url).poll()
    assert hosted.base_url.endswith("/sentry")
    assert snapshot.unresolved == 1
    assert all(r.path.startswith("/sentry/api/0/") for r in hosted.requests)


async def test_region_host_is_just_another_base_url(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    projects = (FakeProject(4501, "api", "python"),)
    with SentryFake(org="acme-eu", token=CANARY, projects=projects, issues=[]) as region:
        region.add_issue("api")
        region.add_issue("api")
        snapshot = await make_source(
            base_url=region.base_url, org="acme-eu", projects=["api"]
        ).poll()
    assert snapshot.unresolved == 2
    assert region.requests and not fake.requests
    assert all(r.values("project") in ([], ["4501"]) for r in region.requests)


# -- rate limits --------------------------------------------------------------------------


async def test_429_waits_retry_after_then_succeeds(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    add_backlog(fake)
    fake.inject("429", only="/issues/", retry_after=1)
    started = time.perf_counter()
    snapshot = await make_source().poll()
    elapsed = time.perf_counter() - started

    assert elapsed >= 0.95
    assert (snapshot.unresolved, snapshot.new_24h, snapshot.new_since_shift) == (29, 23, 7)
    assert snapshot.rate_limit_remaining is not None and snapshot.rate_limit_remaining > 0


async def test_429_that_cannot_fit_the_deadline_hands_back_retry_after(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    fake.inject("429", times=None, only="/issues/", retry_after=30)
    started = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        await make_source(timeout="2s").poll()

    assert time.perf_counter() - started < 1.5  # gave up at once rather than sleeping
    assert caught.value.retry_after == 30
    assert caught.value.reason.startswith("429 Too Many Requests: You are attempting to use")
    assert_safe(caught.value.reason)


async def test_repeated_429s_stop_after_a_few_retries(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    fake.inject("429", times=None, only="/issues/", retry_after=0)
    with pytest.raises(SourceError) as caught:
        await make_source().poll()
    assert caught.value.retry_after == 0
    assert len(fake.issue_requests()) == 4  # the first try and 3 retries


# -- failures -----------------------------------------------------------------------------

FAILURES: list[tuple[str, dict[str, Any], str | None, str]] = [
    (
        "invalid token",
        {"token": "sntryu_someone_elses_token_0123456789"},
        None,
        "401 Unauthorized: the Sentry token is invalid or expired (Invalid token)",
    ),
    (
        "org token",
        {},
        "403",
        "403 Forbidden: the token lacks event:read (org tokens sntrys_ cannot read issues) "
        "(You do not have permission to perform this action.)",
    ),
    (
        "unknown org",
        {"org": "globex"},
        None,
        "404: unknown Sentry org 'globex' or project (The requested resource does not exist)",
    ),
    ("edge 502", {}, "502", "Sentry returned 502 (HTML error page)"),
    ("invalid JSON", {}, "invalid_json", "Sentry returned invalid JSON"),
    (
        "Link stripped",
        {},
        "no_link",
        "Sentry response had no Link header (a proxy may have stripped it)",
    ),
    ("slow", {"timeout": "1s"}, "slow", "Sentry did not answer within 1s"),
]


@pytest.mark.parametrize(
    ("overrides", "fault", "reason"),
    [f[1:] for f in FAILURES],
    ids=[f[0] for f in FAILURES],
)
async def test_failures_are_one_line_reasons(
    fake: SentryFake,
    make_source: SourceFactory,
    overrides: dict[str, Any],
    fault: Any,
    reason: str,
) -> None:
    fake.add_issue("api")
    if fault is not None:
        fake.inject(fault, only="/issues/")
    started = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        await make_source(**overrides).poll()

    assert caught.value.reason == reason
    assert str(caught.value) == reason
    # No chained httpx error (it would hold the request and its Authorization header).
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert_safe(caught.value.reason)
    assert time.perf_counter() - started < 1.5


async def test_connection_refused(make_source: SourceFactory, closed_port: int) -> None:
    with pytest.raises(SourceError) as caught:
        await make_source(base_url=f"http://127.0.0.1:{closed_port}").poll()
    assert caught.value.reason == "cannot connect to Sentry at 127.0.0.1: connection refused"


async def test_dns_failure(make_source: SourceFactory) -> None:
    with pytest.raises(SourceError) as caught:
        await make_source(base_url="http://sentry.invalid", timeout="3s").poll()
    reason = caught.value.reason
    assert reason.startswith("DNS lookup failed for sentry.invalid") or reason.startswith(
        "Sentry did not answer"  # a resolver that never answers
    )
    assert_safe(reason)


async def test_detail_text_is_one_short_line_without_the_token(
    fake: SentryFake, make_source: SourceFactory
) -> None:
    """A hostile or odd ``detail`` (newlines, escapes, an echoed token, a URL) is cleaned."""
    detail = f"Invalid search query:\n\x1b[31m{CANARY} see http://x.test/a?token={CANARY} " * 5
    fake.inject("400", only="/issues/", detail=detail)
    with pytest.raises(SourceError) as caught:
        await make_source().poll()
    reason = caught.value.reason
    assert reason.startswith("400 Bad Request (Invalid search query: [31m[redacted] see ")
    assert "\x1b" not in reason
    assert_safe(reason)


async def test_closed_source_raises(make_source: SourceFactory) -> None:
    source = make_source()
    await source.aclose()
    with pytest.raises(SourceError, match="closed"):
        await source.poll()


async def test_rate_limit_remaining_is_recorded(make_source: SourceFactory) -> None:
    snapshot = await make_source().poll()
    assert isinstance(snapshot, SentrySnapshot)
    assert snapshot.rate_limit_remaining is not None


# -- the demo data --------------------------------------------------------------------------


async def test_live_demo_data_drifts_as_time_passes(make_source: SourceFactory) -> None:
    """`opsconsole demo` relies on this: counts grow and new issues show up over time."""
    clock = [now()]
    with SentryFake(token=CANARY, clock=lambda: clock[0], live=True) as demo:
        before = demo.issues()
        source = make_source(base_url=demo.base_url)
        first = await source.poll()
        clock[0] += timedelta(hours=1)
        second = await source.poll()
    assert first.unresolved > 0 and first.new_24h > 0 and first.top
    after = demo.issues()
    assert len(after) > len(before)
    assert sum(i.count for i in after) > sum(i.count for i in before)
    assert second.top != first.top


async def test_demo_permalinks_open_a_page(fake: SentryFake) -> None:
    issue = fake.add_issue("api", title="KeyError: '<policy>'")
    async with httpx.AsyncClient(trust_env=False) as client:
        page = await client.get(f"{fake.base_url}/organizations/acme/issues/{issue.id}/")
        missing = await client.get(f"{fake.base_url}/organizations/acme/issues/1/")
    assert page.status_code == 200 and "KeyError: &#x27;&lt;policy&gt;&#x27;" in page.text
    assert missing.status_code == 404
