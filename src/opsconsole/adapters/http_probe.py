"""Run HTTP and TCP probes with a total deadline, typed failures and bounded concurrency.

The runner gathers a :class:`~opsconsole.core.models.ProbeObservation` (connected, status,
response time, peer IP, body up to 1 MiB, leaf-certificate expiry), evaluates the probe's
conditions against it and returns a :class:`~opsconsole.core.models.ProbeResult`.

Decisions worth knowing:

* **Concurrency.** One shared ``httpx.AsyncClient`` per TLS mode (verify on / off), a global
  ``asyncio.Semaphore(max_concurrency)`` and a per-target ``asyncio.Lock``. A run for a
  target that already has one in flight *waits* for it (it is not skipped). The target lock
  is taken before the semaphore, so a waiting run never holds a concurrency slot. Time spent
  waiting for either does not count toward the deadline or the latency.
* **Deadline.** ``probe.timeout`` bounds the whole run (DNS, connect, TLS, every redirect hop
  and the body read) through ``asyncio.timeout``; httpx's per-phase timeouts are set to the
  same value as a backstop.
* **Response time** runs from sending the first request (DNS and connect included) to the
  headers of the last response, including redirect hops but not the body read, like Gatus.
  For TCP it covers resolution and the handshake. It is ``None`` when nothing answered.
* **Redirects** are followed by hand, so ``max_redirects`` can differ per probe on a shared
  client; revisiting a URL stops at once as a loop. Cookies are never stored.
* **Body.** Read only when a condition uses ``[BODY]``, capped at 1 MiB (decoded); a bigger
  body is ``BODY_TOO_LARGE``. Otherwise a small declared body (≤ 64 KiB) is drained so the
  keep-alive connection can be reused, and anything else is closed unread.
* **Failures**: conditions are still evaluated against the partial observation
  (``[CONNECTED]`` false, no status), as in Gatus. A typed failure that happened before any
  answer (timeout, DNS, refused, TLS, error) becomes OK only if every condition passes and
  one of them uses ``[CONNECTED]``, which is what lets ``[CONNECTED] == false`` assert that a
  port is closed. (Gatus would also pass ``has([BODY].errors) == false`` alone against a
  dead server; here that stays a failure.)
* **Secrets.** Error strings are one short line and never contain the URL's userinfo or
  query string, nor header values. Proxy and ``.netrc`` settings from the environment are
  ignored (``trust_env=False``). Note that httpx itself logs full URLs at INFO: the app must
  keep the ``httpx`` logger at WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import ssl
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opsconsole import __version__
from opsconsole.adapters.error_chain import exception_chain
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.durations import format_setting
from opsconsole.core.models import ConditionResult, Outcome, ProbeObservation, ProbeResult

if TYPE_CHECKING:
    import httpx

    from opsconsole.config.schema import ProbeConfig
    from opsconsole.core.conditions import Condition

__all__ = ["MAX_BODY_BYTES", "ProbeRunner"]

MAX_BODY_BYTES = 1_048_576
"""The most body bytes a probe reads (and hands to ``[BODY]`` conditions)."""

_DRAIN_LIMIT = 65_536
_MAX_ERROR_CHARS = 160
_USER_AGENT = f"opsconsole/{__version__} (health probe)"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


class _ProbeFailure(Exception):
    """A typed failure raised inside a run; carries the outcome and a safe message."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


@dataclass(slots=True)
class _Partial:
    """What a run has learned so far; frozen into a ProbeObservation at the end."""

    connected: bool = False
    status: int | None = None
    response_time_ms: float | None = None
    ip: str | None = None
    body: bytes = b""
    certificate_expiration_ms: float | None = None
    host: str | None = None  # the host being talked to (a redirect may change it)

    def freeze(self) -> ProbeObservation:
        return ProbeObservation(
            connected=self.connected,
            status=self.status,
            response_time_ms=self.response_time_ms,
            ip=self.ip,
            body=self.body,
            certificate_expiration_ms=self.certificate_expiration_ms,
        )


class _TargetLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


@functools.cache
def _closed_stream() -> httpx.ByteStream:
    """What a closed response points at instead of its stream (one, shared)."""
    import httpx

    return httpx.ByteStream(b"")


class ProbeRunner:
    """Runs probes with bounded concurrency and a total deadline per run.

    One shared ``httpx.AsyncClient`` per TLS-verify setting (never a client per probe), a
    global ``asyncio.Semaphore(max_concurrency)``, and a per-target ``asyncio.Lock`` so at
    most one request per target is in flight; a second run for the same target waits.

    Args:
        max_concurrency: Most probes in flight at once.
        clock: Source of the aware-UTC result timestamps and of "now" for certificate expiry.
        ssl_context: Trust store used when ``verify_tls`` is on (default: httpx's certifi
            bundle). Tests pass one trusting their own CA.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 20,
        clock: Clock = system_clock,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._max_concurrency = max_concurrency
        self._clock = clock
        self._ssl_context = ssl_context
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._targets: dict[str, _TargetLock] = {}
        # Per connection (keyed by its network stream): peer IP and certificate expiry.
        self._peers: weakref.WeakKeyDictionary[Any, tuple[str | None, datetime | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._closed = False

    async def __aenter__(self) -> ProbeRunner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared HTTP clients; later runs return an ERROR result."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def run(self, probe: ProbeConfig) -> ProbeResult:
        """Run one probe and return its result (``state`` is left UNKNOWN for the engine).

        Never raises, except ``asyncio.CancelledError`` when the caller cancels the run.
        """
        async with self._target_slot(f"{probe.kind}:{probe.target}"), self._semaphore:
            timestamp = self._clock()
            partial = _Partial()
            outcome: Outcome | None = None
            error: str | None = None
            try:
                if self._closed:
                    raise _ProbeFailure(Outcome.ERROR, "probe runner is closed")
                async with asyncio.timeout(probe.timeout.total_seconds()):
                    if probe.kind == "tcp":
                        await self._run_tcp(probe, partial)
                    else:
                        await self._run_http(probe, partial)
            except _ProbeFailure as failure:
                outcome, error = failure.outcome, failure.message
            except Exception as exc:
                outcome, error = _classify(exc, probe, partial.host)
            return self._result(probe, timestamp, partial, outcome, error)

    # -- orchestration helpers -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _target_slot(self, key: str) -> AsyncIterator[None]:
        entry = self._targets.get(key)
        if entry is None:
            entry = self._targets[key] = _TargetLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._targets[key]

    def _result(
        self,
        probe: ProbeConfig,
        timestamp: datetime,
        partial: _Partial,
        outcome: Outcome | None,
        error: str | None,
    ) -> ProbeResult:
        observation = partial.freeze()
        conditions = _evaluate(probe.conditions, observation)
        if probe._secret_refs:
            conditions = tuple(
                replace(
                    c,
                    condition=probe.mask_secrets(c.condition),
                    resolved=probe.mask_secrets(c.resolved),
                )
                for c in conditions
            )
        all_pass = all(c.ok for c in conditions)
        if outcome is None:
            outcome = Outcome.OK if all_pass else Outcome.FAILED_CONDITIONS
        elif (
            not observation.connected
            and conditions
            and all_pass
            and any(c.uses_connected for c in probe.conditions)
        ):
            # `[CONNECTED] == false` may be exactly what the probe asserts. Conditions that
            # merely hold on an empty answer (`has([BODY].errors) == false`,
            # `[BODY] != pat(*error*)`) must not turn a dead server into an OK.
            outcome, error = Outcome.OK, None
        return ProbeResult(
            probe=probe.name,
            timestamp=timestamp,
            outcome=outcome,
            status=observation.status,
            latency_ms=observation.response_time_ms,
            error=error,
            conditions=conditions,
        )

    def _client(self, verify: bool) -> httpx.AsyncClient:
        client = self._clients.get(verify)
        if client is None:
            # httpx (with http.cookiejar and email) is imported on the first probe, after
            # the dashboard's first frame, not when the console starts (~25 ms).
            import http.cookiejar

            import httpx

            tls: ssl.SSLContext | bool = verify
            if verify and self._ssl_context is not None:
                tls = self._ssl_context
            client = httpx.AsyncClient(
                verify=tls,
                trust_env=False,
                follow_redirects=False,
                headers={"User-Agent": _USER_AGENT},
                limits=httpx.Limits(
                    max_connections=None,  # the semaphore is the bound
                    max_keepalive_connections=max(20, self._max_concurrency),
                ),
            )
            # Probes must not carry state between runs or targets: store no cookies.
            client.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            self._clients[verify] = client
        return client

    # -- HTTP ------------------------------------------------------------------------------

    async def _run_http(self, probe: ProbeConfig, partial: _Partial) -> None:
        if probe.url is None:
            raise _ProbeFailure(Outcome.ERROR, "probe has no url")
        import httpx

        client = self._client(probe.verify_tls)
        seconds = probe.timeout.total_seconds()
        body = probe.body.encode() if probe.body is not None else None
        request = client.build_request(
            probe.method,
            probe.url,
            headers=dict(probe.headers),
            content=body,
            timeout=httpx.Timeout(seconds),
        )
        needs_body = any(c.uses_body for c in probe.conditions)
        visited = {(request.method, str(request.url))}
        redirects = 0
        start = time.perf_counter()
        while True:
            partial.host = request.url.host
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                partial.connected = True
                partial.status = response.status_code
                partial.response_time_ms = (time.perf_counter() - start) * 1000.0
                partial.ip, partial.certificate_expiration_ms = self._peer_facts(response)
                nxt = response.next_request
                if probe.follow_redirects and nxt is not None:
                    if (nxt.method, str(nxt.url)) in visited:
                        raise _ProbeFailure(
                            Outcome.TOO_MANY_REDIRECTS,
                            f"redirect loop: stopped after {redirects} redirects",
                        )
                    if redirects >= probe.max_redirects:
                        raise _ProbeFailure(
                            Outcome.TOO_MANY_REDIRECTS, f"stopped after {redirects} redirects"
                        )
                    visited.add((nxt.method, str(nxt.url)))
                    redirects += 1
                    await _drain_small(response)
                    request = nxt
                    continue
                if needs_body:
                    partial.body, too_large = await _read_capped(response)
                    if too_large:
                        raise _ProbeFailure(Outcome.BODY_TOO_LARGE, "response body exceeds 1 MiB")
                else:
                    await _drain_small(response)
                return
            finally:
                await response.aclose()
                # httpx leaves a Response <-> BoundAsyncStream reference cycle: ~37 objects
                # per probe that only a full garbage collection could free, and at 100
                # probes/s they made full collections of 100-400 ms (BENCHMARKS.md).
                response.stream = _closed_stream()

    def _peer_facts(self, response: httpx.Response) -> tuple[str | None, float | None]:
        """Return the peer IP and the leaf certificate's remaining lifetime in ms.

        Both belong to the connection, so they are read once per connection (keep-alive
        reuses it): each ``get_extra_info`` builds anyio's attribute table and makes a
        ``getpeername`` call, ~30 µs a probe of the runner's own CPU.
        """
        stream = response.extensions.get("network_stream")
        if stream is None:
            return None, None
        try:
            facts = self._peers.get(stream)
        except TypeError:  # a stream type that cannot be weakly referenced
            facts = None
        if facts is None:
            facts = _read_peer(stream)
            with contextlib.suppress(TypeError):
                self._peers[stream] = facts
        ip, not_after = facts
        if not_after is None:
            return ip, None
        return ip, (not_after - self._clock()).total_seconds() * 1000.0

    # -- TCP -------------------------------------------------------------------------------

    async def _run_tcp(self, probe: ProbeConfig, partial: _Partial) -> None:
        if probe.tcp is None:
            raise _ProbeFailure(Outcome.ERROR, "probe has no tcp target")
        host, port = _split_host_port(probe.tcp)
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        errors: list[OSError] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            try:
                reader, writer = await asyncio.open_connection(str(sockaddr[0]), port)
            except OSError as exc:
                errors.append(exc)
                continue
            partial.connected = True
            partial.response_time_ms = (time.perf_counter() - start) * 1000.0
            peer = writer.get_extra_info("peername")
            partial.ip = str(peer[0]) if peer else str(sockaddr[0])
            del reader
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        if len(errors) == 1:
            raise errors[0]
        raise ExceptionGroup("all connection attempts failed", errors)


# -- helpers -------------------------------------------------------------------------------


def _read_peer(stream: Any) -> tuple[str | None, datetime | None]:
    """The peer IP and the leaf certificate's expiry of a connection's network stream."""
    ip: str | None = None
    addr = stream.get_extra_info("server_addr")
    if isinstance(addr, tuple) and addr:
        ip = str(addr[0])
    not_after: datetime | None = None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            from cryptography import x509  # lazy: ~20 ms of startup, https only

            not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    return ip, not_after


async def _read_capped(response: httpx.Response) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES of decoded body; also say whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


async def _drain_small(response: httpx.Response) -> None:
    """Read a small declared body so the keep-alive connection can be reused."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= _DRAIN_LIMIT:
        async for _ in response.aiter_raw():
            pass


def _evaluate(
    conditions: tuple[Condition, ...], observation: ProbeObservation
) -> tuple[ConditionResult, ...]:
    results: list[ConditionResult] = []
    for condition in conditions:
        try:
            results.append(condition.evaluate(observation))
        except Exception as exc:  # a bug in one condition must not lose the whole result
            results.append(
                ConditionResult(
                    condition=condition.text,
                    ok=False,
                    resolved=f"{condition.text} (could not evaluate: {type(exc).__name__})",
                    latency_only=condition.latency_only,
                )
            )
    return tuple(results)


def _split_host_port(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise _ProbeFailure(Outcome.ERROR, "invalid tcp target (expected host:port)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def _classify(exc: Exception, probe: ProbeConfig, host: str | None = None) -> tuple[Outcome, str]:
    """Map an exception from a run to a typed outcome and a safe one-line message.

    ``host`` is the host the run was talking to when it failed (after a redirect, not the
    probe's own); None means the probe's.
    """
    import httpx

    chain = list(exception_chain(exc))

    def first(kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
        return next((e for e in chain if isinstance(e, kind)), None)

    if first((TimeoutError, httpx.TimeoutException)) is not None:
        return Outcome.TIMEOUT, f"timed out after {format_setting(probe.timeout)}"
    if (gai := first(socket.gaierror)) is not None:
        host = host or _host_of(probe)
        reason = gai.strerror or "name resolution failed"
        return Outcome.DNS_FAILURE, _scrub(f"DNS lookup failed for {host}: {reason}", probe)
    if (verify := first(ssl.SSLCertVerificationError)) is not None:
        reason = verify.verify_message or verify.reason or "certificate verify failed"
        return Outcome.TLS_ERROR, _scrub(f"TLS error: certificate verify failed: {reason}", probe)
    if (tls := first(ssl.SSLError)) is not None:
        reason = (tls.reason or tls.strerror or type(tls).__name__).replace("_", " ").lower()
        return Outcome.TLS_ERROR, _scrub(f"TLS error: {reason}", probe)
    if first(ConnectionRefusedError) is not None:
        return Outcome.CONNECTION_REFUSED, "connection refused"
    if first(ConnectionResetError) is not None:
        return Outcome.ERROR, "connection reset by peer"
    if isinstance(exc, httpx.RemoteProtocolError):
        detail = str(exc).rstrip(".")
        detail = detail[:1].lower() + detail[1:]
        return Outcome.ERROR, _scrub(f"invalid HTTP response: {detail}", probe)
    if isinstance(exc, httpx.LocalProtocolError):
        return Outcome.ERROR, "invalid request (check the method and headers)"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Outcome.ERROR, "invalid URL (expected http:// or https://)"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return Outcome.ERROR, "connection lost while talking to the server"
    if (os_error := first(OSError)) is not None and os_error.strerror:
        return Outcome.ERROR, _scrub(f"connection failed: {os_error.strerror}", probe)
    return Outcome.ERROR, _scrub(f"{type(exc).__name__}: {exc}", probe)


def _host_of(probe: ProbeConfig) -> str:
    if probe.kind == "tcp" and probe.tcp is not None:
        return probe.tcp.rpartition(":")[0].strip("[]") or "?"
    import httpx

    try:
        return httpx.URL(probe.url or "").host or "?"
    except Exception:
        return "?"


def _scrub(message: str, probe: ProbeConfig) -> str:
    """Make ``message`` one short line free of URL secrets, header values and controls."""
    import httpx

    secrets: list[str] = []
    if probe.url:
        secrets.append(probe.url)
        try:
            url = httpx.URL(probe.url)
        except Exception:
            url = None
        if url is not None:
            secrets += [
                url.query.decode("ascii", "replace"),
                url.userinfo.decode("ascii", "replace"),
            ]
            secrets += [url.username, url.password or ""]
        _, sep, query = probe.url.partition("?")
        if sep:
            secrets.append(query)
    secrets += [str(v) for v in dict(probe.headers).values()]
    message = probe.mask_secrets(message)
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        message = message.replace(secret, "[redacted]")
    message = _CONTROL.sub(" ", message)
    message = " ".join(message.split())
    if len(message) > _MAX_ERROR_CHARS:
        message = message[: _MAX_ERROR_CHARS - 1] + "…"
    return message
