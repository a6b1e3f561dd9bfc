"""Shared helpers for the benchmarks: machine facts, percentiles, lag ticker, server, config.

Every benchmark script is standalone (``.venv/bin/python bench/<name>.py``) and prints one
JSON result dict on its last stdout line::

    {"benchmark": str, "title": str, "params": {...}, "rows": [row, ...], "notes": [str, ...]}

where each row is ``{"metric", "unit", "measured", "baseline", "target", "met"}``
(``baseline``/``target``/``met`` may be null; ``run_all.py`` computes the ratio).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = sys.executable


# -- statistics ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100] (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p95/p99/max (milliseconds) and count of a list of durations in seconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else math.nan,
    }


def row(
    metric: str,
    measured: float | None,
    *,
    unit: str = "",
    baseline: float | None = None,
    target: str | None = None,
    met: bool | None = None,
) -> dict[str, Any]:
    """One line of a benchmark's result table."""
    return {
        "metric": metric,
        "unit": unit,
        "measured": measured,
        "baseline": baseline,
        "target": target,
        "met": met,
    }


def emit(result: dict[str, Any]) -> None:
    """Print the result dict as JSON on one line (the last line of stdout)."""
    print(json.dumps(result, allow_nan=True), flush=True)


# -- machine -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and Textual versions, load average, date."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        textual_version = version("textual")
        httpx_version = version("httpx")
    except Exception:
        textual_version = httpx_version = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "textual": textual_version,
        "httpx": httpx_version,
        "os": platform.platform(),
        "loadavg": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# -- event-loop lag ------------------------------------------------------------------------


class LagTicker:
    """A 10 ms ``asyncio.sleep`` loop; records how late each wake-up is (seconds)."""

    def __init__(self, period: float = 0.010) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            before = clock()
            await asyncio.sleep(self.period)
            self.samples.append(max(0.0, clock() - before - self.period))

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.samples


# -- the HTTP server (separate process) -----------------------------------------------------


class Server:
    """Run ``bench/server.py`` in its own process; ``port`` is read from its first line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(BENCH_DIR / "server.py")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("bench server did not start")
        self.port = int(line.split()[-1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_served(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.url("/stats"), timeout=5) as response:
            return int(json.loads(response.read())["requests"])

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_config_yaml(
    urls: Sequence[str], *, interval: str, max_concurrency: int = 20, service: str = "Bench"
) -> str:
    """A checks.yaml with one HTTP probe per url and condition ``[STATUS] == 200``."""
    import yaml

    probes = [
        {
            "name": f"probe-{index:03d}",
            "url": url,
            "interval": interval,
            "conditions": ["[STATUS] == 200"],
        }
        for index, url in enumerate(urls)
    ]
    document = {
        "service": service,
        "timezone": "UTC",
        "max_concurrency": max_concurrency,
        "probes": probes,
    }
    return yaml.safe_dump(document, sort_keys=False)


def run_json(cmd: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> Any:
    """Run ``cmd`` and parse the last stdout line as JSON (raise with stderr on failure)."""
    done = subprocess.run(
        list(cmd), capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1])
