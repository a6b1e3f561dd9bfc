"""IMAP folders as real mailboxes name them (bug hunt, issue 4), against pymap on 127.0.0.1.

IMAP folder names travel in modified UTF-7 (RFC 3501 §5.1.3): "Entwürfe" is ``Entw&APw-rfe``
and "Support & Sales" is ``Support &- Sales``. ``email.imap.folder`` is written as people
read it; the poller must encode it, and still accept a name already encoded.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback_mail import free_port
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.mail_transport import ImapPoller, ImapSettings

USER = "support"
PASSWORD = "canary-imap-pw-4d1"
PYMAP = Path(sys.executable).with_name("pymap")


@pytest.fixture
def pymap_port(tmp_path: Path) -> Iterator[int]:
    if not PYMAP.exists():
        pytest.fail("pymap is not installed in the venv (pip install pymap)")
    port = free_port()
    args = [str(PYMAP), "--host", "127.0.0.1", "--port", str(port), "--no-tls"]
    args += ["dict", "--demo-user", USER, "--demo-password", PASSWORD]
    log = (tmp_path / "pymap.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("pymap did not start")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _deliver(port: int, encoded_folder: str, subject: str) -> None:
    """Create the folder (its wire name) and append one message, as another client would."""
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    try:
        conn.login(USER, PASSWORD)
        assert conn.create(f'"{encoded_folder}"')[0] == "OK"
        raw = (
            f"From: kim@globex.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nhi\r\n"
        )
        assert conn.append(f'"{encoded_folder}"', None, None, raw.encode())[0] == "OK"
    finally:
        conn.logout()


@pytest.mark.parametrize(
    ("folder", "wire"),
    [
        ("Entwürfe", "Entw&APw-rfe"),
        ("Support & Sales", "Support &- Sales"),
        ("Kunden/Änderungen", "Kunden/&AMQ-nderungen"),
        ("Entw&APw-rfe", "Entw&APw-rfe"),  # already encoded, as the server lists it
    ],
)
async def test_poll_a_folder_whose_name_needs_modified_utf7(
    pymap_port: int, folder: str, wire: str
) -> None:
    _deliver(pymap_port, wire, "in-folder")
    settings = ImapSettings(
        host="127.0.0.1",
        port=pymap_port,
        user=USER,
        password=PASSWORD,
        folder=folder,
        tls=False,
        timeout=5,
        deadline=20,
    )
    fetched = await ImapPoller(settings).fetch_unseen()
    assert [parse_message(raw).subject for _, raw in fetched] == ["in-folder"]


async def test_a_backlog_of_big_mail_is_fetched_over_several_polls(pymap_port: int) -> None:
    """Every fetched message is held in memory until stored: 200 unseen 20 MB mails must not
    be downloaded in one poll. A poll takes what fits its byte budget; the rest stays unseen
    for the next one, and nothing is skipped or lost."""
    conn = imaplib.IMAP4("127.0.0.1", pymap_port, timeout=5)
    try:
        conn.login(USER, PASSWORD)
        for n in range(5):
            raw = (
                f"From: kim@globex.com\r\nSubject: logs {n}\r\nMessage-ID: <big-{n}@x>\r\n\r\n"
                + "x" * 10_000
                + "\r\n"
            )
            assert conn.append("INBOX", None, None, raw.encode())[0] == "OK"
    finally:
        conn.logout()
    settings = ImapSettings(
        host="127.0.0.1", port=pymap_port, user=USER, password=PASSWORD, tls=False, timeout=5
    )
    poller = ImapPoller(settings, max_bytes=50_000, max_poll_bytes=25_000)
    subjects: list[str] = []
    for _ in range(5):
        fetched = await poller.fetch_unseen()
        if not fetched:
            break
        assert sum(len(raw) for _, raw in fetched) <= 25_000
        assert poller.skipped == []
        subjects += [parse_message(raw).subject for _, raw in fetched]
        await poller.mark_seen([uid for uid, _ in fetched])
    assert [s for s in subjects if s.startswith("logs")] == [f"logs {n}" for n in range(5)]


async def test_folder_recreated_between_fetch_and_mark_seen_loses_no_mail(
    pymap_port: int,
) -> None:
    """UIDs name messages only within one UIDVALIDITY. The folder is deleted and created
    again (a server migration, a cleanup script) while intake stores what it fetched: the
    new folder's first message has the same UID as the old one. Marking "UID 101 seen"
    then would hide a message intake never read."""
    _deliver(pymap_port, "Support", "before")
    settings = ImapSettings(
        host="127.0.0.1",
        port=pymap_port,
        user=USER,
        password=PASSWORD,
        folder="Support",
        tls=False,
        timeout=5,
    )
    poller = ImapPoller(settings)
    fetched = await poller.fetch_unseen()
    assert [parse_message(raw).subject for _, raw in fetched] == ["before"]

    conn = imaplib.IMAP4("127.0.0.1", pymap_port, timeout=5)
    try:
        conn.login(USER, PASSWORD)
        assert conn.delete("Support")[0] == "OK"
    finally:
        conn.logout()
    _deliver(pymap_port, "Support", "after")

    await poller.mark_seen([uid for uid, _ in fetched])

    again = await poller.fetch_unseen()
    assert [parse_message(raw).subject for _, raw in again] == ["after"]
