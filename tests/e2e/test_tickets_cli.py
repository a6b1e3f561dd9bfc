"""Subprocess tests of ``opsconsole tickets import`` and ``opsconsole tickets list``."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path

from ticket_fixtures import raw_mail

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSCONSOLE), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def make_maildir(path: Path) -> Path:
    box = mailbox.Maildir(str(path), create=True)
    box.add(
        raw_mail(
            "CRITICAL: API returning 500 errors", "All requests fail.", message_id="<c1@acme.io>"
        )
    )
    box.add(raw_mail("How do I create a policy?", "Docs?", message_id="<q1@globex.com>"))
    box.add(
        raw_mail(
            "Re: How do I create a policy?",
            "More detail",
            message_id="<q2@globex.com>",
            In_Reply_To="<q1@globex.com>",
        )
    )
    box.add(
        raw_mail("Out of office", "away", message_id="<o1@x.io>", Auto_Submitted="auto-replied")
    )
    box.add(b"\x00\x01 this is not an email at all")
    return path


def test_import_is_idempotent_and_reports_counts(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Mail")
    db = str(tmp_path / "t.db")
    first = run("tickets", "import", str(maildir), "--db", db, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = first.stdout.strip().splitlines()[-1]
    assert summary == "imported 2, threaded 1, duplicate 0, rejected 1, ignored 1"
    assert any(line.startswith("rejected") for line in first.stdout.splitlines())
    again = run("tickets", "import", str(maildir), "--db", db, cwd=tmp_path)
    assert again.stdout.strip().splitlines()[-1].startswith("imported 0, threaded 0, duplicate 3")


def test_list_json_has_the_documented_fields(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Mail")
    db = str(tmp_path / "t.db")
    run("tickets", "import", str(maildir), "--db", db, cwd=tmp_path)
    proc = run("tickets", "list", "--json", "--db", db, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tickets = json.loads(proc.stdout)
    assert [t["id"] for t in tickets] == [101, 102]  # most urgent first
    first = tickets[0]
    for key in (
        "id",
        "subject",
        "requester",
        "category",
        "severity",
        "status",
        "response_due",
        "resolution_due",
        "sla_state",
        "triage_rule",
    ):
        assert key in first, key
    assert first["severity"] == "critical" and first["category"] == "bug"
    assert first["requester"]["address"] == "kim@globex.com"
    assert first["resolution_due"] is None  # critical resolution: best effort
    table = run("tickets", "list", "--db", db, cwd=tmp_path)
    assert "#101" in table.stdout and "CRITICAL: API returning 500 errors" in table.stdout
    resolved = run("tickets", "list", "--status", "resolved", "--json", "--db", db, cwd=tmp_path)
    assert json.loads(resolved.stdout) == []


def test_unreadable_path_exits_non_zero(tmp_path: Path) -> None:
    proc = run(
        "tickets", "import", str(tmp_path / "nope"), "--db", str(tmp_path / "t.db"), cwd=tmp_path
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("opsconsole: ")


def test_a_reply_is_threaded_whatever_the_maildir_names_sort_like(tmp_path: Path) -> None:
    """Maildir names carry the delivery time with microseconds not zero-padded, so within
    one second a plain string sort can put a reply before the message it answers."""
    from opsconsole.adapters.mail import delivery_order, iter_source

    mailbox.Maildir(str(tmp_path / "Mail"), create=True)  # new/, cur/, tmp/
    question = raw_mail("How do I create a policy?", "Docs?", message_id="<q1@globex.com>")
    reply = raw_mail(
        "Re: How do I create a policy?",
        "More detail",
        message_id="<q2@globex.com>",
        In_Reply_To="<q1@globex.com>",
    )
    # delivered in this order, 5,234 µs and 123,456 µs into the same second
    for name, raw in (
        ("1764300000.M5234P7Q1.host", question),
        ("1764300000.M123456P7Q2.host", reply),
    ):
        (tmp_path / "Mail" / "new" / name).write_bytes(raw)
    names = ["1764300000.M123456P7Q2.host", "1764300000.M5234P7Q1.host"]
    assert sorted(names) == names  # what a string sort did
    assert sorted(names, key=delivery_order) == names[::-1]
    assert [source for source, _raw in iter_source(tmp_path / "Mail")] == [
        "new/1764300000.M5234P7Q1.host",
        "new/1764300000.M123456P7Q2.host",
    ]
    db = str(tmp_path / "t.db")
    done = run("tickets", "import", str(tmp_path / "Mail"), "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("imported 1, threaded 1")


def test_db_before_the_command_is_where_tickets_go(tmp_path: Path) -> None:
    """``opsconsole --db X tickets import``: the tickets land in X, not the default DB."""
    maildir = make_maildir(tmp_path / "Mail")
    db = tmp_path / "before.db"
    env_home = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "st")}
    proc = subprocess.run(
        [str(OPSCONSOLE), "--db", str(db), "tickets", "import", str(maildir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, **env_home},
    )
    assert proc.returncode == 0, proc.stderr
    listed = run("tickets", "list", "--json", "--db", str(db), cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 2
    assert not (tmp_path / "data" / "opsconsole" / "opsconsole.db").exists()
