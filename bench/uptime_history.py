"""Uptime over 30 days of history: 50 probes, ~4M results, via the hourly rollups.

Seeding (timed, reported): ``SqliteStore.open`` creates the schema in a temp database; then
one ``sqlite3`` connection bulk-loads, with ``executemany`` in one transaction,

* ``probe_results``: 50 probes (``probe-000`` … ``probe-049``), one result every 32 s
  (±0.5 s jitter, probes phase-shifted) from ``now - 30 days`` to ``now``: 81,000 each,
  4,050,000 in all, inserted in time order (the order the engine writes them). Conditions
  ``[STATUS] == 200`` and ``[RESPONSE_TIME] < 500``, evaluated by the real
  ``opsconsole.core.conditions.Condition`` and serialised exactly as
  ``SqliteStore.record_probe_result`` does (memoised per status and latency). Per probe:
  0–2 % slow results (``failed_conditions`` on the latency condition only: degraded, which
  counts as up) and 0–8 outages of 1–90 min (``connection_refused``, ``timeout`` or 503).
* ``probe_rollups``: one row per probe and UTC hour, accumulated while the results are
  generated, with the same arithmetic as ``record_probe_result``'s upsert: ``total``,
  ``ok`` (= outcome ok or degraded), ``latency_sum`` (NULL latency adds 0),
  ``latency_max`` (of non-NULL latencies), ``latency_count``.

For speed the load runs with ``journal_mode=OFF`` and ``synchronous=OFF`` (then the file is
switched back to WAL, as the store leaves it). Before seeding, a small check proves the
bulk path writes the same rows as the real one: 1 probe × 6 h with 30 % slow results and
outages is written both ways (bulk; and ``_row_to_result`` → ``record_probe_result`` on a
second store) and both tables are compared row by row (``id`` excepted).

Measured (``now`` = the seeding's end), in one process on a fresh ``SqliteStore``:

* **rollup path** (the app's): ``await store.uptime(name, now)`` for all 50 probes in
  turn, as ``ProbeEngine.refresh_uptime`` does: 24 h, 7 d and 30 d each. One untimed warm-up
  pass, then ``--runs`` (default 15) timed passes; the median is the result; the very first
  pass on the fresh connection is reported apart.
* **baseline** (naive full scan, same connection): for each window, ``SELECT probe,
  sum(up), count(*) FROM probe_results WHERE ts >= ? AND ts < ? GROUP BY probe`` (the
  window's hour-aligned bounds, so it computes exactly what the rollups do); ``up`` is
  ``outcome = 'ok'`` or a failure of latency conditions only (a ``CASE`` that checks
  ``conditions_json`` with ``json_each`` for ``failed_conditions`` rows only). Three
  queries per pass; median of ``--baseline-runs`` (default 3) passes after one warm-up.
  Another naive variant (one scan, all three windows by conditional sums) is reported for
  information.

Both answers are compared probe by probe (they must agree). The database file is in the
OS page cache throughout (just written): these are warm-cache timings. ``--quick``:
7 runs and 2 baseline runs (the seeding is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as c
from tickets import src_state

PROBES = 50
DAYS = 30
EVERY_S = 32.0
TARGET_MS = 100.0
HOUR = 3600
CONDITIONS = ("[STATUS] == 200", "[RESPONSE_TIME] < 500")
WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
# CASE, not OR: SQLite evaluated the json_each subquery for every row under OR (3× slower).
UP_SQL = (
    "CASE WHEN outcome = 'ok' THEN 1 WHEN outcome <> 'failed_conditions' THEN 0 "
    "ELSE NOT EXISTS (SELECT 1 FROM json_each(conditions_json) "
    "WHERE json_extract(value, '$.ok') = 0 AND json_extract(value, '$.latency_only') = 0) END"
)


# -- generated history ---------------------------------------------------------------------


class ConditionsJson:
    """``conditions_json`` exactly as ``record_probe_result`` writes it, memoised."""

    def __init__(self) -> None:
        from opsconsole.core.conditions import Condition

        self.conditions = [Condition(text) for text in CONDITIONS]
        self.cache: dict[tuple[int | None, int | None], tuple[str, bool, bool]] = {}

    def __call__(self, status: int | None, latency: float | None) -> tuple[str, bool, bool]:
        """(json, all conditions ok, only latency conditions failed)."""
        key = (status, None if latency is None else int(latency))
        hit = self.cache.get(key)
        if hit is None:
            from opsconsole.core.models import ProbeObservation

            obs = ProbeObservation(
                connected=status is not None, status=status, response_time_ms=latency
            )
            results = [cond.evaluate(obs) for cond in self.conditions]
            text = json.dumps(
                [
                    {
                        "condition": r.condition,
                        "ok": r.ok,
                        "resolved": r.resolved,
                        "latency_only": r.latency_only,
                    }
                    for r in results
                ]
            )
            failing = [r for r in results if not r.ok]
            hit = (text, not failing, bool(failing) and all(r.latency_only for r in failing))
            self.cache[key] = hit
        return hit


class History:
    """Generates the results in time order and tallies the rollups as it goes."""

    def __init__(
        self, probes: int, start: float, end: float, seed: int = 11, slow_max: float = 0.02
    ) -> None:
        self.rng = random.Random(seed)
        self.names = [f"probe-{i:03d}" for i in range(probes)]
        self.start, self.end = start, end
        self.conditions = ConditionsJson()
        self.rollups: dict[tuple[str, int], list[Any]] = {}
        self.count = 0
        rng = self.rng
        self.slow = [rng.uniform(0.0, slow_max) for _ in self.names]
        self.base_ms = [rng.uniform(8.0, 120.0) for _ in self.names]
        self.outages: list[list[tuple[float, float, str]]] = []
        for _ in self.names:
            spans = []
            for _ in range(rng.randint(0, 8) if slow_max < 0.1 else 3):
                begin = rng.uniform(start, end)
                length = rng.uniform(60, 90 * 60)
                if slow_max >= 0.1:  # the check: short outages inside its few hours
                    length = rng.uniform(60, 20 * 60)
                spans.append((begin, begin + length, rng.choice(("refused", "timeout", "503"))))
            self.outages.append(sorted(spans))

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """``(probe, ts, outcome, state, status, latency_ms, error, conditions_json)``."""
        rng = self.rng
        conditions = self.conditions
        rollups = self.rollups
        n = len(self.names)
        phases = [i * EVERY_S / n for i in range(n)]
        step = 0
        while True:
            base = self.start + step * EVERY_S
            if base >= self.end:
                return
            step += 1
            for i, name in enumerate(self.names):
                ts = base + phases[i] + rng.uniform(-0.5, 0.5)
                if ts >= self.end or ts < self.start:
                    continue
                kind = None
                for begin, finish, what in self.outages[i]:
                    if begin <= ts < finish:
                        kind = what
                        break
                error = None
                if kind == "refused":
                    outcome, state, status, latency = "connection_refused", "down", None, None
                    error = "connection refused"
                elif kind == "timeout":
                    outcome, state, status, latency = "timeout", "down", None, None
                    error = "timed out after 10s"
                else:
                    status = 503 if kind == "503" else 200
                    if rng.random() < self.slow[i]:
                        latency = round(rng.uniform(500.0, 2500.0), 3)
                    else:
                        latency = round(self.base_ms[i] * rng.lognormvariate(0.0, 0.35), 3)
                text, all_ok, degraded = conditions(status, latency)
                if kind is None or kind == "503":
                    outcome = "ok" if all_ok else "failed_conditions"
                    state = "up" if all_ok else ("degraded" if degraded else "down")
                up = 1 if (outcome == "ok" or (outcome == "failed_conditions" and degraded)) else 0
                hour = int(ts // HOUR) * HOUR
                tally = rollups.get((name, hour))
                if tally is None:
                    tally = rollups[(name, hour)] = [0, 0, 0.0, None, 0]
                tally[0] += 1
                tally[1] += up
                tally[2] += latency or 0.0
                if latency is not None:
                    tally[3] = latency if tally[3] is None else max(tally[3], latency)
                    tally[4] += 1
                self.count += 1
                yield (name, ts, outcome, state, status, latency, error, text)

    def rollup_rows(self) -> list[tuple[Any, ...]]:
        return [(p, h, *t) for (p, h), t in self.rollups.items()]


def bulk_load(db: Path, history: History) -> dict[str, float]:
    """Write ``history`` into ``probe_results`` and ``probe_rollups`` (schema must exist)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO probe_results (probe, ts, outcome, state, status, latency_ms, error, "
            "conditions_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            history.rows(),
        )
        results_s = time.perf_counter() - start
        conn.executemany(
            "INSERT INTO probe_rollups (probe, hour, total, ok, latency_sum, latency_max, "
            "latency_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            history.rollup_rows(),
        )
        conn.execute("COMMIT")
        total_s = time.perf_counter() - start
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return {"results_s": results_s, "rollups_s": total_s - results_s, "total_s": total_s}


async def open_store(db: Path) -> Any:
    from opsconsole.adapters.sqlite_store import SqliteStore

    return await SqliteStore.open(db)


def check_bulk_path(tmp: Path) -> dict[str, Any]:
    """1 probe × 6 h, 30 % slow, outages: bulk load vs record_probe_result, table by table."""
    from opsconsole.adapters.sqlite_store import _row_to_result

    end = time.time()
    start = end - 6 * HOUR

    def make() -> History:
        return History(1, start, end, seed=5, slow_max=0.6)

    bulk_db, real_db = tmp / "check-bulk.db", tmp / "check-real.db"

    async def run() -> None:
        for path in (bulk_db, real_db):
            store = await open_store(path)
            await store.close()
        bulk_load(bulk_db, make())
        store = await open_store(real_db)
        try:
            for row in make().rows():
                # The timestamp round-trips through datetime: keep what the store wrote.
                await store.record_probe_result(_row_to_result(row))
        finally:
            await store.close()

    asyncio.run(run())

    def dump(path: Path) -> tuple[list[Any], list[Any]]:
        with sqlite3.connect(path) as conn:
            results = conn.execute(
                "SELECT probe, ts, outcome, state, status, latency_ms, error, conditions_json "
                "FROM probe_results ORDER BY id"
            ).fetchall()
            rollups = conn.execute("SELECT * FROM probe_rollups ORDER BY probe, hour").fetchall()
        return results, rollups

    bulk, real = dump(bulk_db), dump(real_db)

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        return bool(a == b)

    def same(xs: list[Any], ys: list[Any]) -> bool:
        return len(xs) == len(ys) and all(
            len(x) == len(y) and all(close(a, b) for a, b in zip(x, y, strict=True))
            for x, y in zip(xs, ys, strict=True)
        )

    outcomes: dict[str, int] = {}
    for r in bulk[0]:
        outcomes[r[2]] = outcomes.get(r[2], 0) + 1
    return {
        "results": len(bulk[0]),
        "rollups": len(bulk[1]),
        "outcomes": outcomes,
        "degraded": sum(1 for r in bulk[0] if r[3] == "degraded"),
        "results_equal": same(bulk[0], real[0]),
        "rollups_equal": same(bulk[1], real[1]),
    }


# -- measurement ---------------------------------------------------------------------------


def bounds(now: datetime) -> list[tuple[str, int, int]]:
    from opsconsole.core.uptime import first_hour, hour_start

    return [(label, first_hour(now, w), hour_start(now) + HOUR) for label, w in WINDOWS]


async def measure(db: Path, now: datetime, runs: int, baseline_runs: int) -> dict[str, Any]:
    store = await open_store(db)
    names = [f"probe-{i:03d}" for i in range(PROBES)]
    try:

        async def rollup_pass() -> dict[str, Any]:
            return {name: await store.uptime(name, now) for name in names}

        t0 = time.perf_counter()
        first = await rollup_pass()
        first_s = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            answer = await rollup_pass()
            times.append(time.perf_counter() - t0)
        # Where the time goes: the SQL alone, through the same connection.
        from opsconsole.core.uptime import LONGEST_WINDOW, first_hour

        oldest = first_hour(now, LONGEST_WINDOW)
        sql_times = []
        rows_read = 0
        for _ in range(max(3, runs // 3)):
            t0 = time.perf_counter()
            rows_read = 0
            for name in names:
                rows = await store._fetchall(
                    "SELECT hour, total, ok FROM probe_rollups WHERE probe = ? AND hour >= ?",
                    (name, oldest),
                )
                rows_read += len(rows)
            sql_times.append(time.perf_counter() - t0)

        windows = bounds(now)

        async def scan_pass() -> dict[str, dict[str, float]]:
            out: dict[str, dict[str, float]] = {}
            for label, low, high in windows:
                # The hour the window starts in counts pro rata, as in core.uptime.tally.
                cut = (low + HOUR - (now.timestamp() - dict(WINDOWS)[label].total_seconds())) / HOUR
                weight = f"(CASE WHEN ts < {low + HOUR} THEN {cut} ELSE 1 END)"
                rows = await store._fetchall(
                    f"SELECT probe, sum(({UP_SQL}) * {weight}), sum({weight}) FROM probe_results "
                    "WHERE ts >= ? AND ts < ? GROUP BY probe",
                    (low, high),
                )
                for probe, up, total in rows:
                    out.setdefault(probe, {})[label] = 100.0 * up / total
            return out

        one_scan_sql = (
            "SELECT probe, "
            + ", ".join(
                f"sum(CASE WHEN ts >= {low} THEN {UP_SQL} END), sum(ts >= {low})"
                for _, low, _ in windows
            )
            + f" FROM probe_results WHERE ts >= {windows[-1][1]} AND ts < {windows[-1][2]}"
            " GROUP BY probe"
        )

        async def one_scan_pass() -> list[Any]:
            rows: list[Any] = await store._fetchall(one_scan_sql)
            return rows

        await scan_pass()  # warm-up
        base_times = []
        for _ in range(baseline_runs):
            t0 = time.perf_counter()
            scanned = await scan_pass()
            base_times.append(time.perf_counter() - t0)
        one_times = []
        for _ in range(baseline_runs):
            t0 = time.perf_counter()
            await one_scan_pass()
            one_times.append(time.perf_counter() - t0)
    finally:
        await store.close()

    worst = 0.0
    for name in names:
        got = answer[name]
        for label, value in (("24h", got.day), ("7d", got.week), ("30d", got.month)):
            expected = scanned[name][label]
            worst = max(worst, abs((value or math.nan) - expected))
    return {
        "first_s": first_s,
        "first_equal": first == answer,
        "times_s": times,
        "sql_times_s": sql_times,
        "rollup_rows_read": rows_read,
        "baseline_times_s": base_times,
        "one_scan_times_s": one_times,
        "max_diff_pp": worst,
        "uptime_sample": {n: [answer[n].day, answer[n].week, answer[n].month] for n in names[:3]},
        "uptime_min_30d": min(answer[n].month or 100.0 for n in names),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 runs, 2 baseline runs")
    parser.add_argument("--runs", type=int, default=None, help="timed rollup passes (15)")
    parser.add_argument("--baseline-runs", type=int, default=None, help="scan passes (3)")
    opts = parser.parse_args()
    runs = opts.runs or (7 if opts.quick else 15)
    baseline_runs = opts.baseline_runs or (2 if opts.quick else 3)

    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-uptime-") as tmp_name:
        tmp = Path(tmp_name)
        check = check_bulk_path(tmp)
        db = tmp / "history.db"
        end = time.time()
        now = datetime.fromtimestamp(end, UTC)
        history = History(PROBES, end - DAYS * 86400, end)

        async def create() -> None:
            store = await open_store(db)
            await store.close()

        asyncio.run(create())
        t0 = time.perf_counter()
        seeded = bulk_load(db, history)
        seed_wall = time.perf_counter() - t0
        db_mb = sum(p.stat().st_size for p in tmp.glob("history.db*")) / 1e6
        rollup_count = len(history.rollups)
        out = asyncio.run(measure(db, now, runs, baseline_runs))

    ms = 1000.0
    median = statistics.median(out["times_s"]) * ms
    base = statistics.median(out["baseline_times_s"]) * ms
    one = statistics.median(out["one_scan_times_s"]) * ms
    sql = statistics.median(out["sql_times_s"]) * ms
    times = c.summary_ms(out["times_s"])
    rows = [
        c.row(
            f"uptime 24h/7d/30d for {PROBES} probes, rollups (`SqliteStore.uptime`), median",
            median,
            unit="ms",
            baseline=base,
            target=f"< {TARGET_MS:.0f} ms",
            met=median < TARGET_MS,
        ),
        c.row(f"same, max of {runs} runs", times["max"], unit="ms", baseline=base),
        c.row("same, first pass on a fresh connection", out["first_s"] * ms, unit="ms"),
        c.row("of which the rollup SELECTs alone, median", sql, unit="ms"),
        c.row("naive full scan, one scan for all 3 windows (info), median", one, unit="ms"),
        c.row("seeding: bulk load, results + rollups", seeded["total_s"] * ms, unit="ms"),
        c.row("database size", db_mb, unit="MB"),
    ]
    notes = [
        f"Seeded {history.count:,} results and {rollup_count:,} rollup rows for {PROBES} "
        f"probes over {DAYS} days in {seed_wall:.1f} s (results {seeded['results_s']:.1f} s "
        f"including generating them, rollups {seeded['rollups_s']:.2f} s); database "
        f"{db_mb:.0f} MB. Lowest 30-day uptime among the probes: "
        f"{out['uptime_min_30d']:.3f} %.",
        f"Rollup path reads {out['rollup_rows_read']:,} rollup rows per pass "
        f"(~{out['rollup_rows_read'] // PROBES} per probe); runs (ms): "
        + ", ".join(f"{t * ms:.1f}" for t in out["times_s"])
        + ". Baseline runs (ms): "
        + ", ".join(f"{t * ms:.0f}" for t in out["baseline_times_s"])
        + "; one-scan variant: "
        + ", ".join(f"{t * ms:.0f}" for t in out["one_scan_times_s"])
        + ".",
        f"Rollup and full-scan answers agree: largest difference {out['max_diff_pp']:.2g} "
        "percentage points over 150 values (50 probes × 3 windows).",
        f"Bulk path check (1 probe × 6 h, {check['results']} results: "
        + ", ".join(f"{k} {v}" for k, v in sorted(check["outcomes"].items()))
        + f"; {check['degraded']} degraded): rows identical to `record_probe_result`'s — "
        f"probe_results {'yes' if check['results_equal'] else 'NO'}, probe_rollups "
        f"{'yes' if check['rollups_equal'] else 'NO'} ({check['rollups']} hours).",
        src_state(str(Path(sys.modules["opsconsole"].__file__ or "?").parent.parent)) + ".",
    ]
    c.emit(
        {
            "benchmark": "uptime_history",
            "title": f"Uptime: {PROBES} probes, {DAYS} days of history "
            f"({history.count / 1e6:.2f}M results)",
            "params": {
                "probes": PROBES,
                "history": f"{DAYS} days, one result every {EVERY_S:g} s per probe",
                "runs": f"{runs} timed passes after 1 warm-up (baseline: {baseline_runs})",
                "measured": "`await store.uptime(name, now)` for each probe in turn, as "
                "ProbeEngine.refresh_uptime does",
                "baseline": "naive full scan of probe_results: one `GROUP BY probe` query per "
                "window (24h, 7d, 30d), same connection",
            },
            "rows": rows,
            "raw": {"seed": seeded, "check": check, **out},
            "notes": notes,
        }
    )


if __name__ == "__main__":
    main()
