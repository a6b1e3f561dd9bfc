"""Bug hunt: ``opsconsole checklist``, ``report`` and ``handover`` on a fresh install."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
SLA_REVIEW = "SLA review (how many 99.5% uptime incidents?)"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def fresh(tmp_path: Path) -> list[str]:
    """A config with two probes (nothing listens on port 9) and an empty database."""
    config = tmp_path / "checks.yaml"
    config.write_text(
        "timezone: Europe/Berlin\n"
        "probes:\n"
        "  - {name: API health, url: 'http://127.0.0.1:9/health', timeout: 2s}\n"
        "  - {name: Dashboard, url: 'http://127.0.0.1:9/', timeout: 2s}\n"
    )
    return ["--config", str(config), "--db", str(tmp_path / "fresh.db")]


def test_fresh_install_sla_review_does_not_claim_the_uptime_target_was_met(
    tmp_path: Path,
) -> None:
    proc = run("checklist", "--json", *fresh(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # both probes are down
    items = {i["text"]: i for i in json.loads(proc.stdout)}
    evidence = items[SLA_REVIEW]["evidence"]
    assert "every probe met" not in evidence
    assert "no probe data" in evidence and "0 incidents" in evidence


def test_fresh_install_report_lists_configured_probes_without_data(tmp_path: Path) -> None:
    """A probe with no history is shown as "—", not silently left out of the report."""
    args = fresh(tmp_path)
    proc = run("report", "--format", "json", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    uptime = {u["probe"]: u for u in json.loads(proc.stdout)["uptime"]}
    assert set(uptime) == {"API health", "Dashboard"}
    assert uptime["Dashboard"]["uptime_percent"] is None and uptime["Dashboard"]["met"] is None
    md = run("report", *args, cwd=tmp_path).stdout
    assert "| Dashboard | — | 99.5% | 0.0 min | 0 | 0.0% | — |" in md  # nothing probed yet


def test_handover_without_alertmanager_says_alerts_were_not_checked(tmp_path: Path) -> None:
    proc = run("handover", *fresh(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    alerts = proc.stdout.split("*Alerts firing*", 1)[1].split("\n\n", 1)[0]
    assert alerts.strip() == "not checked: Alertmanager is not configured"
