"""A throwaway Prometheus + Alertmanager pair on 127.0.0.1, for ``opsconsole demo`` and tests.

:class:`PromStack` writes temporary configs, starts the Debian ``prometheus`` and
``prometheus-alertmanager`` binaries on free loopback ports with temporary storage, has
Prometheus scrape the given targets every second and evaluate a few alert rules (sent to
the Alertmanager), and waits until both answer ``/-/ready`` and every target's ``up`` is 1
(about 5 s after spawn: Prometheus throttles discovery updates to one per 5 s).

Everything is blocking (``subprocess`` + ``urllib``); call it from a thread if an event
loop is running. ``stop()`` sends SIGTERM, then SIGKILL after a grace period, and removes
the temporary directory. The children run in their own session so a Ctrl-C in the
terminal reaches only the console, which then stops them. A SIGHUP (the terminal closed)
or SIGTERM to the console, which skips ``atexit``, also stops them first: the stack's
handler terminates both children, then hands the signal on to whatever handled it before.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import yaml

__all__ = ["DEMO_RULES", "INSTALL_HINT", "AlertRule", "PromStack", "PromStackError"]

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
INSTALL_HINT = "sudo apt-get install --no-install-recommends prometheus prometheus-alertmanager"

_STOP_GRACE = 5.0
_POLL = 0.1
_STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
_SIGNAL_GRACE = 2.0  # seconds each child gets to exit after SIGTERM from a signal handler


class PromStackError(RuntimeError):
    """The stack could not start (a binary exited, or readiness never came)."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alerting rule written into the stack's ``rules.yml``.

    Attributes:
        name: The ``alert:`` name (becomes the ``alertname`` label).
        expr: PromQL; the alert fires for every series it returns.
        severity: The ``severity`` label.
        summary: The ``summary`` annotation.
        for_: How long ``expr`` must hold before the alert fires (``"0s"``: at once).
    """

    name: str
    expr: str
    severity: str
    summary: str
    for_: str = "0s"


DEMO_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="AlwaysFiringWatchdog",
        expr="vector(1)",
        severity="none",
        summary="Watchdog: the alerting pipeline works",
    ),
    AlertRule(
        name="APIHealthDown",
        expr='100 * sum(rate(http_requests_total{status=~"5.."}[1m])) '
        "/ sum(rate(http_requests_total[1m])) > 5",
        severity="critical",
        summary="More than 5% of API requests fail with 5xx",
    ),
    AlertRule(
        name="HighLatency",
        expr="histogram_quantile(0.95, sum by (le) "
        "(rate(http_request_duration_seconds_bucket[1m]))) * 1000 > 1000",
        severity="page",
        summary="API p95 latency above 1000 ms",
    ),
)
"""Rules for the demo API's metrics: a watchdog, a 5xx ratio and a p95 latency rule."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PromStack:
    """Prometheus (+ Alertmanager) on 127.0.0.1 with temporary configs and storage.

    Args:
        targets: ``host:port`` of the scrape targets (job ``api``), e.g. the demo API.
        rules: Alert rules to evaluate every second.
        scrape_interval: Seconds between scrapes and rule evaluations.
        alertmanager: Also start an Alertmanager that Prometheus sends its alerts to.
        ready_timeout: Seconds to wait for readiness before giving up.

    Example:
        >>> with PromStack(["127.0.0.1:8000"]).start() as stack:  # doctest: +SKIP
        ...     print(stack.prometheus_url, stack.alertmanager_url)
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        rules: Sequence[AlertRule] = DEMO_RULES,
        scrape_interval: float = 1.0,
        alertmanager: bool = True,
        ready_timeout: float = 30.0,
    ) -> None:
        self.targets = tuple(targets)
        self.rules = tuple(rules)
        self.scrape_interval = scrape_interval
        self.ready_timeout = ready_timeout
        self.with_alertmanager = alertmanager
        self.prometheus_port = 0
        self.alertmanager_port = 0
        self._dir: Path | None = None
        self._prometheus: subprocess.Popen[bytes] | None = None
        self._alertmanager: subprocess.Popen[bytes] | None = None
        self._previous_handlers: dict[int, object] = {}

    # -- availability ------------------------------------------------------------------

    @staticmethod
    def available(*, alertmanager: bool = True) -> bool:
        """Whether the binaries are on ``PATH`` (Prometheus, and Alertmanager if asked)."""
        return PromStack.missing_reason(alertmanager=alertmanager) is None

    @staticmethod
    def missing_reason(*, alertmanager: bool = True) -> str | None:
        """A one-line reason the stack cannot run here, with the install command; else None."""
        if shutil.which(PROMETHEUS_BIN) is None:
            return f"Prometheus is not installed: {INSTALL_HINT}"
        if alertmanager and shutil.which(ALERTMANAGER_BIN) is None:
            return f"Alertmanager is not installed: {INSTALL_HINT}"
        return None

    # -- addresses -----------------------------------------------------------------------

    @property
    def prometheus_url(self) -> str:
        """``http://127.0.0.1:PORT`` of Prometheus."""
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the Alertmanager."""
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def directory(self) -> Path:
        """The temporary directory holding configs, data and logs."""
        if self._dir is None:
            raise PromStackError("the stack is not started")
        return self._dir

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, wait_for_targets: bool = True) -> PromStack:
        """Write configs, start both servers and wait until they are ready.

        Args:
            wait_for_targets: Also wait until ``up`` is 1 for every target (~5 s).

        Raises:
            PromStackError: A binary is missing, exited early, or readiness timed out
                (the stack is stopped again before raising).
        """
        reason = self.missing_reason(alertmanager=self.with_alertmanager)
        if reason is not None:
            raise PromStackError(reason)
        if self._dir is not None:
            raise PromStackError("the stack is already started")
        self._dir = Path(tempfile.mkdtemp(prefix="opsconsole-prom-"))
        atexit.register(self.stop)
        self._guard_signals()
        try:
            self.prometheus_port = free_port()
            if self.with_alertmanager:
                self.alertmanager_port = free_port()
                self._write_alertmanager_config()
                self._alertmanager = self._spawn_alertmanager()
            self._write_prometheus_config()
            self._prometheus = self._spawn_prometheus()
            deadline = time.monotonic() + self.ready_timeout
            if self._alertmanager is not None:
                self._wait_ready(
                    "Alertmanager", self._alertmanager, self.alertmanager_url, deadline
                )
            self._wait_ready("Prometheus", self._prometheus, self.prometheus_url, deadline)
            if wait_for_targets:
                self.wait_for_targets(deadline=deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers (SIGTERM, then SIGKILL) and delete the temporary directory."""
        self.stop_prometheus()
        _terminate(self._alertmanager)
        self._alertmanager = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        atexit.unregister(self.stop)
        self._unguard_signals()

    # -- SIGHUP / SIGTERM ----------------------------------------------------------------

    def _guard_signals(self) -> None:
        """Stop the children on SIGHUP/SIGTERM too (``atexit`` does not run for those)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for signum in _STOP_SIGNALS:
            self._previous_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_stop_signal)

    def _unguard_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum, previous in self._previous_handlers.items():
                if signal.getsignal(signum) == self._on_stop_signal:
                    signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous_handlers.clear()

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        running = [p for p in (self._prometheus, self._alertmanager) if p and p.poll() is None]
        for process in running:
            process.terminate()
        for process in running:  # a short wait, so their temporary directory can go too
            try:
                process.wait(timeout=_SIGNAL_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        previous = self._previous_handlers.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)  # die of the signal, as before
            os.kill(os.getpid(), signum)

    def stop_prometheus(self, *, kill: bool = False) -> None:
        """Stop only Prometheus, keeping its port and data for :meth:`start_prometheus`.

        Args:
            kill: Send SIGKILL at once (a crash) instead of SIGTERM.
        """
        _terminate(self._prometheus, kill=kill)
        self._prometheus = None

    def start_prometheus(self, *, wait_for_targets: bool = False) -> None:
        """Start Prometheus again on the same port with the same data directory.

        Raises:
            PromStackError: It exited early or did not become ready in time.
        """
        if self._dir is None:
            raise PromStackError("the stack is not started")
        if self._prometheus is not None:
            raise PromStackError("Prometheus is already running")
        self._prometheus = self._spawn_prometheus()
        deadline = time.monotonic() + self.ready_timeout
        self._wait_ready("Prometheus", self._prometheus, self.prometheus_url, deadline)
        if wait_for_targets:
            self.wait_for_targets(deadline=deadline)

    def restart_prometheus(self, *, wait_for_targets: bool = False) -> None:
        """Stop Prometheus and start it again on the same port with the same data."""
        self.stop_prometheus()
        self.start_prometheus(wait_for_targets=wait_for_targets)

    def wait_for_targets(self, *, deadline: float | None = None) -> None:
        """Block until Prometheus reports ``up == 1`` for every target.

        Raises:
            PromStackError: Not every target was up before the deadline.
        """
        if deadline is None:
            deadline = time.monotonic() + self.ready_timeout
        wanted = set(self.targets)
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": "up"})
        while True:
            up: set[str] = set()
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                payload = json.loads(_get(url))
                for series in payload["data"]["result"]:
                    if series["value"][1] == "1":
                        up.add(series["metric"].get("instance", ""))
            if wanted <= up:
                return
            self._check_alive("Prometheus", self._prometheus)
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(wanted - up))
                raise PromStackError(f"Prometheus never scraped {missing} successfully")
            time.sleep(_POLL * 2)

    def __enter__(self) -> PromStack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------------------

    def _write_prometheus_config(self) -> None:
        interval = f"{self.scrape_interval:g}s"
        config: dict[str, object] = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {"job_name": "api", "static_configs": [{"targets": list(self.targets)}]}
            ],
        }
        if self.with_alertmanager:
            target = f"127.0.0.1:{self.alertmanager_port}"
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
        rules = {
            "groups": [
                {
                    "name": "opsconsole",
                    "rules": [
                        {
                            "alert": rule.name,
                            "expr": rule.expr,
                            "for": rule.for_,
                            "labels": {"severity": rule.severity},
                            "annotations": {"summary": rule.summary},
                        }
                        for rule in self.rules
                    ],
                }
            ]
        }
        (self.directory / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        (self.directory / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")

    def _write_alertmanager_config(self) -> None:
        config = {
            "route": {
                "receiver": "null",
                "group_wait": "1s",
                "group_interval": "5s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "null"}],
        }
        (self.directory / "alertmanager.yml").write_text(yaml.safe_dump(config), encoding="utf-8")

    def _spawn_prometheus(self) -> subprocess.Popen[bytes]:
        return _spawn(
            [
                PROMETHEUS_BIN,
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                # Firing alerts are re-sent (and their Alertmanager lease renewed) every 5 s.
                "--rules.alert.resend-delay=5s",
            ],
            self.directory / "prometheus.log",
        )

    def _spawn_alertmanager(self) -> subprocess.Popen[bytes]:
        return _spawn(
            [
                ALERTMANAGER_BIN,
                f"--config.file={self.directory / 'alertmanager.yml'}",
                f"--storage.path={self.directory / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
                # No HA gossip: otherwise it binds *:9094 and stays "settling" for seconds.
                "--cluster.listen-address=",
            ],
            self.directory / "alertmanager.log",
        )

    def _wait_ready(
        self, name: str, process: subprocess.Popen[bytes], base: str, deadline: float
    ) -> None:
        while True:
            with contextlib.suppress(OSError):
                _get(f"{base}/-/ready")
                return
            self._check_alive(name, process)
            if time.monotonic() > deadline:
                raise PromStackError(f"{name} on {base} was not ready in time")
            time.sleep(_POLL)

    def _check_alive(self, name: str, process: subprocess.Popen[bytes] | None) -> None:
        if process is None or process.poll() is None:
            return
        log = self.directory / ("prometheus.log" if name == "Prometheus" else "alertmanager.log")
        tail = ""
        with contextlib.suppress(OSError):
            lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            tail = lines[-1][:300] if lines else ""
        raise PromStackError(f"{name} exited with status {process.returncode}: {tail}")


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _terminate(process: subprocess.Popen[bytes] | None, *, kill: bool = False) -> None:
    if process is None or process.poll() is not None:
        if process is not None:
            process.wait()
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _get(url: str) -> bytes:
    """GET ``url`` (loopback only), returning the body; any non-2xx raises OSError."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        exc.close()
        raise OSError(f"HTTP {exc.code}") from None
