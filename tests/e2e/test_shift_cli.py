"""Subprocess tests of ``opsconsole checklist``, ``report`` and ``handover``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.demo.api import DemoApi

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


@pytest.fixture
def api() -> Iterator[DemoApi]:
    server = DemoApi(healthy_for=3600, unhealthy_for=1).start()
    yield server
    server.stop()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def write_config(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "checks.yaml"
    config.write_text(
        "probes:\n"
        f"  - {{name: API health, url: '{base_url}/health'}}\n"
        f"  - {{name: Dashboard, url: '{base_url}/nope', conditions: ['[STATUS] == 200']}}\n"
    )
    return config


def test_checklist_json_and_exit_code(api: DemoApi, tmp_path: Path) -> None:
    """API health passes, the dashboard probe fails → exit 1; the run is stored."""
    config = write_config(tmp_path, api.base_url)
    db = tmp_path / "c.db"
    proc = run("checklist", "--json", "--config", str(config), "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    items = {i["text"]: i for i in json.loads(proc.stdout)}
    health = items["Verify API health: curl https://api.domain.com/health"]
    assert health["status"] == "pass" and "API health: up" in health["evidence"]
    dashboard = items["Verify dashboard: open https://dashboard.domain.com"]
    assert dashboard["status"] == "fail" and "404" in dashboard["evidence"]
    assert items["Review Sentry (new error counts)"]["status"] == "unknown"
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from checklist_runs").fetchone()[0] == 1


def test_report_json_and_markdown(api: DemoApi, tmp_path: Path) -> None:
    config = write_config(tmp_path, api.base_url)
    db = str(tmp_path / "r.db")
    run("check", "--config", str(config), "--db", db, cwd=tmp_path)
    proc = run("report", "--format", "json", "--config", str(config), "--db", db, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    uptime = {u["probe"]: u for u in report["uptime"]}
    assert uptime["API health"]["uptime_percent"] == 100.0
    assert uptime["Dashboard"]["uptime_percent"] == 0.0
    md = run("report", "--since", "7d", "--config", str(config), "--db", db, cwd=tmp_path)
    assert md.stdout.startswith("# Operations report") and "API health" in md.stdout
    bad = run("report", "--since", "soon", "--config", str(config), "--db", db, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("opsconsole: --since:")


def test_handover_markdown(api: DemoApi, tmp_path: Path) -> None:
    config = write_config(tmp_path, api.base_url)
    out = tmp_path / "handover.md"
    proc = run(
        "handover",
        "--notes",
        "Watch the dashboard",
        "--output",
        str(out),
        "--config",
        str(config),
        "--db",
        str(tmp_path / "h.db"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("*Shift handover*")
    assert "Dashboard" in proc.stdout and "Watch the dashboard" in proc.stdout
    assert out.read_text().strip() == proc.stdout.strip()


def test_checklist_text_lines_without_evidence_end_cleanly(api: DemoApi, tmp_path: Path) -> None:
    """A manual item has no evidence: its line ends with the item (or OVERDUE), not " — "."""
    config = write_config(tmp_path, api.base_url)
    proc = run("checklist", "--config", str(config), "--db", str(tmp_path / "c.db"), cwd=tmp_path)
    lines = proc.stdout.splitlines()
    manual = [line for line in lines if line.startswith("MANUAL")]
    assert manual, proc.stdout
    assert not [line for line in lines if line.rstrip().endswith("—")], proc.stdout
    health = next(line for line in lines if "Verify API health" in line)
    assert " — API health: up" in health
