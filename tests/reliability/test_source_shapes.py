"""Property test for issue 7 items 3–4: a source that answers 200 with JSON of the wrong
*shape* (a list where an object goes, ``null`` for a timestamp, a 400-digit number, an
escape sequence in a label) never surfaces as ``unexpected error: TypeError …``.

test_faults.py covers transport faults and bodies that are not JSON. Here each source's
documented healthy answer (a Sentry issue list, a Prometheus vector and matrix, an
Alertmanager v2 alert list, a Statuspage ``summary.json``) is mutated by hypothesis, a
node replaced or deleted at random, and served by a real loopback server; one poll runs
through the real adapter inside a :class:`~opsconsole.polling.SourcePoller`. The poll
either succeeds (junk fields skipped) or fails with the adapter's own one-line reason.
Before this test, matrix timestamps that were not numbers and a Statuspage ``group_id``
that was a list reached the poller as ``TypeError``/``ValueError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_faults import make_alertmanager, make_prometheus, make_sentry, make_statuspage

from mutations import mutated
from opsconsole.polling import SourcePoller

from fault_server import Answer, FaultServer, Request

NOW = time.time()
TIME = "2024-01-01T00:00:00Z"
SENTRY_ROW = {
    "id": "42",
    "shortId": "API-1",
    "title": "ZeroDivisionError",
    "culprit": "app.views",
    "level": "error",
    "count": "12",
    "userCount": 3,
    "firstSeen": TIME,
    "lastSeen": TIME,
    "permalink": "https://sentry.example/i/42/",
    "project": {"id": "1", "slug": "api"},
}
VECTOR = {"resultType": "vector", "result": [{"metric": {"job": "api"}, "value": [NOW, "1.5"]}]}
MATRIX = {
    "resultType": "matrix",
    "result": [{"metric": {}, "values": [[NOW - 60, "1.0"], [NOW, "1.5"]]}],
}
ALERT = {
    "labels": {"alertname": "HighLatency", "severity": "critical", "service": "api"},
    "annotations": {"summary": "p95 > 1s", "runbook_url": "https://runbooks.example/x"},
    "startsAt": TIME,
    "endsAt": TIME,
    "generatorURL": "http://prometheus.example/graph",
    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
    "fingerprint": "abc123",
}
SUMMARY = {
    "page": {"name": "Demo"},
    "status": {"indicator": "minor", "description": "Partial outage"},
    "components": [
        {"id": "g1", "name": "Core", "status": "operational", "group": True},
        {"id": "c1", "name": "API", "status": "degraded_performance", "group_id": "g1"},
    ],
    "incidents": [
        {
            "name": "Slow API",
            "status": "investigating",
            "impact": "minor",
            "shortlink": "https://stspg.example/x",
            "created_at": TIME,
            "incident_updates": [{"body": "Looking", "created_at": TIME}],
        }
    ],
    "scheduled_maintenances": [],
}

SENTRY_LINK = (
    '<http://127.0.0.1/x/?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
    '<http://127.0.0.1/x/?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"'
)

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "x", "NaN", "+Inf", "2024-13-45T99:99:99Z", "\x1b[2J", "\u202e", "9" * 400]
    ),
    st.lists(st.sampled_from([1, "a", None]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "id"]), st.sampled_from([None, 1, "x"]), max_size=2),
)


class Served:
    """What the server answers: a mutated document for the source's main endpoint."""

    def __init__(self) -> None:
        self.doc: object = None
        self.range_doc: object = None


def _sentry_answer(served: Served) -> Callable[[Request], Answer]:
    def answer(request: Request) -> Answer:
        if "/issues/" not in request.path:
            return Answer.json({"detail": "not found"}, 404)
        return Answer.json(served.doc, 200, **{"X-Hits": "2", "Link": SENTRY_LINK})

    return answer


def _prometheus_answer(served: Served) -> Callable[[Request], Answer]:
    def answer(request: Request) -> Answer:
        doc = served.range_doc if "query_range" in request.path else served.doc
        return Answer.json(doc)

    return answer


def _plain_answer(served: Served) -> Callable[[Request], Answer]:
    return lambda request: Answer.json(served.doc)


SOURCES: dict[str, tuple[Any, Callable[[Served], Callable[[Request], Answer]], object]] = {
    "sentry": (make_sentry, _sentry_answer, [SENTRY_ROW, dict(SENTRY_ROW, id="43")]),
    "prometheus-instant": (
        make_prometheus,
        _prometheus_answer,
        {"status": "success", "data": VECTOR},
    ),
    "prometheus-range": (
        make_prometheus,
        _prometheus_answer,
        {"status": "success", "data": MATRIX},
    ),
    "alertmanager": (make_alertmanager, _plain_answer, [ALERT, dict(ALERT, fingerprint="def")]),
    "statuspage": (make_statuspage, _plain_answer, SUMMARY),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_wrongly_shaped_answer_is_a_reason_not_a_crash(source: str, tmp_path: Path) -> None:
    make, answer, healthy = SOURCES[source]
    served = Served()
    served.doc = healthy
    served.range_doc = {"status": "success", "data": MATRIX}
    if source == "prometheus-instant":
        served.doc = {"status": "success", "data": VECTOR}
    loop = asyncio.new_event_loop()
    with FaultServer(answer(served)) as server:
        poller: SourcePoller = loop.run_until_complete(make(server, tmp_path))

        def poll() -> str | None:
            if source == "statuspage":  # past the adapter's 60 s cache
                poller.clock.advance(seconds=61)  # type: ignore[attr-defined]
            return loop.run_until_complete(poller.poll_once()).error

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(doc=mutated(healthy, JUNK, replace_root=True))
        def check(doc: object) -> None:
            if source == "prometheus-range":
                served.range_doc = doc
            else:
                served.doc = doc
            error = poll()
            if error is not None:
                assert not error.startswith("unexpected error"), (error, doc)
                assert error.isprintable() and len(error) <= 300, error

        try:
            assert poll() is None, "the healthy answer must poll cleanly"
            check()
        finally:
            loop.run_until_complete(poller.source.aclose())
            loop.close()
