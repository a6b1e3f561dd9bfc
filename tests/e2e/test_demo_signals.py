"""``opsconsole demo`` leaves no Prometheus or Alertmanager behind when its terminal closes.

The demo starts the two binaries in their own session (so a Ctrl-C reaches only the
console) and stops them on exit through ``atexit``, but SIGHUP (the terminal window closed)
and SIGTERM (``kill``) end Python without ``atexit``. They used to leave both servers
running with their temporary directory; the stack now stops them from a signal handler and
removes the directory.
Real binaries, real signals: skips without them locally, fails under ``CI=true``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsconsole.demo.prom_stack import PromStack

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:") and int(line.split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _stack_dir(pid: int) -> Path:
    """The stack's temporary directory, from the server's ``--config.file=…`` argument."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    config = next(a for a in args if a.startswith("--config.file="))
    return Path(config.removeprefix("--config.file=")).parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited


@pytest.mark.realserver
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_the_demo_stops_its_servers_when_killed(signum: int, tmp_path: Path) -> None:
    reason = PromStack.missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [str(OPSCONSOLE), "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    servers: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "demo services running; config: …" once all are up
        assert "demo services running" in line, line
        servers = [
            pid
            for pid in _children(proc.pid)
            if "prometheus" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        ]
        # One Prometheus and one Alertmanager (the services used to be started twice).
        assert len(servers) == 2, servers
        dirs = {_stack_dir(pid) for pid in servers}
        assert all(d.name.startswith("opsconsole-prom-") and d.exists() for d in dirs), dirs
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == -signum  # it still dies of the signal
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in servers if _alive(pid)], "servers left running"
        assert not [d for d in dirs if d.exists()], "temporary directory left behind"
    finally:
        servers += _children(proc.pid) if proc.poll() is None else []
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in servers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
