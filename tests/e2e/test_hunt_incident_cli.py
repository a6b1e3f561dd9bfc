"""Subprocess regression tests for bugs found in the incident and shift CLI (hunt pass)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from incident_cli import setup
from opsconsole.demo.slack_fake import SlackFake

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def test_incident_start_help_works(tmp_path: Path) -> None:
    """``incident start --help`` used to crash: the ``--failing`` help text had a bare
    ``%`` that argparse took for a format directive (TypeError traceback)."""
    run = setup(tmp_path, None)
    proc = run("incident", "start", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "% of requests failing" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--customers", "-3"), "--customers"),
        (("--failing", "nan"), "--failing"),
        (("--failing", "150"), "--failing"),
        (("--failing", "inf"), "--failing"),
    ],
)
def test_impossible_impact_is_refused(tmp_path: Path, args: tuple[str, str], needle: str) -> None:
    """Negative customers or a failing share outside 0-100 (or NaN) used to be stored
    and sent to stakeholders ("-3 customers, ~nan% of requests failing")."""
    run = setup(tmp_path, None)
    proc = run("incident", "start", "--title", "API down", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("opsconsole incident start: error: ")
    assert needle in proc.stderr.strip().splitlines()[-1]
    assert run("incident", "status").returncode == 1  # nothing was declared


def test_refused_all_clear_exits_non_zero(tmp_path: Path, slack: SlackFake) -> None:
    """Slack refusing the all-clear used to print "resolved" and exit 0: stakeholders
    never got it and nobody was told. Now: exit 1 with one line, the incident is still
    resolved, the review written, and the all-clear stays recorded."""
    run = setup(tmp_path, slack)
    assert run("incident", "start", "--title", "API down").returncode == 0
    slack.inject("404")
    proc = run("incident", "resolve", "--root-cause", "pool", "--override", "verified")
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsconsole: incident #1 resolved")
    assert "not delivered" in lines[0] and "404" in lines[0]
    assert slack.secret not in proc.stderr + proc.stdout
    assert run("incident", "status").returncode == 1  # resolved
    assert list((tmp_path / "reviews").glob("incident-1-*.md"))
    [closed] = json.loads(run("incident", "list", "--json").stdout)
    entry = next(e for e in closed["timeline"] if e["kind"] == "all_clear")
    assert entry["delivery"].startswith("slack: failed")
    # the all-clear links the review it points stakeholders to
    assert f"Post-mortem: {closed['review_path']}" in entry["text"]


def test_handover_output_that_cannot_be_written(tmp_path: Path) -> None:
    """``handover --output`` into a missing directory used to end in a traceback."""
    run = setup(tmp_path, None)
    target = tmp_path / "missing" / "handover.md"
    proc = run("handover", "--output", str(target))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsconsole: --output: cannot write")
    assert proc.stdout.strip()  # the handover itself was still printed


def test_incident_list_shows_the_history_metrics_and_mttr(tmp_path: Path) -> None:
    """README: ``incident list`` is "the history with duration, time to first update,
    cadence kept" (issue #5: and MTTR). The text form used to print only the id,
    status, start and title; neither form had the time to resolve."""
    run = setup(tmp_path, None)
    assert run("incident", "start", "--title", "API down").returncode == 0
    assert run("incident", "update", "--message", "INCIDENT: x").returncode == 0
    assert run("incident", "resolve", "--override", "verified").returncode == 0
    proc = run("incident", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("#1 resolved")
    for needle in ("duration ", "first update ", "cadence kept 100%", "API down"):
        assert needle in lines[0], needle
    assert lines[-1].startswith("MTTR ") and "1 resolved" in lines[-1]
    [item] = json.loads(run("incident", "list", "--json").stdout)
    assert item["time_to_resolve_seconds"] is not None
    assert item["time_to_resolve_seconds"] == pytest.approx(item["duration_seconds"])


def test_a_blank_update_is_refused_and_not_recorded(tmp_path: Path, slack: SlackFake) -> None:
    """``update --message "  "`` used to record a blank stakeholder update on the
    append-only timeline (for ever), then fail at Slack."""
    run = setup(tmp_path, slack)
    assert run("incident", "start", "--title", "API down").returncode == 0
    proc = run("incident", "update", "--message", "   ")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "opsconsole: the update is empty: nothing recorded or sent"
    ]
    status = json.loads(run("incident", "status", "--json").stdout)
    assert [e["kind"] for e in status["timeline"]] == ["declared"]
    assert slack.messages == []
