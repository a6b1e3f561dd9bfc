"""Run the installed ``opsconsole`` on a config with an incident section (and Slack)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from opsconsole.demo.slack_fake import SlackFake

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def setup(
    tmp_path: Path, slack: SlackFake | None, *prefix: str
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """A ``run(*args)`` for ``opsconsole *prefix *args --config … --db …`` in ``tmp_path``.

    The webhook comes from ``${SLACK_WEBHOOK_URL}`` (empty without ``slack``); stdin is
    not a TTY, as in a script.
    """
    config = tmp_path / "checks.yaml"
    text = f"incident:\n  reviews_dir: {tmp_path / 'reviews'}\n"
    if slack is not None:
        text += "  slack: {webhook: '${SLACK_WEBHOOK_URL}'}\n"
    config.write_text(text)
    env = {**os.environ, "SLACK_WEBHOOK_URL": slack.webhook_url if slack else ""}
    db = tmp_path / "i.db"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(OPSCONSOLE), *prefix, *args, "--config", str(config), "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    return run
