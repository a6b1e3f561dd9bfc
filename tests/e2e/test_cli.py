"""Subprocess tests of the installed ``opsconsole`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.demo.api import DemoApi
from opsconsole.demo.config import write_demo_config

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


@pytest.fixture
def api() -> Iterator[DemoApi]:
    server = DemoApi(healthy_for=3600, unhealthy_for=1).start()
    yield server
    server.stop()


def test_check_json_reports_every_probe(api: DemoApi, tmp_path: Path) -> None:
    config = write_demo_config(tmp_path, api.base_url, api.port)
    proc = run("check", "--config", str(config), "--json")
    assert proc.returncode == 1, proc.stderr  # the slow endpoint fails its latency condition
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(results) == {
        "API health",
        "Dashboard",
        "Slow endpoint",
        "API key check",
        "Metrics endpoint",
        "API port",
    }
    health = results["API health"]
    assert health["ok"] is True and health["state"] == "up" and health["status"] == 200
    assert health["error"] is None and health["latency_ms"] >= 0
    assert {"condition": "[STATUS] == 200", "ok": True, "resolved": "[STATUS] (200) == 200"} in (
        health["conditions"]
    )
    slow = results["Slow endpoint"]
    assert slow["ok"] is False and slow["state"] == "degraded"
    failing = [c for c in slow["conditions"] if not c["ok"]]
    assert failing[0]["resolved"].startswith("[RESPONSE_TIME] (")
    assert results["API port"]["ok"] is True


def test_check_exit_zero_when_all_ok_and_table_output(api: DemoApi, tmp_path: Path) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(
        f"probes:\n  - name: health\n    url: {api.base_url}/health\n"
        '    conditions: ["[STATUS] == 200", "[BODY].status == ok"]\n'
    )
    proc = run("check", "--config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[1].startswith("UP")


def test_check_records_history_with_db(api: DemoApi, tmp_path: Path) -> None:
    import sqlite3

    config = tmp_path / "checks.yaml"
    config.write_text(f"probes:\n  - name: health\n    url: {api.base_url}/health\n")
    db = tmp_path / "h.db"
    assert run("check", "--config", str(config), "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from probe_results").fetchone()[0] == 1


def test_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text("probes:\n  - name: x\n    url: http://127.0.0.1:9/\n    timeout: fast\n")
    for args in (("check", "--config", str(config)), ("config", "validate", str(config))):
        proc = run(*args)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "checks.yaml:4: probes[0].timeout:" in lines[0]


def test_config_and_db_before_the_command_are_used(api: DemoApi, tmp_path: Path) -> None:
    """``opsconsole --config X --db Y check`` (as the usage line shows) uses X and Y, and a
    value after the command wins over one before it."""
    import sqlite3

    config = tmp_path / "mine.yaml"
    config.write_text(f"probes:\n  - name: health\n    url: {api.base_url}/health\n")
    db, other = tmp_path / "h.db", tmp_path / "other.db"
    proc = run("--config", str(config), "--db", str(db), "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # no "no checks.yaml found"
    proc = run("--db", str(other), "check", "--config", str(config), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from probe_results").fetchone()[0] == 2
    assert not other.exists()
    broken = tmp_path / "broken.yaml"
    broken.write_text("servce: x\n")
    proc = run("--config", str(broken), "config", "validate", cwd=tmp_path)
    assert proc.returncode == 2 and "broken.yaml:1: servce" in proc.stderr


def test_config_validate_example(tmp_path: Path) -> None:
    proc = run("config", "validate", str(REPO / "checks.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_config_search_uses_cwd(tmp_path: Path) -> None:
    (tmp_path / "checks.yaml").write_text("service: here\n")
    proc = run("config", "validate", cwd=tmp_path)
    assert proc.returncode == 0 and "checks.yaml: ok (0 probes)" in proc.stdout


@pytest.mark.parametrize(
    "sub", [[], ["run"], ["check"], ["status"], ["config", "validate"], ["demo"]]
)
def test_every_subcommand_has_help_with_config_and_db(sub: list[str]) -> None:
    proc = run(*sub, "--help")
    assert proc.returncode == 0
    assert "--config" in proc.stdout and "--db" in proc.stdout


def test_python_dash_m_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "opsconsole", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("opsconsole ")


def test_bad_database_is_one_line_not_a_traceback(api: DemoApi, tmp_path: Path) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(f"probes:\n  - name: health\n    url: {api.base_url}/health\n")
    db = tmp_path / "not-a.db"
    db.write_bytes(b"this is not a database" * 100)
    proc = run("check", "--config", str(config), "--db", str(db))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("opsconsole: history database: cannot open")
    assert db.read_bytes().startswith(b"this is not a database")  # nothing overwritten


@pytest.mark.parametrize(
    "command",
    [
        ["incident", "status"],
        ["tickets", "list"],
        ["checklist"],
        ["handover"],
        ["report"],
    ],
    ids=" ".join,
)
def test_database_path_that_is_a_directory_is_one_line(command: list[str], tmp_path: Path) -> None:
    """SQLite cannot open a directory; the error is one line, with no thread traceback after it.

    aiosqlite's worker thread outlived the event loop when the open failed, and printed
    "RuntimeError: Event loop is closed" twice after the one-line error.
    """
    config = tmp_path / "checks.yaml"
    config.write_text("probes: []\n")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    proc = run("--config", str(config), "--db", str(directory), *command)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"opsconsole: history database: cannot open {directory}: unable to open database file"
    ]
