"""Hunt 3: ``opsconsole report`` over a database seeded through the real SqliteStore."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.models import Outcome, ProbeResult

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
HOSTILE = 'evil "name"\n## Forged\x1b[2J\\ \u2028|}'
UPTIME_KEYS = [
    "probe",
    "uptime_percent",
    "target_percent",
    "downtime_minutes",
    "samples",
    "met",
    "covered_minutes",
    "coverage_percent",
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def seed(db: Path, names: tuple[str, ...]) -> None:
    async def write() -> None:
        now = datetime.now(UTC)
        async with await SqliteStore.open(db) as store:
            results = [
                ProbeResult(name, now - timedelta(minutes=m), Outcome.OK, latency_ms=5.0)
                for name in names
                for m in range(1, 30)
            ]
            await store.record_probe_results(results)

    asyncio.run(write())


def test_json_is_valid_with_hostile_probe_names_and_keeps_its_keys(tmp_path: Path) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text("probes:\n  - {name: API health, url: 'http://127.0.0.1:9/'}\n")
    db = tmp_path / "r.db"
    seed(db, ("API health", HOSTILE))
    proc = run(
        "report",
        "--since",
        "24h",
        "--format",
        "json",
        "--config",
        str(config),
        "--db",
        str(db),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == ["since", "until", "uptime", "sla", "volume", "incidents", "history_from"]
    rows = {row["probe"]: row for row in data["uptime"]}
    assert set(rows) == {"API health", HOSTILE}
    assert all(list(row) == UPTIME_KEYS for row in rows.values())
    assert rows[HOSTILE]["uptime_percent"] == 100.0 and rows[HOSTILE]["samples"] == 29
    assert data["history_from"] is None
    md = run("report", "--since", "24h", "--config", str(config), "--db", str(db), cwd=tmp_path)
    assert "\n## Forged" not in md.stdout and "\x1b" not in md.stdout


def test_a_report_longer_than_the_retention_says_so(tmp_path: Path) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(
        "retention: 30d\nprobes:\n  - {name: API health, url: 'http://127.0.0.1:9/'}\n"
    )
    db = tmp_path / "r.db"
    seed(db, ("API health",))
    args = ("--since", "90d", "--config", str(config), "--db", str(db))
    data = json.loads(run("report", "--format", "json", *args, cwd=tmp_path).stdout)
    kept = datetime.fromisoformat(data["history_from"])
    until = datetime.fromisoformat(data["until"])
    assert until - kept == timedelta(days=30)
    md = run("report", *args, cwd=tmp_path).stdout
    assert "History is kept for 30 days (retention)" in md
