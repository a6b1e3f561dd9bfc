"""Files that hold customer data or tracebacks are private to the user.

Before the fix the history database (tickets: names, addresses, mail bodies) and its
``-wal``/``-shm`` were created with the umask's mode (0644: readable by every local
user), and so was the log file with its tracebacks. Each test runs a real process with
umask 022.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def run(code: str, tmp_path: Path) -> None:
    prelude = "import os\nos.umask(0o022)\n"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    env.pop("OPSCONSOLE_SENTRY_DSN", None)
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "ops.db"
    run(
        f"""
        import asyncio
        from datetime import UTC, datetime
        from pathlib import Path
        from opsconsole.adapters.sqlite_store import SqliteStore
        from opsconsole.core.models import Outcome, ProbeResult

        async def main():
            store = await SqliteStore.open(Path({str(db)!r}))
            await store.record_probe_result(ProbeResult("api", datetime.now(UTC), Outcome.OK))
            for suffix in ("", "-wal", "-shm"):
                path = Path({str(db)!r} + suffix)
                print(suffix, oct(path.stat().st_mode & 0o777))
                assert path.stat().st_mode & 0o077 == 0, (suffix, oct(path.stat().st_mode))
            await store.close()

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700


def test_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    """An existing file (a team's shared database) is not re-permissioned."""
    db = tmp_path / "ops.db"
    db.write_bytes(b"")
    db.chmod(0o640)
    run(
        f"""
        import asyncio
        from pathlib import Path
        from opsconsole.adapters.sqlite_store import SqliteStore

        async def main():
            await (await SqliteStore.open(Path({str(db)!r}))).close()

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert mode(db) == 0o640


def test_log_file_is_private(tmp_path: Path) -> None:
    run(
        """
        import logging
        from opsconsole.cli import _setup_file_logging
        from opsconsole.config.schema import Config

        path = _setup_file_logging(Config())
        assert path is not None
        logging.getLogger("opsconsole").warning("hello")
        print(path)
        """,
        tmp_path,
    )
    log = tmp_path / "state" / "opsconsole" / "opsconsole.log"
    assert "hello" in log.read_text()
    assert mode(log) == 0o600
    assert mode(log.parent) == 0o700


def test_existing_world_readable_log_file_is_made_private(tmp_path: Path) -> None:
    log = tmp_path / "state" / "opsconsole" / "opsconsole.log"
    log.parent.mkdir(parents=True)
    log.write_text("old line\n")
    log.chmod(0o644)
    run(
        """
        from opsconsole.cli import _setup_file_logging
        from opsconsole.config.schema import Config

        assert _setup_file_logging(Config()) is not None
        """,
        tmp_path,
    )
    assert mode(log) == 0o600
    assert log.read_text().startswith("old line\n")  # appended to, not truncated


# -- an unexpected exception in a command ------------------------------------------------

CRASH = r"""
import sys
from opsconsole import cli

def boom(args):
    raise RuntimeError(
        "post failed for https://bot:PWCANARY77@chat.example.com/x?token=QCANARY88\n"
        "next line \x1b]52;c;cHduZWQ=\x07 [@click=app.quit]x[/]"
    )

cli._validate = boom
sys.exit(cli.main(["config", "validate", "checks.yaml"]))
"""


def test_unexpected_error_is_one_redacted_terminal_safe_line(tmp_path: Path) -> None:
    """Before: Python's traceback, with the URL's password and token and the raw ESC."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CRASH],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("opsconsole: unexpected error: RuntimeError: post failed for")
    assert "PWCANARY77" not in line and "QCANARY88" not in line
    assert "\x1b" not in line and "\x07" not in line and "^[]52" in line
    log = tmp_path / "state" / "opsconsole" / "opsconsole.log"
    assert f"(traceback in {log})" in line
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError" in text
    assert "PWCANARY77" not in text and "QCANARY88" not in text
    assert mode(log) == 0o600


def test_log_file_is_rotated_and_every_rotated_file_is_private(tmp_path: Path) -> None:
    """Before: one log file that grew without bound (a failing source logs every poll)."""
    run(
        """
        import logging
        from opsconsole import cli
        from opsconsole.config.schema import Config

        cli.LOG_MAX_BYTES = 20_000  # the real limit is 5 MiB; the mechanism is the same
        assert cli._setup_file_logging(Config()) is not None
        log = logging.getLogger("opsconsole.polling")
        for i in range(3000):
            log.warning("source sentry failed: connection refused (%05d) %s", i, "x" * 60)
        """,
        tmp_path,
    )
    folder = tmp_path / "state" / "opsconsole"
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["opsconsole.log", "opsconsole.log.1", "opsconsole.log.2"]
    for file in files:
        assert file.stat().st_size <= 20_000
        assert mode(file) == 0o600, file.name
    assert "(02999)" in (folder / "opsconsole.log").read_text()  # the newest lines are kept


def test_probe_config_repr_hides_url_credentials_query_and_body() -> None:
    """``repr`` reaches tracebacks, Sentry's locals and debug logs: a probe's URL password,
    its ``?token=`` and its request body (a login probe's password) must not be in it."""
    from opsconsole.config.loader import loads_config

    config = loads_config(
        "probes:\n"
        "  - name: login\n"
        "    url: https://alice:hunter2@example.com/health?token=QUERYSECRET\n"
        "    method: POST\n"
        '    body: \'{"password": "BODYSECRET"}\'\n'
    )
    probe = config.probes[0]
    for text in (repr(probe), str(probe), repr(config), str(config)):
        assert "hunter2" not in text and "QUERYSECRET" not in text and "BODYSECRET" not in text
    assert "https://***@example.com/health?***" in repr(probe)
    assert probe.url == "https://alice:hunter2@example.com/health?token=QUERYSECRET"  # unchanged
