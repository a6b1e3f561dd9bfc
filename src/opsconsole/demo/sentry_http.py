"""The HTTP request handler of the Sentry fake (:mod:`opsconsole.demo.sentry_api`):
routing, authentication, injected faults, pagination and the answers' headers.
"""

from __future__ import annotations

import contextlib
import html
import json
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from opsconsole.demo.sentry_data import RecordedRequest, _Injected
from opsconsole.demo.sentry_search import _BadRequest

if TYPE_CHECKING:
    from opsconsole.demo.sentry_api import SentryFake

RATE_LIMIT = 40
RATE_WINDOW = 1.0
EDGE_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


# -- HTTP -----------------------------------------------------------------------------------


def _make_handler(fake: SentryFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the TUI owns the terminal

        def handle_one_request(self) -> None:
            with contextlib.suppress(ConnectionError):
                super().handle_one_request()

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            params = parse_qsl(query, keep_blank_values=True)
            fake._record(RecordedRequest("GET", path, tuple(params), dict(self.headers.items())))
            self._route(path, params, query)

        # -- answers ---------------------------------------------------------------------

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(
            self, status: int, payload: object, headers: dict[str, str] | None = None
        ) -> None:
            merged = {**fake._rate_headers(), **(headers or {})}
            self._send(status, json.dumps(payload).encode(), headers=merged)

        def _detail(self, status: int, detail: str) -> None:
            self._json(status, {"detail": detail})

        # -- routing ---------------------------------------------------------------------

        def _route(self, path: str, params: list[tuple[str, str]], query: str) -> None:
            if not path.startswith(fake.prefix + "/api/0/"):
                self._page(path)
                return
            api_path = path[len(fake.prefix) + len("/api/0") :]
            injected = fake._take_fault(self.path)
            if injected is not None and self._fault(injected):
                return
            auth = self.headers.get("Authorization", "")
            if not auth:
                self._detail(401, "Authentication credentials were not provided.")
                return
            if auth != f"Bearer {fake.token}":
                self._detail(401, "Invalid token")
                return
            now = fake.clock()
            fake._advance(now)
            parts = [p for p in api_path.split("/") if p]
            try:
                if len(parts) == 3 and parts[0] == "organizations" and parts[2] == "issues":
                    self._issues(parts[1], params, injected, now)
                elif len(parts) == 3 and parts[0] == "organizations" and parts[2] == "projects":
                    self._projects(parts[1], params, injected)
                elif len(parts) == 3 and parts[0] == "projects":
                    self._project(parts[1], parts[2])
                else:
                    self._detail(404, "The requested resource does not exist")
            except _BadRequest as exc:
                self._detail(400, str(exc))
            except PermissionError:
                self._detail(403, "You do not have permission to perform this action.")

        def _page(self, path: str) -> None:
            """The HTML page a ``permalink`` points at (what a browser opens in the demo)."""
            parts = [p for p in path[len(fake.prefix) :].split("/") if p]
            issue = None
            if len(parts) == 4 and parts[0] == "organizations" and parts[2] == "issues":
                issue = next((i for i in fake.issues() if i.id == parts[3]), None)
            if issue is None:
                self._send(404, b"<!doctype html><h1>Not Found</h1>", "text/html")
                return
            page = (
                f"<!doctype html><title>{html.escape(issue.short_id)}</title>"
                f"<h1>{html.escape(issue.title)}</h1><p>{html.escape(issue.culprit)}</p>"
                f"<p>{issue.count} events, {issue.user_count} users, {issue.status}</p>"
            )
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def _fault(self, injected: _Injected) -> bool:
            """Answer with an injected fault; False for faults applied to a normal answer."""
            fault, detail = injected.fault, injected.detail
            if fault == "400":
                self._detail(400, detail or "Invalid search query: unexpected token")
            elif fault == "401":
                self._detail(401, detail or "Invalid token")
            elif fault == "403":
                self._detail(403, detail or "You do not have permission to perform this action.")
            elif fault == "404":
                self._detail(404, detail or "The requested resource does not exist")
            elif fault == "429":
                headers = {
                    **fake._rate_headers(limited=True),
                    "Retry-After": str(injected.retry_after),
                }
                body = {
                    "detail": detail
                    or "You are attempting to use this endpoint too frequently. "
                    f"Limit is {RATE_LIMIT} requests in {RATE_WINDOW:g} seconds"
                }
                self._send(429, json.dumps(body).encode(), headers=headers)
            elif fault == "502":
                self._send(502, EDGE_502, "text/html")
            elif fault == "invalid_json":
                self._send(200, b'[{"id": "4508', headers=fake._rate_headers())
            elif fault == "slow":
                fake._sleep(fake.slow_seconds)
                return False
            else:
                return False  # no_link / short_page change a normal answer
            return True

        def _paginate(
            self,
            rows: list[Any],
            params: list[tuple[str, str]],
            path: str,
            limit_key: str,
            injected: _Injected | None,
        ) -> tuple[list[Any], dict[str, str]]:
            got = dict(params)
            try:
                limit = int(got.get(limit_key, "100"))
            except ValueError:
                raise _BadRequest(f"Invalid {limit_key}") from None
            if not 1 <= limit <= 100:
                raise _BadRequest(f"{limit_key} must be between 1 and 100")
            size = min(limit, fake.page_size)
            offset = 0
            if cursor := got.get("cursor"):
                try:
                    _value, off, _prev = cursor.split(":")
                    offset = int(off)
                except ValueError:
                    raise _BadRequest("Invalid cursor parameter.") from None
            page = rows[offset : offset + size]
            if injected is not None and injected.fault == "short_page" and page:
                page = page[:-1]
            has_next = offset + size < len(rows)
            headers = {"X-Hits": str(len(rows)), "X-Max-Hits": "1000"}
            if injected is None or injected.fault != "no_link":
                params_without_cursor = [(k, v) for k, v in params if k != "cursor"]
                host = self.headers.get("Host", f"127.0.0.1:{fake.port}")
                url = f"http://{host}{quote(path)}?"
                if params_without_cursor:
                    url += urlencode(params_without_cursor) + "&"
                prev_cursor = f"{size}:{max(offset - size, 0)}:1"
                next_cursor = f"{size}:{offset + size}:0"
                headers["Link"] = (
                    f'<{url}cursor={prev_cursor}>; rel="previous"; '
                    f'results="{"true" if offset > 0 else "false"}"; cursor="{prev_cursor}", '
                    f'<{url}cursor={next_cursor}>; rel="next"; '
                    f'results="{"true" if has_next else "false"}"; cursor="{next_cursor}"'
                )
            return page, headers

        def _issues(
            self,
            org: str,
            params: list[tuple[str, str]],
            injected: _Injected | None,
            now: datetime,
        ) -> None:
            if org != fake.org:
                self._detail(404, "The requested resource does not exist")
                return
            rows, stats = fake._search(params, now)
            page, headers = self._paginate(
                rows, params, self.path.partition("?")[0], "limit", injected
            )
            body = [fake._serialize(issue, now, stats) for issue in page]
            self._json(200, body, headers)

        def _projects(
            self, org: str, params: list[tuple[str, str]], injected: _Injected | None
        ) -> None:
            if org != fake.org:
                self._detail(404, "The requested resource does not exist")
                return
            rows = [fake._project_json(p) for p in fake.projects]
            page, headers = self._paginate(
                rows, params, self.path.partition("?")[0], "per_page", injected
            )
            headers.pop("X-Hits", None)
            headers.pop("X-Max-Hits", None)
            self._json(200, page, headers)

        def _project(self, org: str, slug: str) -> None:
            project = next((p for p in fake.projects if p.slug == slug), None)
            if org != fake.org or project is None:
                self._detail(404, "The requested resource does not exist")
                return
            self._json(200, fake._project_json(project))

    return Handler
