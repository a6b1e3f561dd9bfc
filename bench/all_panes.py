"""Every pane polling: event-loop lag and keypress-to-repaint of the full dashboard.

Issue 3 item 10: Sentry every 60 s, 8 metric queries every 15 s and 500 probes every 5 s;
targets: event-loop lag p99 < 20 ms and keypress-to-repaint p99 < 50 ms.

Processes:

* ``bench/server.py``: the probe target (500 HTTP probes ``/p/0`` … ``/p/499``).
* ``--child fakes``: the demo services in their own process: ``DemoApi`` (the exporter
  with synthetic traffic), ``SentryFake(live=True)``, ``DemoStatuspage(scenario="demo")``
  and, when installed, ``PromStack`` (real Prometheus scraping the DemoApi every 1 s, and
  a real Alertmanager receiving the demo alert rules).
* ``--child bare`` (baseline): a bare Textual app (Header + Static + Footer) with the same
  keys (``j``/``down`` update the Static, ``t`` pushes a screen, ``escape`` pops it).
* ``--child dashboard``: the real app from ``make_app`` with a ``SqliteStore`` on a temp
  database, ``ProbeRunner``, ``build_sources`` and ``poll=True``: 500 probes at 5 s
  (max_concurrency 20), Sentry at 60 s (timeout 15 s), Prometheus at 15 s with 8 queries
  (the 4 defaults + 4 more; each is an instant and a range query, plus the ``ALERTS``
  history query of the alerts pane), Alertmanager at 30 s, the status page at 60 s.
* ``--child probes`` (info): the same dashboard with the sources left out of the config,
  to tell the sources' cost from the probes'.

Measurement, as in ``bench/dashboard_lag.py``: 140x45 headless, frames rendered to escape
codes by a wrapper around ``App._display``; a 10 ms ``asyncio.sleep`` ticker in the app's
loop; keys sent the way the terminal driver's input thread does, 0.2–0.4 s after the
previous key's repaint; keypress-to-repaint runs to the end of rendering the first frame
that shows the key's effect (cursor moved; Tickets screen on screen; back on the dashboard).
The window (55 s after a 10 s warm-up) is long enough to contain the second poll of the
60 s sources: their first poll lands in the warm-up. ``--quick``: 28 s after 5 s, so the
60 s sources poll only in the warm-up (the notes say which sources polled in the window).

The dashboard child also times, while measuring: ``Widget.render_lines`` per widget class,
``HealthPane.flush``, ``SourcePane.apply`` per pane, and full (generation-2) garbage
collections; every ticker wake-up later than 20 ms is attributed to the instrumented work
that overlapped it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import _common as c

PROBES = 500
PROBE_INTERVAL = "5s"
TARGET_LAG_P99_MS = 20.0
TARGET_KEY_P99_MS = 50.0
STALL_MS = 20.0
SIZE = (140, 45)
# Keys, cycled: cursor moves in the health table, then the Tickets screen open/close.
KEY_CYCLE = ("j", "down", "j", "down", "j", "down", "j", "down", "t", "escape")

# The example config's 4 default queries (config.sources.DEFAULT_QUERIES) plus these 4.
EXTRA_QUERIES = [
    {
        "name": "p99 latency, worst route",
        "query": "histogram_quantile(0.99, sum by (le, route) "
        "(rate(http_request_duration_seconds_bucket[5m]))) * 1000",
        "unit": "ms",
        "warn": 1500,
        "crit": 3000,
    },
    {
        "name": "p50 latency",
        "query": "histogram_quantile(0.5, sum by (le) "
        "(rate(http_request_duration_seconds_bucket[5m]))) * 1000",
        "unit": "ms",
        "warn": 300,
        "crit": 800,
    },
    {
        "name": "4xx rate",
        "query": '100 * (sum(rate(http_requests_total{status=~"4.."}[5m])) or vector(0)) '
        "/ sum(rate(http_requests_total[5m]))",
        "unit": "%",
        "warn": 5,
        "crit": 10,
    },
    {
        "name": "scrape availability",
        "query": 'avg_over_time(up{job="api"}[5m]) * 100',
        "unit": "%",
    },
]


# -- fakes (separate process) --------------------------------------------------------------


def child_fakes() -> None:
    """Start the demo services, print their addresses as JSON, serve until stdin closes."""
    from opsconsole.demo.api import DemoApi
    from opsconsole.demo.prom_stack import PromStack, PromStackError
    from opsconsole.demo.sentry_api import DEMO_TOKEN, SentryFake
    from opsconsole.demo.statuspage import DemoStatuspage

    api = DemoApi().start()
    sentry = SentryFake(live=True).start()
    page = DemoStatuspage(scenario="demo", api_url=api.base_url).start()
    prom: PromStack | None = None
    reason = PromStack.missing_reason()
    if reason is None:
        try:
            prom = PromStack([f"127.0.0.1:{api.port}"]).start(wait_for_targets=True)
        except PromStackError as exc:
            reason = f"Prometheus did not start: {exc}"
    info = {
        "sentry_url": sentry.base_url,
        "sentry_token": DEMO_TOKEN,
        "sentry_projects": list(sentry.project_slugs),
        "statuspage_url": page.base_url,
        "prometheus_url": prom.prometheus_url if prom else None,
        "alertmanager_url": prom.alertmanager_url if prom else None,
        "prom_missing": reason,
    }
    print(json.dumps(info), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def stop_at_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_at_eof, daemon=True).start()
    stop.wait()
    info2 = {"sentry_requests": len(sentry.requests), "statuspage_requests": page.requests}
    for service in (prom, page, sentry, api):
        if service is not None:
            service.stop()
    print(json.dumps(info2), flush=True)


class Fakes:
    """Run ``--child fakes`` and read the services' addresses."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [c.PYTHON, __file__, "--child", "fakes"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the fakes process did not start")
        self.info: dict[str, Any] = json.loads(line)

    def close(self) -> dict[str, Any]:
        try:
            out, _ = self.proc.communicate(input="", timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        lines = [ln for ln in out.splitlines() if ln.strip()]
        return json.loads(lines[-1]) if lines else {}


def config_yaml(port: int, count: int, fakes: dict[str, Any] | None) -> str:
    """500 probes at 5 s; with ``fakes``, every source section too."""
    import yaml

    urls = [f"http://127.0.0.1:{port}/p/{i}" for i in range(count)]
    doc = yaml.safe_load(c.probe_config_yaml(urls, interval=PROBE_INTERVAL, max_concurrency=20))
    if fakes is None:
        return yaml.safe_dump(doc, sort_keys=False)
    from opsconsole.config.sources import DEFAULT_QUERIES

    doc["sentry"] = {
        "base_url": fakes["sentry_url"],
        "org": "acme",
        "projects": fakes["sentry_projects"],
        "token": fakes["sentry_token"],
        "interval": "60s",
        "timeout": "15s",
    }
    if fakes["prometheus_url"]:
        queries = [q.model_dump(exclude_none=True) for q in DEFAULT_QUERIES] + EXTRA_QUERIES
        doc["prometheus"] = {
            "url": fakes["prometheus_url"],
            "interval": "15s",
            "timeout": "10s",
            "queries": queries,
        }
        doc["alertmanager"] = {
            "url": fakes["alertmanager_url"],
            "interval": "30s",
            "timeout": "10s",
        }
    doc["statuspage"] = {"url": fakes["statuspage_url"], "interval": "60s", "timeout": "10s"}
    return yaml.safe_dump(doc, sort_keys=False)


# -- measurement (inside the app process) --------------------------------------------------


class Spans:
    """Timed intervals of instrumented work (only while ``on``)."""

    def __init__(self) -> None:
        self.on = False
        self.items: list[tuple[float, float, str]] = []  # (start, end, label)

    def add(self, start: float, end: float, label: str) -> None:
        if self.on:
            self.items.append((start, end, label))

    def totals(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"n": 0, "total_ms": 0.0})
        for start, end, label in self.items:
            entry = out[label]
            entry["n"] += 1
            entry["total_ms"] += (end - start) * 1000
            entry["max_ms"] = max(entry.get("max_ms", 0.0), (end - start) * 1000)
        return dict(out)


def instrument(spans: Spans) -> None:
    """Time render_lines per widget class, HealthPane.flush, SourcePane.apply, gen-2 GCs."""
    from textual.screen import Screen
    from textual.widget import Widget

    from opsconsole.widgets.health_pane import HealthPane
    from opsconsole.widgets.source_pane import SourcePane

    clock = time.perf_counter

    def wrap(owner: type, name: str, prefix: str) -> None:
        original = getattr(owner, name)

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return original(self, *args, **kwargs)
            finally:
                label = name if prefix == "screen" else type(self).__name__
                spans.add(start, clock(), f"{prefix} {label}")

        setattr(owner, name, timed)

    wrap(Widget, "render_lines", "render_lines")
    wrap(Screen, "_refresh_layout", "screen")
    wrap(Screen, "_compositor_refresh", "screen")
    wrap(HealthPane, "flush", "flush")
    wrap(SourcePane, "apply", "apply")
    gc_start: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_start[:] = [clock()]
        elif gc_start:
            spans.add(gc_start[0], clock(), "gc generation 2")

    gc.callbacks.append(on_gc)


class TimedTicker(c.LagTicker):
    """``LagTicker`` that also keeps when each wake-up happened."""

    def __init__(self) -> None:
        super().__init__()
        self.stamped: list[tuple[float, float]] = []  # (wake-up time, lag)

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            before = clock()
            await asyncio.sleep(self.period)
            now = clock()
            lag = max(0.0, now - before - self.period)
            self.samples.append(lag)
            self.stamped.append((now, lag))


class Meter:
    """Frame hook and key bookkeeping (the approach of dashboard_lag.Probe, several keys)."""

    def __init__(self, app: Any, checks: dict[str, Any]) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.checks = checks  # key -> callable(screen, before) -> bool (key took effect)
        self.frames = 0
        self.render_s = 0.0
        self.measuring = False
        self.pending: tuple[float, str, Any] | None = None
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.done = asyncio.Event()
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if isinstance(renderable, CompositorUpdate) and app._running and not app._batch_count:
                start = time.perf_counter()
                renderable.render_segments(app.console)
                now = time.perf_counter()
                if self.measuring:
                    self.frames += 1
                    self.render_s += now - start
                pending = self.pending
                if pending is not None and self.checks[pending[1]](screen, pending[2]):
                    self.latencies[pending[1]].append(now - pending[0])
                    self.pending = None
                    self.done.set()

        app._display = display

    async def drive(
        self, state: Any, warmup: float, duration: float, spans: Spans | None = None
    ) -> dict[str, Any]:
        from textual import events

        await asyncio.sleep(warmup)
        screen = self.app.screen
        compositor_refresh = screen._compositor_refresh
        frame_times: list[float] = []

        def timed_refresh() -> None:
            start = time.perf_counter()
            compositor_refresh()
            if self.measuring:
                frame_times.append(time.perf_counter() - start)

        screen._compositor_refresh = timed_refresh
        ticker = TimedTicker()
        ticker.start()
        self.measuring = True
        if spans is not None:
            spans.on = True
        gc0 = gc.get_stats()[2]["collections"]
        wall0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
        end = wall0 + duration
        rng = random.Random(1)
        missed: dict[str, int] = defaultdict(int)
        index = 0
        skip_escape = False
        while time.perf_counter() < end:
            name = KEY_CYCLE[index % len(KEY_CYCLE)]
            index += 1
            if name == "escape" and skip_escape:
                continue
            await asyncio.sleep(rng.uniform(0.2, 0.4))
            self.done.clear()
            key = events.Key(name, "\x1b" if name == "escape" else name if name != "down" else None)
            key.set_sender(self.app)
            self.pending = (time.perf_counter(), name, state())
            # What the terminal driver's input thread does for a keystroke.
            self.app._driver.send_message(key)
            try:
                await asyncio.wait_for(self.done.wait(), 2.0)
                skip_escape = False
            except TimeoutError:
                missed[name] += 1
                self.pending = None
                skip_escape = name == "t"
        wall = time.perf_counter() - wall0
        cpu, main = time.process_time() - cpu0, time.thread_time() - main0
        gc2 = gc.get_stats()[2]["collections"] - gc0
        self.measuring = False
        if spans is not None:
            spans.on = False
        lag = await ticker.stop()
        movement = self.latencies["j"] + self.latencies["down"]
        every = [v for values in self.latencies.values() for v in values]
        out = {
            "wall_s": wall,
            "wall0": wall0,
            "cpu_util": cpu / wall,
            "loop_thread_cpu_util": main / wall,
            "frames_per_s": self.frames / wall,
            "render_ms_per_frame": self.render_s / max(self.frames, 1) * 1000.0,
            "frame_ms": c.summary_ms(frame_times),
            "lag_ms": c.summary_ms(lag),
            "key_ms": {
                "all": c.summary_ms(every),
                "move": c.summary_ms(movement),
                "t": c.summary_ms(self.latencies["t"]),
                "escape": c.summary_ms(self.latencies["escape"]),
            },
            "keys_missed": dict(missed),
            "gc2": gc2,
        }
        if spans is not None:
            out["attribution"] = attribute(ticker.stamped, spans)
            out["spans"] = spans.totals()
        return out


def attribute(stamped: list[tuple[float, float]], spans: Spans) -> dict[str, Any]:
    """For every wake-up later than STALL_MS: the instrumented work that overlapped it most.

    A stall is blamed on a generation-2 GC when one covers at least 30 % of it; else on the
    widget ``render_lines``, ``flush`` or ``apply`` with the largest overlap (≥ 30 %); else
    on the rest of the frame (layout, compositor) when that covers ≥ 30 %; else it is left
    to work that is not instrumented (probe runs, the store, message handling).
    """
    stalls = [(now, lag) for now, lag in stamped if lag * 1000 > STALL_MS]
    count: dict[str, int] = defaultdict(int)
    late_ms: dict[str, float] = defaultdict(float)
    for now, lag in stalls:
        start = now - lag - 0.010  # from the sleep's due time minus one period
        overlap: dict[str, float] = defaultdict(float)
        for s_start, s_end, label in spans.items:
            lo, hi = max(start, s_start), min(now, s_end)
            if hi > lo:
                overlap[label] += hi - lo
        span = now - start
        leaves = {k: v for k, v in overlap.items() if not k.startswith(("screen ", "gc "))}
        frame = max(overlap.get("screen _refresh_layout", 0.0),
                    overlap.get("screen _compositor_refresh", 0.0))  # fmt: skip
        if overlap.get("gc generation 2", 0.0) >= 0.3 * span:
            culprit = "gc generation 2"
        elif leaves and max(leaves.values()) >= 0.3 * span:
            culprit = max(leaves, key=lambda k: leaves[k])
        elif frame >= 0.3 * span:
            culprit = "rest of the frame (layout, compositor)"
        else:
            culprit = "not instrumented (probes, store, messages)"
        count[culprit] += 1
        late_ms[culprit] += lag * 1000
    return {
        "stalls": len(stalls),
        "stall_ms_total": sum(lag for _, lag in stalls) * 1000,
        "by_culprit": {
            k: {"stalls": count[k], "late_ms": late_ms[k]}
            for k in sorted(count, key=lambda k: -late_ms[k])
        },
    }


def child_bare(warmup: float, duration: float) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.screen import Screen
    from textual.widgets import Footer, Header, Static

    class Other(Screen[None]):
        BINDINGS = [("escape", "app.pop_screen", "Back")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("another screen")
            yield Footer()

    class Bare(App[None]):
        BINDINGS = [("j", "bump", "Bump"), ("down", "bump", "Bump"), ("t", "other", "Other")]
        presses = 0

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("presses: 0", id="text")
            yield Footer()

        def action_bump(self) -> None:
            self.presses += 1
            self.query_one("#text", Static).update(f"presses: {self.presses}")

        def action_other(self) -> None:
            self.push_screen(Other())

    app = Bare()
    checks = {
        "j": lambda screen, before: app.presses != before,
        "down": lambda screen, before: app.presses != before,
        "t": lambda screen, before: isinstance(screen, Other),
        "escape": lambda screen, before: not isinstance(screen, Other),
    }
    meter = Meter(app, checks)
    out: dict[str, Any] = {}

    async def pilot(p: Any) -> None:
        out.update(await meter.drive(lambda: app.presses, warmup, duration))
        app.exit()

    app.run(headless=True, size=SIZE, auto_pilot=pilot)
    return out


def child_dashboard(
    config_path: str, warmup: float, duration: float, with_sources: bool
) -> dict[str, Any]:
    from opsconsole.adapters.http_probe import ProbeRunner
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.app import make_app
    from opsconsole.config.loader import loads_config
    from opsconsole.polling import build_sources
    from opsconsole.screens.tickets import TicketsScreen
    from opsconsole.widgets.health_pane import HealthPane

    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = loads_config(Path(config_path).read_text())
    spans = Spans()
    instrument(spans)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-panes-") as tmp:

        async def open_store() -> SqliteStore:
            return await SqliteStore.open(Path(tmp) / "history.db")

        app = make_app(
            config,
            store_factory=open_store,
            runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
            sources_factory=(lambda: build_sources(config)) if with_sources else None,
            poll=True,
        )

        def cursor() -> int:
            return int(app.query_one(HealthPane).cursor_row)

        checks = {
            "j": lambda screen, before: cursor() != before,
            "down": lambda screen, before: cursor() != before,
            "t": lambda screen, before: isinstance(screen, TicketsScreen),
            "escape": lambda screen, before: screen is app.screen_stack[0],
        }
        meter = Meter(app, checks)

        def state() -> int | None:
            return cursor() if app.screen is app.screen_stack[0] else None

        async def pilot(p: Any) -> None:
            engine = app.engine
            assert engine is not None
            listener = engine.listener
            completed = 0
            last: dict[str, object] = {}

            def counting(status: Any) -> None:
                nonlocal completed
                if meter.measuring and last.get(status.name) is not status.result:
                    completed += 1
                last[status.name] = status.result
                if listener is not None:
                    listener(status)

            engine.listener = counting
            polls: list[dict[str, Any]] = []
            if app.hub is not None:
                for poller in app.hub.pollers.values():
                    original = poller.poll_once

                    async def timed(poller: Any = poller, original: Any = original) -> Any:
                        start = time.perf_counter()
                        status = await original()
                        polls.append(
                            {
                                "source": poller.name,
                                "start": start,
                                "ms": (time.perf_counter() - start) * 1000,
                                "error": status.error,
                            }
                        )
                        return status

                    poller.poll_once = timed  # type: ignore[method-assign]
            out.update(await meter.drive(state, warmup, duration, spans))
            wall0 = out.pop("wall0")
            window = [p for p in polls if wall0 <= p["start"] <= wall0 + out["wall_s"]]
            for p in window:
                p["at_s"] = p.pop("start") - wall0
            out["polls"] = window
            out["sources"] = sorted(app.hub.pollers) if app.hub is not None else []
            out["probes_per_s"] = completed / out["wall_s"]
            out["rows"] = app.query_one(HealthPane).row_count
            out["store_error"] = engine.store_error
            out["opsconsole_from"] = str(Path(sys.modules["opsconsole"].__file__ or "").parent)
            app.exit()

        app.run(headless=True, size=SIZE, auto_pilot=pilot)
    return out


# -- parent --------------------------------------------------------------------------------


def key_rows(dash: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    labels = {
        "all": "all keys",
        "move": "`j`/`down` in the health table",
        "t": "`t` → Tickets screen",
        "escape": "`escape` → back to the dashboard",
    }
    for kind, label in labels.items():
        d, b = dash["key_ms"][kind], base["key_ms"][kind]
        qs = ("p50", "p95", "p99", "max") if kind in ("all", "move") else ("p50", "p99")
        for q in qs:
            target = met = None
            if q == "p99" and kind == "all":
                target, met = f"< {TARGET_KEY_P99_MS:.0f} ms", d[q] < TARGET_KEY_P99_MS
            rows.append(
                c.row(
                    f"keypress → repaint {q}, {label} (n={d['n']})",
                    d[q],
                    unit="ms",
                    baseline=b[q],
                    target=target,
                    met=met,
                )
            )
    return rows


def notes_for(
    dash: dict[str, Any],
    probes_only: dict[str, Any] | None,
    base: dict[str, Any],
    fakes: dict[str, Any],
    served: dict[str, Any],
) -> list[str]:
    notes = []
    if fakes.get("prom_missing"):
        notes.append(
            f"**Metrics and alerts panes off:** {fakes['prom_missing']}. Only the probes, "
            "Sentry and the status page polled."
        )
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for poll in dash["polls"]:
        by_source[poll["source"]].append(poll)
    parts = []
    for name in dash["sources"]:
        polls = by_source.get(name, [])
        if not polls:
            parts.append(f"{name}: none in the window (first poll in the warm-up)")
            continue
        errors = [p["error"] for p in polls if p["error"]]
        text = ", ".join(f"{p['ms']:.0f} ms at {p['at_s']:.0f} s" for p in polls)
        parts.append(
            f"{name}: {len(polls)} ({text})" + (f", errors: {errors[:2]}" if errors else "")
        )
    notes.append("Source polls that started in the window (wall time): " + "; ".join(parts))
    att = dash.get("attribution", {})
    if att:
        blame = "; ".join(
            f"{k}: {v['stalls']} ({v['late_ms']:.0f} ms)" for k, v in att["by_culprit"].items()
        )
        notes.append(
            f"Ticker wake-ups later than {STALL_MS:.0f} ms: {att['stalls']} "
            f"({att['stall_ms_total']:.0f} ms late in total), by what overlapped them most: "
            f"{blame or '—'}."
        )
    spans = dash.get("spans", {})
    if spans:
        heavy = sorted(spans.items(), key=lambda kv: -kv[1]["total_ms"])[:8]
        notes.append(
            "Instrumented work in the window (total / calls / max): "
            + "; ".join(
                f"{k} {v['total_ms']:.0f} ms / {v['n']:.0f} / {v['max_ms']:.1f} ms"
                for k, v in heavy
            )
            + f"; generation-2 GCs: {dash['gc2']}."
        )
    missed = {"dashboard": dash["keys_missed"], "bare": base["keys_missed"]}
    if probes_only is not None:
        missed["probes only"] = probes_only["keys_missed"]
    notes.append(
        f"Keys without a repaint within 2 s: {missed}; table rows at the end: {dash['rows']}. "
        "`t` is timed to the first frame of the Tickets screen (its rows load in a worker; "
        "the ticket table is empty here)."
    )
    if served:
        notes.append(
            f"The fakes answered {served.get('sentry_requests', '?')} Sentry and "
            f"{served.get('statuspage_requests', '?')} status-page requests during the "
            "dashboard run (warm-up included); only that run uses the fakes."
        )
    notes.append(f"opsconsole imported from {dash['opsconsole_from']}.")
    if dash.get("store_error"):
        notes.append(f"store error: {dash['store_error']}")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="28 s window after 5 s")
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--count", type=int, default=PROBES)
    parser.add_argument(
        "--no-probes-only", action="store_true", help="skip the probes-only info run"
    )
    parser.add_argument(
        "--child", choices=["fakes", "bare", "dashboard", "probes"], help=argparse.SUPPRESS
    )
    parser.add_argument("--config", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    duration = opts.duration or (28.0 if opts.quick else 55.0)
    warmup = opts.warmup if opts.warmup is not None else (5.0 if opts.quick else 10.0)

    if opts.child == "fakes":
        child_fakes()
        return
    if opts.child == "bare":
        print(json.dumps(child_bare(warmup, duration)))
        return
    if opts.child in ("dashboard", "probes"):
        result = child_dashboard(opts.config, warmup, duration, opts.child == "dashboard")
        print(json.dumps(result))
        return

    timeout = warmup + duration + 120
    times = ["--warmup", str(warmup), "--duration", str(duration)]
    env = {k: v for k, v in os.environ.items() if not k.endswith("SENTRY_DSN")}
    base = c.run_json([c.PYTHON, __file__, "--child", "bare", *times], timeout=timeout, env=env)
    probes_only = None
    with c.Server() as server, tempfile.TemporaryDirectory(prefix="opsconsole-panes-") as tmp:
        fakes = Fakes()
        try:
            full_cfg = Path(tmp) / "all.yaml"
            full_cfg.write_text(config_yaml(server.port, opts.count, fakes.info))
            dash = c.run_json(
                [c.PYTHON, __file__, "--child", "dashboard", "--config", str(full_cfg), *times],
                timeout=timeout,
                env=env,
            )
        finally:
            served = fakes.close()
        if not opts.no_probes_only:
            probes_cfg = Path(tmp) / "probes.yaml"
            probes_cfg.write_text(config_yaml(server.port, opts.count, None))
            probes_only = c.run_json(
                [c.PYTHON, __file__, "--child", "probes", "--config", str(probes_cfg), *times],
                timeout=timeout,
                env=env,
            )

    rows = []
    for q in ("p50", "p90", "p99", "max"):
        target = f"< {TARGET_LAG_P99_MS:.0f} ms" if q == "p99" else None
        rows.append(
            c.row(
                f"event-loop lag {q}",
                dash["lag_ms"][q],
                unit="ms",
                baseline=base["lag_ms"][q],
                target=target,
                met=dash["lag_ms"][q] < TARGET_LAG_P99_MS if target else None,
            )
        )
    rows += key_rows(dash, base)
    expected = opts.count / 5.0
    rows += [
        c.row("probes completed/s", dash["probes_per_s"], unit="/s",
              target=f"≥ {expected * 0.98:.0f}/s (schedule kept)",
              met=dash["probes_per_s"] >= expected * 0.98),
        c.row("process CPU (one core = 100 %)", dash["cpu_util"] * 100, unit="%",
              baseline=base["cpu_util"] * 100),
        c.row("event-loop thread CPU", dash["loop_thread_cpu_util"] * 100, unit="%",
              baseline=base["loop_thread_cpu_util"] * 100),
        c.row("frames rendered/s", dash["frames_per_s"], unit="/s", baseline=base["frames_per_s"]),
        c.row("frame time p50 (compositor + escape codes)", dash["frame_ms"]["p50"], unit="ms",
              baseline=base["frame_ms"]["p50"]),
        c.row("frame time p99", dash["frame_ms"]["p99"], unit="ms",
              baseline=base["frame_ms"]["p99"]),
    ]  # fmt: skip
    if probes_only is not None:
        rows += [
            c.row("info, probes only (no source panes): event-loop lag p99",
                  probes_only["lag_ms"]["p99"], unit="ms", baseline=base["lag_ms"]["p99"]),
            c.row("info, probes only: event-loop lag max", probes_only["lag_ms"]["max"],
                  unit="ms", baseline=base["lag_ms"]["max"]),
            c.row(f"info, probes only: keypress → repaint p99, all keys "
                  f"(n={probes_only['key_ms']['all']['n']})",
                  probes_only["key_ms"]["all"]["p99"], unit="ms",
                  baseline=base["key_ms"]["all"]["p99"]),
            c.row("info, probes only: process CPU", probes_only["cpu_util"] * 100, unit="%",
                  baseline=base["cpu_util"] * 100),
        ]  # fmt: skip
    notes = notes_for(dash, probes_only, base, fakes.info, served)
    panes = "health, tickets queue, " + ", ".join(dash["sources"])
    c.emit(
        {
            "benchmark": "all_panes",
            "title": f"All panes polling: {opts.count} probes at 5 s, Sentry, 8 metric "
            f"queries, alerts, status page; {duration:g} s window, 140x45",
            "params": {
                "probes": f"{opts.count} HTTP at 5 s (bench/server.py, separate process)",
                "sentry": "SentryFake(live=True), separate process, every 60 s (timeout 15 s)",
                "metrics": "real Prometheus scraping DemoApi (1 s), 8 queries (instant + "
                "range each) every 15 s (timeout 10 s)"
                if not fakes.info.get("prom_missing")
                else "off (Prometheus missing)",
                "alerts": "real Alertmanager every 30 s + ALERTS history"
                if not fakes.info.get("prom_missing")
                else "off",
                "statuspage": "DemoStatuspage every 60 s",
                "panes shown": panes,
                "window s": duration,
                "warmup s": warmup,
                "keys": "cycle j, down ×4, then t, escape; 0.2–0.4 s after each repaint",
                "baseline": "bare Textual app (Header + Static + Footer; j/down update the "
                "Static, t pushes a screen, escape pops it), same ticker and keys",
            },
            "rows": rows,
            "raw": {"dashboard": dash, "probes_only": probes_only, "bare": base},
            "notes": notes,
        }
    )


if __name__ == "__main__":
    main()
