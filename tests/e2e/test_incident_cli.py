"""Subprocess tests of ``opsconsole incident start|update|status|resolve|list``."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import incident_cli
from opsconsole.demo.slack_fake import SlackFake

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def setup(tmp_path: Path, slack: SlackFake | None):
    """``opsconsole incident …`` (tests/incident_cli.py)."""
    return incident_cli.setup(tmp_path, slack, "incident")


def test_start_update_status_resolve_list(tmp_path: Path, slack: SlackFake) -> None:
    """The whole loop from a script, through the same path as the console."""
    run = setup(tmp_path, slack)
    started = run("start", "--title", "API down", "--component", "API", "--customers", "3")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("incident #1 declared")
    again = run("start", "--title", "second")
    assert again.returncode == 1 and again.stderr.startswith("opsconsole: ")
    update = run("update", "--message", "INCIDENT: API down - investigating")
    assert update.returncode == 0, update.stderr
    assert "slack: ok" in update.stdout
    assert slack.messages[-1]["text"] == "INCIDENT: API down - investigating"
    status = json.loads(run("status", "--json").stdout)
    assert status["id"] == 1 and status["status"] == "investigating"
    assert status["impact"]["customers"] == 3
    assert [e["kind"] for e in status["timeline"]] == ["declared", "update"]
    refused = run("resolve", "--root-cause", "pool", "--fix", "bigger pool")
    assert refused.returncode == 1 and "monitoring" in refused.stderr
    resolved = run(
        "resolve", "--root-cause", "pool", "--fix", "bigger pool", "--override", "verified"
    )
    assert resolved.returncode == 0, resolved.stderr
    review = next((tmp_path / "reviews").glob("incident-1-*.md")).read_text()
    assert "INCIDENT: API down - investigating" in review and "pool" in review
    history = json.loads(run("list", "--json").stdout)
    assert history[0]["status"] == "resolved" and history[0]["review_path"]
    for proc in (started, update, resolved):
        assert slack.secret not in proc.stdout + proc.stderr


def test_slack_refusal_exits_non_zero_without_printing_the_webhook(
    tmp_path: Path, slack: SlackFake
) -> None:
    run = setup(tmp_path, slack)
    run("start", "--title", "API down")
    slack.inject("404")
    proc = run("update", "--message", "INCIDENT: x")
    assert proc.returncode == 1
    assert "404" in proc.stderr and slack.secret not in proc.stderr + proc.stdout
    status = json.loads(run("status", "--json").stdout)
    assert status["timeline"][-1]["kind"] == "update"  # recorded even though refused


def test_no_active_incident_is_a_one_line_error(tmp_path: Path) -> None:
    run = setup(tmp_path, None)
    for args in (("status",), ("update", "--message", "x"), ("resolve",)):
        proc = run(*args)
        assert proc.returncode == 1
        assert proc.stderr.strip() == "opsconsole: no active incident"


def test_two_processes_resolving_at_once_send_one_all_clear(
    tmp_path: Path, slack: SlackFake
) -> None:
    """`opsconsole incident resolve` run twice at the same moment (two shells, or a shell
    and a console): exactly one process sends the all-clear and writes the review; the
    other exits 1 with one line saying who resolved it and when, and sends nothing."""
    run = setup(tmp_path, slack)
    assert run("start", "--title", "API down").returncode == 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda _: run("resolve", "--override", "verified"), range(2)))
    won = [p for p in procs if p.returncode == 0]
    lost = [p for p in procs if p.returncode != 0]
    assert len(won) == 1 and len(lost) == 1, [(p.returncode, p.stderr) for p in procs]
    assert won[0].stdout.startswith("incident #1 resolved; review written to ")
    assert lost[0].returncode == 1 and lost[0].stdout == ""
    assert re.fullmatch(
        r"opsconsole: incident #1 was already resolved \(by .+ at "
        r"(\d{4}-\d\d-\d\d )?\d\d:\d\d UTC\): the all-clear was not sent again\n",
        lost[0].stderr,
    ), lost[0].stderr
    assert len([m for m in slack.messages if m["text"].startswith("✅ Issue: API down")]) == 1
    assert len(list((tmp_path / "reviews").glob("*.md"))) == 1
    with closing(sqlite3.connect(tmp_path / "i.db")) as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM incident_timeline")]
        status = db.execute("SELECT status FROM incidents WHERE id = 1").fetchone()
    assert kinds.count("all_clear") == 1 and kinds.count("review") == 1
    assert status == ("resolved",)
    again = run("resolve", "--override", "verified")  # later: the same line, nothing sent
    assert again.returncode == 1 and again.stderr == lost[0].stderr
    assert len([m for m in slack.messages if m["text"].startswith("✅")]) == 1


def test_a_composed_later_update_never_sends_a_step_5_placeholder(
    tmp_path: Path, slack: SlackFake
) -> None:
    """`incident update` without --message, after a first update: Step 5 lines come from
    --next-steps/--eta/--customer-action; one without a value is left out, not sent as
    `[Next steps]`, and stderr says which."""
    run = setup(tmp_path, slack)
    run("start", "--title", "API down")
    assert run("update").returncode == 0  # the first update has no Step 5 lines
    first = slack.messages[-1]["text"]
    assert "Next Steps" not in first and "[" not in first.split("Timeline:")[0]

    bare = run("update")
    assert bare.returncode == 0, bare.stderr
    text = slack.messages[-1]["text"]
    assert "[Next steps]" not in text and "Next Steps" not in text
    assert "[Expected resolution time]" not in text and "[Any customer action needed]" not in text
    assert "note: left out" in bare.stderr and "[Next steps]" in bare.stderr

    filled = run("update", "--next-steps", "roll back 4.2", "--eta", "03:30 UTC")
    assert filled.returncode == 0, filled.stderr
    text = slack.messages[-1]["text"]
    assert "Next Steps: roll back 4.2" in text and "Expected Resolution: 03:30 UTC" in text
    assert "Customer Action" not in text
    assert "[Any customer action needed]" in filled.stderr and "[Next steps]" not in filled.stderr

    explicit = run("update", "--message", "Hi [Customer Name], still on it")
    assert explicit.returncode == 0
    assert slack.messages[-1]["text"] == "Hi [Customer Name], still on it"  # sent as written
    assert "still holds: [Customer Name]" in explicit.stderr

    resolved = run("resolve", "--override", "verified")
    assert resolved.returncode == 0, resolved.stderr
    assert "[Why it happened]" in resolved.stderr and "[What we did]" in resolved.stderr
    done = run("status")
    assert done.returncode == 1  # resolved: no active incident


def test_set_changes_status_severity_and_impact_each_recorded(
    tmp_path: Path, slack: SlackFake
) -> None:
    run = setup(tmp_path, slack)
    run("start", "--title", "API down", "--customers", "3", "--failing", "40")
    nothing = run("set")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    bad = run("set", "--severity", "low")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    changed = run("set", "--severity", "high", "--customers", "12", "--status", "identified")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == (
        "#1 identified high: impact 12 customers, ~40% of requests failing"
    )
    unknown = run("set", "--failing", "")  # blank: no longer known; customers kept
    assert unknown.stdout.strip().endswith("impact 12 customers")
    status = json.loads(run("status", "--json").stdout)
    assert status["severity"] == "high" and status["status"] == "identified"
    texts = [e["text"] for e in status["timeline"]]
    assert "Status: identified" in texts and "Severity: high (was critical)" in texts
    assert "Impact: 12 customers, ~40% of requests failing" in texts
    update = run("update")
    assert update.returncode == 0
    sent = slack.messages[-1]["text"]
    assert sent.startswith("INCIDENT: API down - Severity High")
    assert "Severity: high (was critical)" in sent and "- Impact: 12 customers" in sent
    monitoring = run("set", "--status", "monitoring")
    assert monitoring.returncode == 0
    assert json.loads(run("status", "--json").stdout)["status"] == "monitoring"
