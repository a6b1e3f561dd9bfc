"""Probe throughput and CPU: 500 HTTP probes at a 1 s interval against a local server.

The server (``bench/server.py``, asyncio, HTTP/1.1 keep-alive, TCP_NODELAY) runs in its own
process; each variant below runs in a fresh child process so its CPU time is its own:

* ``raw`` (baseline): one shared ``httpx.AsyncClient`` (same limits and ``trust_env=False``
  as ``ProbeRunner``), ``asyncio.Semaphore(20)``, 500 tasks each sleeping until its next
  1 s slot (first slots spread over 1 s), then ``GET`` and check ``status == 200``.
* ``engine``: the real ``ProbeEngine`` + ``ProbeRunner(max_concurrency=20)``, config from
  ``loads_config`` (500 probes ``/p/0`` … ``/p/499``, interval 1s, ``[STATUS] == 200``),
  ``store=None``; results counted by the engine's listener.
* ``engine+store``: the same with a real ``SqliteStore`` on a temp database.

After a warm-up, each variant is measured for the window: probes completed per second,
process CPU time (``time.process_time``: all threads of the child, not the server) per
probe, probe latency, and event-loop lag from a 10 ms ``asyncio.sleep`` ticker in the
same loop. Full run: 60 s per variant; ``--quick``: 30 s; each split into 3 rounds that
interleave the variants (rotating order, fresh child each time, 3 s warm-up), pooled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

PROBES = 500
INTERVAL = 1.0
CONCURRENCY = 20
TARGET_CPU_RATIO = 1.25
TARGET_LAG_P99_MS = 50.0  # RELIABILITY-AND-PERFORMANCE.md §B3


def _urls(port: int, count: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/p/{i}" for i in range(count)]


class Window:
    """Counts completions, latencies and CPU between ``open()`` and ``close()``."""

    def __init__(self) -> None:
        self.measuring = False
        self.count = 0
        self.ok = 0
        self.latencies: list[float] = []
        self.ticker = c.LagTicker()
        self.cpu0 = self.wall0 = self.main0 = 0.0
        self.cpu = self.wall = self.main = 0.0

    def record(self, ok: bool, latency_s: float | None) -> None:
        if self.measuring:
            self.count += 1
            self.ok += ok
            if latency_s is not None:
                self.latencies.append(latency_s)

    async def run(self, warmup: float, duration: float) -> None:
        await asyncio.sleep(warmup)
        self.ticker.start()
        self.measuring = True
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        self.main0 = time.thread_time()
        await asyncio.sleep(duration)
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.main = time.thread_time() - self.main0
        self.measuring = False
        await self.ticker.stop()

    def result(self) -> dict[str, Any]:
        return {
            "probes": self.count,
            "ok": self.ok,
            "wall_s": self.wall,
            "cpu_s": self.cpu,
            "rate": self.count / self.wall,
            "cpu_per_probe_us": self.cpu / max(self.count, 1) * 1e6,
            "cpu_util": self.cpu / self.wall,
            "loop_thread_cpu_per_probe_us": self.main / max(self.count, 1) * 1e6,
            "loop_thread_cpu_s": self.main,
            "latency_ms": c.summary_ms(self.latencies),
            "lag_ms": c.summary_ms(self.ticker.samples),
            "samples": {"latency": self.latencies, "lag": self.ticker.samples},
        }


def pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine one variant's rounds: totals, pooled percentiles, per-round CPU/probe."""
    probes = sum(r["probes"] for r in rounds)
    wall = sum(r["wall_s"] for r in rounds)
    cpu = sum(r["cpu_s"] for r in rounds)
    main = sum(r["loop_thread_cpu_s"] for r in rounds)
    latency = [x for r in rounds for x in r["samples"]["latency"]]
    lag = [x for r in rounds for x in r["samples"]["lag"]]
    pooled = {
        "rounds": len(rounds),
        "probes": probes,
        "ok": sum(r["ok"] for r in rounds),
        "wall_s": wall,
        "cpu_s": cpu,
        "rate": probes / wall,
        "cpu_per_probe_us": cpu / max(probes, 1) * 1e6,
        "loop_thread_cpu_per_probe_us": main / max(probes, 1) * 1e6,
        "cpu_util": cpu / wall,
        "latency_ms": c.summary_ms(latency),
        "lag_ms": c.summary_ms(lag),
        "round_cpu_per_probe_us": [r["cpu_per_probe_us"] for r in rounds],
        "server_requests": sum(r["server_requests"] for r in rounds),
        "store_error": next((r["store_error"] for r in rounds if r.get("store_error")), None),
    }
    return pooled


async def child_raw(port: int, count: int, warmup: float, duration: float) -> dict[str, Any]:
    import httpx

    window = Window()
    semaphore = asyncio.Semaphore(CONCURRENCY)
    loop = asyncio.get_running_loop()
    client = httpx.AsyncClient(
        trust_env=False,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=CONCURRENCY),
    )

    async def prober(index: int, url: str) -> None:
        slot = loop.time() + INTERVAL * index / count
        while True:
            delay = slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with semaphore:
                start = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                    latency: float | None = time.perf_counter() - start
                except httpx.HTTPError:
                    ok, latency = False, None
            window.record(ok, latency)
            slot += INTERVAL

    tasks = [asyncio.create_task(prober(i, url)) for i, url in enumerate(_urls(port, count))]
    await window.run(warmup, duration)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
    return window.result()


async def child_engine(
    port: int, count: int, warmup: float, duration: float, *, with_store: bool
) -> dict[str, Any]:
    from opsconsole.adapters.http_probe import ProbeRunner
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.config.loader import loads_config
    from opsconsole.engine import ProbeEngine, ProbeStatus

    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = loads_config(
        c.probe_config_yaml(_urls(port, count), interval="1s", max_concurrency=CONCURRENCY)
    )
    window = Window()

    last: dict[str, object] = {}

    def listener(status: ProbeStatus) -> None:
        # The engine also publishes unchanged results (uptime refresh): count new ones only.
        result = status.result
        if result is not None and last.get(status.name) is not result:
            last[status.name] = result
            latency = None if result.latency_ms is None else result.latency_ms / 1000.0
            window.record(result.ok, latency)

    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-probes-") as tmp:
        store = await SqliteStore.open(Path(tmp) / "history.db") if with_store else None
        runner = ProbeRunner(max_concurrency=config.max_concurrency)
        engine = ProbeEngine(config, store=store, runner=runner, listener=listener)
        try:
            await engine.start()
            await window.run(warmup, duration)
        finally:
            await engine.stop()
            await runner.aclose()
            if store is not None:
                await store.close()
        result = window.result()
        result["store_error"] = engine.store_error
        if with_store:
            result["db_bytes"] = sum(f.stat().st_size for f in Path(tmp).iterdir())
        return result


def run_variant(variant: str, port: int, count: int, warmup: float, duration: float) -> Any:
    cmd = [c.PYTHON, __file__, "--child", variant, "--port", str(port), "--count", str(count)]
    cmd += ["--warmup", str(warmup), "--duration", str(duration)]
    return c.run_json(cmd, timeout=warmup + duration + 120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s per variant instead of 60 s")
    parser.add_argument("--duration", type=float, default=None, help="seconds per variant")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant")
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--count", type=int, default=PROBES)
    parser.add_argument(
        "--child", choices=["raw", "engine", "engine+store"], help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    duration = opts.duration or (30.0 if opts.quick else 60.0)
    warmup = opts.warmup if opts.warmup is not None else 3.0

    if opts.child:
        if opts.child == "raw":
            result = asyncio.run(child_raw(opts.port, opts.count, warmup, duration))
        else:
            result = asyncio.run(
                child_engine(
                    opts.port,
                    opts.count,
                    warmup,
                    duration,
                    with_store=opts.child == "engine+store",
                )
            )
        print(json.dumps(result))
        return

    # Rounds interleave the variants (order rotating) so drift and other load on this
    # shared machine hit baseline and subject alike.
    variants = ["raw", "engine", "engine+store"]
    per_round = duration / opts.rounds
    rounds: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with c.Server() as server:
        for index in range(opts.rounds):
            for variant in variants[index % 3 :] + variants[: index % 3]:
                before = server.requests_served()
                res = run_variant(variant, server.port, opts.count, warmup, per_round)
                res["server_requests"] = server.requests_served() - before - 1
                rounds[variant].append(res)
    results = {v: pool(rs) for v, rs in rounds.items()}
    ratios = [
        e / r
        for e, r in zip(
            results["engine"]["round_cpu_per_probe_us"],
            results["raw"]["round_cpu_per_probe_us"],
            strict=True,
        )
    ]

    raw, eng, sto = results["raw"], results["engine"], results["engine+store"]
    expected = opts.count / INTERVAL
    rows = [
        c.row(
            "CPU per probe, engine (store=None)",
            eng["cpu_per_probe_us"],
            unit="µs",
            baseline=raw["cpu_per_probe_us"],
            target=f"≤ {TARGET_CPU_RATIO}× baseline",
            met=eng["cpu_per_probe_us"] / raw["cpu_per_probe_us"] <= TARGET_CPU_RATIO,
        ),
        c.row(
            "CPU per probe, engine + SqliteStore (info)",
            sto["cpu_per_probe_us"],
            unit="µs",
            baseline=raw["cpu_per_probe_us"],
        ),
    ]
    for name, res in (("engine", eng), ("engine + store", sto)):
        rows.append(
            c.row(
                f"probes completed/s, {name}",
                res["rate"],
                unit="/s",
                baseline=raw["rate"],
                target=f"≥ {0.98 * expected:.0f}/s (schedule kept)",
                met=res["rate"] >= 0.98 * expected,
            )
        )
    for name, res in (("engine", eng), ("engine + store", sto)):
        rows.append(
            c.row(
                f"CPU utilisation (one core = 100 %), {name}",
                res["cpu_util"] * 100.0,
                unit="%",
                baseline=raw["cpu_util"] * 100.0,
            )
        )
    for name, res in (("engine", eng), ("engine + store", sto)):
        for q in ("p50", "p99", "max"):
            is_p99 = q == "p99"
            rows.append(
                c.row(
                    f"event-loop lag {q}, {name}",
                    res["lag_ms"][q],
                    unit="ms",
                    baseline=raw["lag_ms"][q],
                    target=f"< {TARGET_LAG_P99_MS:.0f} ms" if is_p99 else None,
                    met=res["lag_ms"][q] < TARGET_LAG_P99_MS if is_p99 else None,
                )
            )
    for name, res in (("engine", eng), ("engine + store", sto)):
        for q in ("p50", "p99"):
            rows.append(
                c.row(
                    f"probe latency {q}, {name}",
                    res["latency_ms"][q],
                    unit="ms",
                    baseline=raw["latency_ms"][q],
                )
            )
    notes = [
        f"{variant}: {res['probes']} probes in {res['wall_s']:.1f} s over {res['rounds']} "
        f"rounds, {res['ok']} ok, server saw {res['server_requests']} requests (incl. "
        f"warm-ups); CPU per probe by round: "
        + ", ".join(f"{x:.0f}" for x in res["round_cpu_per_probe_us"])
        + " µs"
        for variant, res in results.items()
    ]
    notes.append("engine ÷ raw CPU per probe by round: " + ", ".join(f"{x:.2f}×" for x in ratios))
    notes.append(
        "CPU on the event-loop thread per probe (time.thread_time): "
        + ", ".join(f"{v} {results[v]['loop_thread_cpu_per_probe_us']:.0f} µs" for v in variants)
    )
    if sto.get("store_error"):
        notes.append(f"store error at the end of the run: {sto['store_error']}")
    c.emit(
        {
            "benchmark": "probes",
            "title": f"Probes: {opts.count} HTTP probes at {INTERVAL:g} s, {duration:g} s window",
            "params": {
                "probes": opts.count,
                "interval_s": INTERVAL,
                "max_concurrency": CONCURRENCY,
                "window_s": f"{duration:g} ({opts.rounds} interleaved rounds of {per_round:g})",
                "warmup_s": f"{warmup:g} per round",
                "server": "bench/server.py (asyncio, separate process, keep-alive)",
                "baseline": "raw httpx.AsyncClient loop, same pacing and semaphore",
            },
            "rows": rows,
            "raw": results,
            "notes": notes,
        }
    )


if __name__ == "__main__":
    main()
