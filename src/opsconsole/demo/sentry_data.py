"""The data model of the Sentry fake (:mod:`opsconsole.demo.sentry_api`) and its demo data.

Projects and issues as the fake keeps them in memory, the requests it records and the
faults it can be told to inject, and :func:`demo_issues`, the realistic backlog the demo
starts from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "DEFAULT_PROJECTS",
    "FakeIssue",
    "FakeProject",
    "Fault",
    "RecordedRequest",
    "demo_issues",
]

Fault = Literal[
    "400", "401", "403", "404", "429", "502", "invalid_json", "no_link", "slow", "short_page"
]
"""What :meth:`SentryFake.inject` can make a request answer with."""


@dataclass(frozen=True, slots=True)
class FakeProject:
    """A project of the fake org."""

    id: int
    slug: str
    platform: str

    @property
    def prefix(self) -> str:
        """Short-id prefix: ``API`` for ``api``."""
        return self.slug.upper().replace("-", "")


@dataclass(slots=True)
class FakeIssue:
    """One issue (group) in the fake's memory."""

    id: str
    short_id: str
    title: str
    culprit: str
    level: str
    project_id: int
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    user_count: int = 0
    status: str = "unresolved"
    substatus: str = "ongoing"
    environments: tuple[str, ...] = ("production",)
    has_permalink: bool = True


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it (``params`` keeps repeated keys in order)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]

    def values(self, key: str) -> list[str]:
        """Every value of query parameter ``key``."""
        return [v for k, v in self.params if k == key]

    def value(self, key: str) -> str | None:
        """The first value of ``key``, or ``None``."""
        found = self.values(key)
        return found[0] if found else None


@dataclass(slots=True)
class _Injected:
    fault: Fault
    remaining: int | None
    only: str
    retry_after: int
    detail: str | None


# -- demo data ---------------------------------------------------------------------------

_API_ISSUES: tuple[tuple[str, str, str], ...] = (
    ("KeyError: 'policy_id'", "governance.policies.evaluate in evaluate_policy", "error"),
    (
        "TimeoutError: Redis command timed out after 2.0s",
        "governance.cache in get_decision",
        "error",
    ),
    (
        "HTTPError: 500 Internal Server Error on POST /v1/check",
        "governance.api.check in check_request",
        "error",
    ),
    (
        'OperationalError: connection to server at "db" failed: sorry, too many clients',
        "governance.db in session_scope",
        "fatal",
    ),
    (
        "ValidationError: 1 validation error for CheckRequest\nmodel_id: field required",
        "governance.api.schemas in parse_check",
        "warning",
    ),
    (
        "RateLimitExceeded: upstream model provider returned 429",
        "governance.providers.client in complete",
        "warning",
    ),
    (
        "ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
        "governance.cache in connect",
        "error",
    ),
    (
        "JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "governance.providers.client in parse_response",
        "error",
    ),
    (
        "PermissionError: audit log bucket 'acme-audit' is not writable",
        "governance.audit in flush_batch",
        "error",
    ),
    (
        "SoftTimeLimitExceeded: policy sync exceeded 300s",
        "governance.tasks.sync_policies",
        "warning",
    ),
    ("KeyError: 'tenant'", "governance.auth.keys in resolve_api_key", "error"),
    ("Slow DB query: SELECT * FROM decisions WHERE ...", "GET /v1/decisions", "info"),
)
_DASHBOARD_ISSUES: tuple[tuple[str, str, str], ...] = (
    (
        "TypeError: Cannot read properties of undefined (reading 'decisions')",
        "app/pages/Decisions.tsx in DecisionsTable",
        "error",
    ),
    (
        "Error: Access to fetch at 'https://api.acme.test/v1/check' blocked by CORS policy",
        "app/api/client.ts in request",
        "error",
    ),
    ("ChunkLoadError: Loading chunk 412 failed.", "webpack/runtime/jsonp", "error"),
    (
        "UnhandledRejection: Request failed with status code 401 (/v1/policies)",
        "app/api/client.ts in request",
        "warning",
    ),
    (
        "ResizeObserver loop completed with undelivered notifications.",
        "app/components/Chart.tsx",
        "info",
    ),
    (
        "SyntaxError: Unexpected token '<', \"<!doctype \"... is not valid JSON",
        "app/api/client.ts in parseJson",
        "error",
    ),
)

DEFAULT_PROJECTS = (FakeProject(11, "api", "python"), FakeProject(12, "dashboard", "javascript"))


def _templates(project: FakeProject) -> tuple[tuple[str, str, str], ...]:
    return _DASHBOARD_ISSUES if project.platform == "javascript" else _API_ISSUES


def demo_issues(
    now: datetime,
    *,
    projects: tuple[FakeProject, ...] = DEFAULT_PROJECTS,
    seed: int = 7,
) -> list[FakeIssue]:
    """A realistic backlog at ``now``: old noisy issues, some from today, a few resolved."""
    rng = random.Random(seed)
    issues: list[FakeIssue] = []
    serial = 0
    for project in projects:
        for n, (title, culprit, level) in enumerate(_templates(project)):
            serial += 1
            if n % 3 == 0:  # new today
                first = now - timedelta(minutes=rng.randint(5, 23 * 60))
            else:
                first = now - timedelta(hours=rng.randint(25, 24 * 60))
            last = min(now, first + timedelta(minutes=rng.randint(1, 3000)))
            count = int(rng.lognormvariate(4.0, 1.6)) + 1
            status = "resolved" if n % 5 == 4 else "unresolved"
            issues.append(
                FakeIssue(
                    id=str(4508123400 + serial),
                    short_id=f"{project.prefix}-{_base36(serial + 40)}",
                    title=title,
                    culprit=culprit,
                    level=level,
                    project_id=project.id,
                    first_seen=first,
                    last_seen=last,
                    count=count,
                    user_count=max(0, count // rng.randint(3, 12)),
                    status=status,
                    substatus="new" if now - first < timedelta(days=3) else "ongoing",
                    has_permalink=n % 7 != 6,
                )
            )
    return issues


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, rem = divmod(n, 36)
        out = digits[rem] + out
        if n == 0:
            return out
