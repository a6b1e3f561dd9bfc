"""End to end: the installed ``opsconsole demo`` in tmux, read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.realserver

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def _need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required under CI=true (.ci/run installs it)")
        pytest.skip("tmux not installed")
    return tmux


class Tmux:
    def __init__(self, tmux: str, socket: str, session: str) -> None:
        self.tmux, self.socket, self.session = tmux, socket, session

    def cmd(self, *args: str) -> str:
        out = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return out.stdout

    def screen(self) -> str:
        return self.cmd("capture-pane", "-p", "-t", self.session)

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")

    def alive(self) -> bool:
        return bool(self.cmd("list-sessions").strip())


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Tmux]:
    tmux = _need_tmux()
    assert OPSCONSOLE.exists(), "opsconsole is not installed in this environment"
    socket = f"opsconsole-e2e-{uuid.uuid4().hex[:8]}"
    env = {
        "OPSCONSOLE_DEMO_HEALTHY_SECONDS": "6",
        "OPSCONSOLE_DEMO_UNHEALTHY_SECONDS": "10",
        "OPSCONSOLE_DEMO_INTERVAL": "1s",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "LANG": "C.UTF-8",
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    command = f"env -u COLUMNS -u LINES {exports} {OPSCONSOLE} demo --db {tmp_path / 'demo.db'}"
    subprocess.run(
        [tmux, "-L", socket, "new-session", "-d", "-s", "ops", "-x", "160", "-y", "48", command],
        check=True,
    )
    session = Tmux(tmux, socket, "ops")
    try:
        # First launch of a shift: the checklist opens by itself; close it for the dashboard.
        session.wait_for(lambda s: "Start-of-shift checklist" in s, 30, "the checklist")
        session.cmd("send-keys", "-t", "ops", "Escape")
        yield session
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, check=False)


def _row(screen: str, name: str) -> str:
    return next((line for line in screen.splitlines() if name in line), "")


def test_demo_health_goes_down_and_recovers(demo: Tmux) -> None:
    """The health pane shows the demo API up, then down with its failing condition, then up."""
    screen = demo.wait_for(lambda s: "UP" in _row(s, "API health"), 20, "API health UP")
    assert "AI Governance API (demo)" in screen
    assert "Dashboard" in screen and "API port" in screen
    screen = demo.wait_for(lambda s: "DOWN" in _row(s, "API health"), 30, "API health DOWN")
    assert "[STATUS] (503) == 200" in _row(screen, "API health")
    screen = demo.wait_for(lambda s: "UP" in _row(s, "API health"), 30, "API health back UP")
    assert "Slow endpoint" in screen and "DEGRADED" in _row(screen, "Slow endpoint")


def test_demo_keys_pause_help_quit(demo: Tmux) -> None:
    demo.wait_for(lambda s: "UP" in _row(s, "API health"), 20, "first results")
    demo.cmd("send-keys", "-t", "ops", "p")
    demo.wait_for(lambda s: "PAUSED" in s, 5, "PAUSED in the header")
    demo.cmd("send-keys", "-t", "ops", "?")
    demo.wait_for(lambda s: "Pause / resume polling" in s, 5, "help screen")
    demo.cmd("send-keys", "-t", "ops", "Escape")
    demo.wait_for(lambda s: "Pause / resume polling" not in s, 5, "help closed")
    demo.cmd("send-keys", "-t", "ops", "q")
    deadline = time.monotonic() + 10
    while demo.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not demo.alive(), "opsconsole did not exit on q"


def test_demo_opens_the_checklist_with_automatic_items_resolved(tmp_path: Path) -> None:
    """Done-when of the checklist issue: at the start of a shift the demo shows the checklist
    with its automatic items already resolved, each with its evidence."""
    tmux = _need_tmux()
    socket = f"opsconsole-e2e-{uuid.uuid4().hex[:8]}"
    command = (
        f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path / 'state'} "
        f"OPSCONSOLE_DEMO_PROMETHEUS=0 LANG=C.UTF-8 {OPSCONSOLE} demo --db {tmp_path / 'd.db'}"
    )
    subprocess.run(
        [tmux, "-L", socket, "new-session", "-d", "-s", "ops", "-x", "160", "-y", "48", command],
        check=True,
    )
    session = Tmux(tmux, socket, "ops")
    try:
        screen = session.wait_for(
            lambda s: "API health: up" in s and "new since" in s, 30, "resolved automatic items"
        )
        assert "Start-of-shift checklist" in screen
        assert "✘ Check status page" in screen and "minor:" in screen
        assert "✔ Verify API health" in screen
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, check=False)


def test_demo_shows_every_pane_live(demo: Tmux) -> None:
    """The demo brings up Sentry, metrics (real Prometheus), alerts and the status page."""
    if shutil.which("prometheus") is None and os.environ.get("CI") != "true":
        pytest.skip("prometheus not installed")
    screen = demo.wait_for(lambda s: "Unresolved" in s, 20, "the Sentry counts")
    assert "New 24h" in screen
    demo.wait_for(lambda s: "MINOR" in s and "degraded_performance" in s, 20, "the status page")
    demo.wait_for(lambda s: "AlwaysFiringWatchdog" in s, 40, "the watchdog alert")
    screen = demo.wait_for(
        lambda s: "req/s" in _row(s, "request rate") and "updated" in s, 40, "metrics values"
    )
    assert "p95 latency" in screen and "5xx error rate" in screen
