"""Soak: the whole console for ``--minutes`` (30) with 500 probes, every pane and 50k tickets.

The parent process

* seeds a temp database with 50,000 tickets (``bench/tickets.py --child seed``: the same
  generated tickets as the tickets benchmark, through ``SqliteStore.bulk_insert_tickets``);
* starts the targets, none of them in the measured process: ``bench/server.py`` (its own
  process) for 500 HTTP probes ``/p/0`` … ``/p/499`` at 5 s (``[STATUS] == 200``,
  max_concurrency 20); the demo fakes on daemon threads of the parent: ``SentryFake(live=True)``
  (Sentry pane, polled every 15 s), ``DemoStatuspage(scenario="demo")`` (status page pane,
  60 s), and, when installed, ``DemoApi`` scraped by a real ``PromStack`` (Prometheus and
  Alertmanager processes: the metrics and alerts panes, 5 s) — its /health flaps (45 s up,
  20 s down), so alerts fire and resolve all along;
* runs one child: the real console from ``make_app`` (``poll=True``, a ``SqliteStore`` on
  the seeded database, ``ProbeRunner``, ``build_sources``), ``App.run(headless=True,
  size=(140, 45))``, frames rendered to escape codes as in ``bench/dashboard_lag.py``.

In the child an auto-pilot waits out ``--warmup`` (20 s), then every ``--sample`` seconds
(30) records, from inside the app's event loop: RSS (``VmRSS`` of ``/proc/self/status``),
``len(asyncio.all_tasks())``, open fds (``/proc/self/fd``), threads,
``sys.getallocatedblocks()``, and for the window just ended: keypress → repaint
percentiles, event-loop lag (10 ms ticker), probe results completed, frames, CPU.

Keys use ``bench/dashboard_lag.py``'s measurement (its ``Probe`` frame hook; keys sent as
the driver's input thread does): 0.2–0.4 s after the previous key was repainted, ``j``
(20 times) then ``k`` (20 times), round and round, on the Health pane; latency runs to the
end of rendering the first frame after its cursor moved. Once per window the Tickets
screen is opened (``t``, until its first row is shown), ``down`` is pressed 3 times and it
is closed with ``escape`` (pushing and popping a screen is where leaks like to hide); those
keys are reported apart and not in the dashboard p99.

Targets (issue 7 item 6): RSS grows by < 20 MB (last sample − first); asyncio tasks and
open fds do not grow (the largest value in the second half of the run is no larger than in
the first half); the keypress → repaint p99 of every window is < 50 ms.

Full run: ``.venv/bin/python bench/soak.py`` (30 min), or ``bench/run_all.py --only soak``.
``--minutes 5`` gives a short run; ``--quick`` means 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common as c
from tickets import src_state

PROBES = 500
TICKETS = 50_000
SIZE = (140, 45)
TARGET_RSS_GROWTH_MB = 20.0
TARGET_KEY_P99_MS = 50.0
TOKEN_ENV = "OPSCONSOLE_SOAK_SENTRY_TOKEN"
TEAM = ["Alex Doe", "Sam Lee", "Priya Nair"]


# -- child: the console --------------------------------------------------------------------


class Tracer:
    """``--trace``: for each key slower than ``SLOW_KEY`` s, what ran while it waited.

    Records the cyclic GC's middle and full collections and every screen's compositor
    refresh (layout + widget rendering) with their times; keys are matched to them at the
    end. Costs little, but it is a diagnosis aid: not for records.
    """

    SLOW_KEY = 0.030

    def __init__(self) -> None:
        import gc

        from textual.screen import Screen

        self.gcs: list[tuple[float, float, int, int]] = []
        self.frames: list[tuple[float, float, str]] = []
        self.keys: list[tuple[str, float, float, float, float]] = []
        self.cpu_shares: list[float] = []
        self._gc_start = 0.0

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_start = time.perf_counter()
            elif info["generation"] >= 1:
                self.gcs.append(
                    (self._gc_start, time.perf_counter(), info["generation"], info["collected"])
                )

        gc.callbacks.append(on_gc)
        original = Screen._compositor_refresh
        frames = self.frames

        def compositor_refresh(screen: Any) -> None:
            start = time.perf_counter()
            original(screen)
            frames.append((start, time.perf_counter(), type(screen).__name__))

        Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign,assignment]

        # Every event-loop callback over 3 ms: which task or handler held the loop.
        self.callbacks: list[tuple[float, float, str]] = []
        callbacks = self.callbacks
        handle_run = asyncio.events.Handle._run

        def timed_run(handle: Any) -> None:
            start = time.perf_counter()
            handle_run(handle)
            end = time.perf_counter()
            if end - start > 0.003:
                callback = handle._callback
                owner = getattr(callback, "__self__", None)
                name = repr(owner.get_coro()) if isinstance(owner, asyncio.Task) else repr(callback)
                if isinstance(owner, asyncio.Task):
                    frame = getattr(owner.get_coro(), "cr_frame", None)
                    pump = frame.f_locals.get("self") if frame is not None else None
                    target = getattr(pump, "_callback", None) or pump
                    name = f"{type(pump).__name__}: {getattr(target, '__qualname__', target)!r}"
                callbacks.append((start, end, name[:160]))

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]

    def key(self, key: str, start: float, latency: float, thread_cpu: float, cpu: float) -> None:
        """``thread_cpu``/``cpu``: the UI thread's and the whole process's CPU time meanwhile."""
        self.cpu_shares.append(thread_cpu / latency if latency > 0 else 1.0)
        if latency >= self.SLOW_KEY:
            self.keys.append((key, start, latency, thread_cpu, cpu))

    def finish(self) -> list[dict[str, Any]]:
        shares = sorted(self.cpu_shares)
        out: list[dict[str, Any]] = [
            {
                "key": "(every key: UI-thread CPU / latency)",
                "n": len(shares),
                "median": round(statistics.median(shares), 2) if shares else None,
            }
        ]
        for key, start, latency, thread_cpu, cpu in self.keys:
            end = start + latency
            out.append(
                {
                    "key": key,
                    "ms": round(latency * 1000, 1),
                    "ui_thread_cpu_ms": round(thread_cpu * 1000, 1),
                    "process_cpu_ms": round(cpu * 1000, 1),
                    "gc": [
                        (gen, round((b - a) * 1000, 1), n)
                        for a, b, gen, n in self.gcs
                        if a < end and b > start
                    ],
                    "frames": [
                        (name, round((b - a) * 1000, 1))
                        for a, b, name in self.frames
                        if a < end and b > start
                    ],
                    "callbacks": [
                        (name, round((b - a) * 1000, 1))
                        for a, b, name in self.callbacks
                        if a < end and b > start
                    ],
                }
            )
        return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_app(
    config_text: str,
    db: Path,
    minutes: float,
    sample: float,
    warmup: float,
    diagnose: bool = False,
    trace: bool = False,
) -> Any:
    from textual.widgets import DataTable

    from dashboard_lag import Probe
    from opsconsole.adapters.http_probe import ProbeRunner
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.app import make_app
    from opsconsole.config.loader import loads_config
    from opsconsole.polling import build_sources
    from opsconsole.screens.tickets import TicketsScreen
    from opsconsole.widgets.health_pane import HealthPane

    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = loads_config(config_text)

    async def open_store() -> SqliteStore:
        return await SqliteStore.open(db)

    app = make_app(
        config,
        store_factory=open_store,
        runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
        sources_factory=lambda: build_sources(config),
        poll=True,
    )
    # One frame hook (dashboard_lag's); what "the key took effect" means is switched per key.
    check: list[Any] = [lambda before: False]
    probe = Probe(app, lambda before: check[0](before))
    out: dict[str, Any] = {"samples": []}
    snapshots: list[Any] = []  # --diagnose with PYTHONTRACEMALLOC set

    def health_cursor() -> int:
        return int(app.query_one(HealthPane).cursor_row)

    tracer = Tracer() if trace else None

    async def press(key: str, char: str | None, state: Any, changed: Any, timeout: float) -> Any:
        from textual import events

        check[0] = changed
        probe.done.clear()
        event = events.Key(key, char)
        event.set_sender(app)
        cpu0 = (time.thread_time(), time.process_time())
        probe.pending = (time.perf_counter(), state)
        assert app._driver is not None
        app._driver.send_message(event)  # what the terminal driver's input thread does
        try:
            await asyncio.wait_for(probe.done.wait(), timeout)
        except TimeoutError:
            probe.pending = None
            return None
        latency = probe.key_latencies.pop()
        if tracer is not None:
            thread_cpu, cpu = time.thread_time() - cpu0[0], time.process_time() - cpu0[1]
            tracer.key(key, time.perf_counter() - latency, latency, thread_cpu, cpu)
        return latency

    async def pilot(_pilot: Any) -> None:
        engine = app.engine
        assert engine is not None
        listener = engine.listener
        completed = [0]
        last: dict[str, object] = {}

        def counting(status: Any) -> None:
            # Uptime refreshes re-publish old results: count new results only.
            if last.get(status.name) is not status.result:
                completed[0] += 1
            last[status.name] = status.result
            if listener is not None:
                listener(status)

        engine.listener = counting
        await asyncio.sleep(warmup)
        ticker = c.LagTicker()
        ticker.start()
        probe.measuring = True
        rng = random.Random(1)
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        end = start + minutes * 60
        window: dict[str, Any] = {}

        def take(now: float) -> dict[str, Any]:
            lag = ticker.samples[:]
            ticker.samples.clear()
            wall = now - window["t"]
            cpu = time.process_time() - window["cpu"]
            row = {
                "t_s": now - start,
                "rss_mb": rss_mb(),
                "tasks": len(asyncio.all_tasks(loop)),
                "fds": len(os.listdir("/proc/self/fd")),
                "threads": threading.active_count(),
                "blocks": sys.getallocatedblocks(),
                "keys": c.summary_ms(window["keys"]),
                "keys_missed": window["missed"],
                "tickets_keys": c.summary_ms(window["tickets_keys"]),
                "tickets_open_s": window["open"],
                "lag": c.summary_ms(lag),
                "probes_per_s": (completed[0] - window["completed"]) / wall if wall else 0.0,
                "frames_per_s": (probe.frames - window["frames"]) / wall if wall else 0.0,
                "cpu_util": cpu / wall if wall else 0.0,
                "store_error": engine.store_error,
                "screen": type(app.screen).__name__,
            }
            if diagnose:  # object counts by type (slow: not for the timed runs)
                import collections
                import gc

                counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
                out.setdefault("type_counts", []).append((row["t_s"], dict(counts)))
                import tracemalloc

                if tracemalloc.is_tracing():  # PYTHONTRACEMALLOC=N: where the bytes grew
                    snap = tracemalloc.take_snapshot()
                    snapshots.append(snap)
                    if len(snapshots) >= 3:
                        stats = snap.compare_to(snapshots[1], "lineno")
                        out["malloc_growth"] = [
                            (str(stat.traceback[0]), stat.size_diff, stat.count_diff)
                            for stat in stats[:25]
                        ]
            window.update(t=now, cpu=time.process_time(), completed=completed[0])
            window.update(frames=probe.frames, keys=[], missed=0, tickets_keys=[], open=None)
            return row

        window.update(t=start, cpu=time.process_time(), completed=completed[0])
        window.update(frames=probe.frames, keys=[], missed=0, tickets_keys=[], open=None)
        first = take(start)
        first.update(keys=None, tickets_keys=None, lag=None)  # nothing measured yet
        out["samples"].append(first)
        next_sample = start + sample
        direction, moves = "j", 0
        visit_due = True
        while True:
            now = time.perf_counter()
            if now >= next_sample:
                out["samples"].append(take(now))
                next_sample += sample
                visit_due = True
                if now >= end - 0.5:
                    break
            await asyncio.sleep(rng.uniform(0.2, 0.4))
            if visit_due and next_sample - time.perf_counter() < sample / 2:
                visit_due = False
                await tickets_visit(window)
                continue
            latency = await press(
                direction, direction, health_cursor(), lambda b: health_cursor() != b, 2.0
            )
            if latency is None:
                window["missed"] += 1
            else:
                window["keys"].append(latency)
            moves += 1
            if moves == 20:
                direction, moves = ("k" if direction == "j" else "j"), 0
        probe.measuring = False
        await ticker.stop()
        out["rows"] = app.query_one(HealthPane).row_count
        out["sources"] = sorted(app.hub.pollers) if app.hub is not None else []
        app.exit()

    async def tickets_visit(window: dict[str, Any]) -> None:
        def shown(before: Any) -> bool:
            screen = app.screen
            return isinstance(screen, TicketsScreen) and bool(screen.rows)

        window["open"] = await press("t", "t", None, shown, 5.0)
        if window["open"] is None:
            window["missed"] += 1
            return
        table = app.screen.query_one("#tickets-table", DataTable)
        for _ in range(3):
            await asyncio.sleep(0.2)
            latency = await press(
                "down", None, table.cursor_row, lambda b: table.cursor_row != b, 2.0
            )
            if latency is not None:
                window["tickets_keys"].append(latency)
        await asyncio.sleep(0.2)
        back = await press(
            "escape", None, None, lambda b: not isinstance(app.screen, TicketsScreen), 5.0
        )
        if back is None:
            window["missed"] += 1

    app.run(headless=True, size=SIZE, auto_pilot=pilot)
    if tracer is not None:
        out["slow_keys"] = tracer.finish()
    out["opsconsole"] = str(Path(sys.modules["opsconsole"].__file__ or "?").parent.parent)
    return out


# -- parent --------------------------------------------------------------------------------


class Fakes:
    """The demo fakes for the source panes (threads of this process) and Prometheus."""

    def __init__(self, with_prometheus: bool) -> None:
        from opsconsole.demo.api import DemoApi
        from opsconsole.demo.prom_stack import PromStack, PromStackError
        from opsconsole.demo.sentry_api import DEMO_TOKEN, SentryFake
        from opsconsole.demo.statuspage import DemoStatuspage

        self.token = DEMO_TOKEN
        self.sentry = SentryFake(live=True).start()
        self.api = DemoApi().start()
        self.statuspage = DemoStatuspage(scenario="demo", api_url=self.api.base_url).start()
        self.prom: Any = None
        self.prom_note = PromStack.missing_reason() if with_prometheus else "disabled"
        if self.prom_note is None:
            try:
                self.prom = PromStack([f"127.0.0.1:{self.api.port}"]).start(wait_for_targets=False)
            except PromStackError as exc:
                self.prom_note = f"did not start: {exc}"

    def config(self, server: c.Server, probes: int) -> str:
        import yaml

        urls = [server.url(f"/p/{i}") for i in range(probes)]
        document = yaml.safe_load(c.probe_config_yaml(urls, interval="5s", max_concurrency=20))
        document["operator"] = {"name": TEAM[0], "email": "alex@company.com"}
        document["team"] = TEAM
        document["sentry"] = {
            "base_url": self.sentry.base_url,
            "org": "acme",
            "projects": list(self.sentry.project_slugs),
            "token": "${" + TOKEN_ENV + "}",
            "interval": "15s",
            "timeout": "10s",
        }
        document["statuspage"] = {"url": self.statuspage.base_url}
        if self.prom is not None:
            document["prometheus"] = {
                "url": self.prom.prometheus_url,
                "interval": "5s",
                "timeout": "4s",
            }
            document["alertmanager"] = {
                "url": self.prom.alertmanager_url,
                "interval": "5s",
                "timeout": "4s",
            }
        return yaml.safe_dump(document, sort_keys=False)

    def close(self) -> None:
        for service in (self.prom, self.statuspage, self.api, self.sentry):
            if service is not None:
                service.stop()


IN_FLIGHT = 24  # 20 probes (max_concurrency) + 4 source polls: tasks and sockets in flight


def grows(values: list[float]) -> tuple[bool, float, float]:
    """(grew, max of the first half, max of the second half).

    A sample catches however many probes and polls are in flight at that moment (0 to
    ``IN_FLIGHT``, each a task and a socket), so the second half "grew" only when its
    maximum exceeds the first half's by more than that.
    """
    half = len(values) // 2
    first, second = max(values[: max(half, 1)]), max(values[half:])
    return second > first + IN_FLIGHT, first, second


def print_growth(type_counts: list[Any]) -> None:
    """--diagnose: the object types that grew most from the second sample to the last."""
    if len(type_counts) < 3:
        return
    (t0, early), (t1, late) = type_counts[1], type_counts[-1]
    grown = sorted(((late.get(k, 0) - v, k) for k, v in early.items()), reverse=True)
    new = sorted(((v, k) for k, v in late.items() if k not in early), reverse=True)
    print(f"object growth {t0:.0f}s -> {t1:.0f}s:", grown[:25], "new types:", new[:10],
          file=sys.stderr)  # fmt: skip


def slope_per_min(samples: list[dict[str, Any]], key: str) -> float:
    xs = [s["t_s"] / 60 for s in samples]
    ys = [s[key] for s in samples]
    if len(xs) < 2:
        return float("nan")
    return statistics.linear_regression(xs, ys).slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="soak length (30)")
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=PROBES)
    parser.add_argument("--tickets", type=int, default=TICKETS)
    parser.add_argument("--no-prometheus", action="store_true")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also count live objects by type at every sample (slows the app: not for records)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print each key over 30 ms with the GC runs and frames it waited for",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    minutes = 2.0 if opts.quick else opts.minutes
    if opts.child:
        text = opts.config.read_text()
        run = child_app(text, opts.db, minutes, opts.sample, opts.warmup, opts.diagnose, opts.trace)
        print(json.dumps(run))
        return

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-soak-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "soak.db"
        seed = c.run_json(
            [c.PYTHON, str(c.BENCH_DIR / "tickets.py"), "--child", "seed", "--db", str(db),
             "--now", str(time.time()), "--count", str(opts.tickets)],
            timeout=600,
        )  # fmt: skip
        fakes = Fakes(with_prometheus=not opts.no_prometheus)
        try:
            with c.Server() as server:
                config = tmp / "checks.yaml"
                config.write_text(fakes.config(server, opts.probes))
                env = {**os.environ, TOKEN_ENV: fakes.token}
                cmd = [c.PYTHON, __file__, "--child", "--config", str(config), "--db", str(db),
                       "--minutes", str(minutes), "--sample", str(opts.sample),
                       "--warmup", str(opts.warmup)]  # fmt: skip
                cmd += ["--diagnose"] if opts.diagnose else []
                cmd += ["--trace"] if opts.trace else []
                run = c.run_json(cmd, timeout=minutes * 60 + opts.warmup + 600, env=env)
                served = server.requests_served()
                if opts.diagnose:
                    print_growth(run.get("type_counts", []))
                    for where, size, count in run.get("malloc_growth", []):
                        print(
                            f"{size / 1024:+9.1f} KiB {count:+7d} blocks  {where}", file=sys.stderr
                        )
                for slow in run.get("slow_keys", []):
                    print(json.dumps(slow), file=sys.stderr)
            sentry_requests = len(fakes.sentry.requests)
            statuspage_requests = fakes.statuspage.requests
            prom_note = fakes.prom_note
        finally:
            fakes.close()
    c.emit(
        result(
            opts, minutes, seed, run, served, sentry_requests, statuspage_requests, prom_note,
            time.time() - started,
        )
    )  # fmt: skip


def result(
    opts: argparse.Namespace,
    minutes: float,
    seed: dict[str, Any],
    run: dict[str, Any],
    served: int,
    sentry_requests: int,
    statuspage_requests: int,
    prom_note: str | None,
    elapsed: float,
) -> dict[str, Any]:
    samples = run["samples"]
    first, last = samples[0], samples[-1]
    measured = samples[1:]
    rss_growth = last["rss_mb"] - first["rss_mb"]
    task_grew, task_a, task_b = grows([s["tasks"] for s in samples])
    fd_grew, fd_a, fd_b = grows([s["fds"] for s in samples])
    window_p99 = [s["keys"]["p99"] for s in measured if s["keys"]["n"]]
    worst_p99 = max(window_p99) if window_p99 else float("nan")
    all_keys_missed = sum(s["keys_missed"] for s in measured)
    lag_p99 = [s["lag"]["p99"] for s in measured if s["lag"]["n"]]
    opens = [s["tickets_open_s"] * 1000 for s in measured if s["tickets_open_s"] is not None]
    tk99 = [s["tickets_keys"]["p99"] for s in measured if s["tickets_keys"]["n"]]
    label = f"{minutes:g}-minute run" + (" (of the 30-minute soak)" if minutes < 30 else "")
    rows = [
        c.row(f"RSS growth, last − first sample ({label})", rss_growth, unit="MB",
              baseline=first["rss_mb"], target=f"< {TARGET_RSS_GROWTH_MB:.0f} MB",
              met=rss_growth < TARGET_RSS_GROWTH_MB),
        c.row("RSS trend (least-squares slope)", slope_per_min(samples, "rss_mb"),
              unit="MB/min"),
        c.row(f"asyncio tasks, max in 2nd half (1st half max {task_a:.0f})", task_b,
              baseline=task_a, target=f"does not grow (± {IN_FLIGHT} in flight)",
              met=not task_grew),
        c.row("asyncio tasks trend (least-squares slope)", slope_per_min(samples, "tasks"),
              unit="/min"),
        c.row(f"open fds, max in 2nd half (1st half max {fd_a:.0f})", fd_b, baseline=fd_a,
              target=f"does not grow (± {IN_FLIGHT} in flight)", met=not fd_grew),
        c.row("open fds trend (least-squares slope)", slope_per_min(samples, "fds"),
              unit="/min"),
        c.row(f"keypress → repaint p99, worst {opts.sample:g} s window "
              f"({len(window_p99)} windows)", worst_p99, unit="ms",
              target=f"< {TARGET_KEY_P99_MS:.0f} ms in every window",
              met=worst_p99 < TARGET_KEY_P99_MS),
        c.row("keypress → repaint p99, median window", statistics.median(window_p99)
              if window_p99 else None, unit="ms"),
        c.row("event-loop lag p99, worst window", max(lag_p99) if lag_p99 else None, unit="ms"),
        c.row("Tickets screen open (t → first row), median of windows",
              statistics.median(opens) if opens else None, unit="ms"),
        c.row("Tickets screen `down` p99, worst window", max(tk99) if tk99 else None,
              unit="ms"),
        c.row("probe results completed/s, mean",
              statistics.fmean(s["probes_per_s"] for s in measured), unit="/s",
              baseline=opts.probes / 5.0),
    ]  # fmt: skip
    trend = [
        "| t | RSS MB | tasks | fds | threads | alloc blocks | keys n | key p50 ms | key p99 ms "
        "| lag p99 ms | probes/s | CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ms(summary: dict[str, float] | None, q: str) -> str:
        return f"{summary[q]:.1f}" if summary and summary["n"] else "—"

    for s in samples:
        keys, lag = s["keys"], s["lag"]
        trend.append(
            f"| {s['t_s'] / 60:.1f} min | {s['rss_mb']:.1f} | {s['tasks']} | {s['fds']} "
            f"| {s['threads']} | {s['blocks']:,} | {keys['n'] if keys else '—'} "
            f"| {ms(keys, 'p50')} | {ms(keys, 'p99')} | {ms(lag, 'p99')} "
            f"| {s['probes_per_s']:.0f} | {s['cpu_util'] * 100:.0f} |"
        )
    errors = sorted({s["store_error"] for s in samples if s.get("store_error")})
    notes = [
        f"{label.capitalize()}: samples every {opts.sample:g} s after a {opts.warmup:g} s "
        f"warm-up. Full soak: `.venv/bin/python bench/soak.py` (30 min) or "
        "`.venv/bin/python bench/run_all.py --only soak`.",
        f"Seeded {seed['counts']['total']:,} tickets ({seed['counts']['all_open']:,} open) in "
        f"{seed['insert_s']:.1f} s; database {seed['db_mb']:.0f} MB. Sources polled: "
        f"{', '.join(run['sources']) or 'none'}"
        + (f" (Prometheus/Alertmanager: {prom_note})" if prom_note else "")
        + f"; bench server answered {served:,} probe requests; Sentry fake "
        f"{sentry_requests:,} requests, status page {statuspage_requests:,}.",
        f"{src_state(run['opsconsole'])}. "
        f"Keys with no repaint within 2 s (5 s for the Tickets screen): {all_keys_missed}. "
        f"Health pane rows at the end: {run['rows']}."
        + (f" Store errors: {'; '.join(errors)}." if errors else ""),
        "Baselines: the RSS row's baseline is the first sample; the tasks/fds rows compare "
        "with the first half's maximum; probes/s with the schedule (probes ÷ 5 s).",
    ]
    markdown = [
        f"Trend, {label} (first row: right after the warm-up; each later row: the "
        "window ending then):",
        "",
        *trend,
        "",
    ]
    return {
        "benchmark": "soak",
        "title": f"Soak: {opts.probes} probes at 5 s, every pane, {opts.tickets:,} tickets, "
        f"{minutes:g} min",
        "params": {
            "minutes": minutes,
            "probes": f"{opts.probes} HTTP at 5 s (bench/server.py)",
            "panes": "health, ticket queue, Sentry (SentryFake live), status page "
            "(DemoStatuspage), metrics + alerts (PromStack on DemoApi)"
            if prom_note is None
            else "health, ticket queue, Sentry, status page",
            "tickets": opts.tickets,
            "keys": "j×20 / k×20 on the Health pane, 0.2–0.4 s apart; Tickets screen visit "
            "once per window",
            "size": f"{SIZE[0]}x{SIZE[1]} headless, frames rendered to escape codes",
        },
        "rows": rows,
        "raw": {"seed": seed, "run": run, "elapsed_s": elapsed},
        "notes": notes,
        "markdown": markdown,
    }


if __name__ == "__main__":
    main()
