"""Intake end to end on real mailboxes (bug hunt 2).

A real SQLite store, a real aiosmtpd relay on 127.0.0.1 for the §3.1 acknowledgement
(fixture ``relay``), and real mbox files on disk read by ``import_path``.
"""

from __future__ import annotations

from pathlib import Path

from loopback_mail import Recorder
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.tickets import Direction, Status
from opsconsole.tickets.intake import import_path

from ticket_fixtures import intake_config, intake_service, loopback_smtp, raw_mail


def _exchange_oof(subject: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    """An on-premises Exchange out-of-office answer: no Auto-Submitted, no X-Autoreply."""
    head = (
        f"From: Kim Park <kim@globex.com>\r\nTo: support@company.com\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nX-Auto-Response-Suppress: All\r\n"
        "X-MS-Exchange-Inbox-Rules-Loop: kim@globex.com\r\n"
    )
    if in_reply_to:
        head += f"In-Reply-To: {in_reply_to}\r\n"
    return (
        head + "Content-Type: text/plain\r\n\r\nI am out of the office until Monday.\r\n"
    ).encode()


async def test_an_exchange_out_of_office_neither_reopens_nor_opens_nor_gets_an_ack(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    first = raw_mail("API key not working", "401 on every call", message_id="<k1@globex.com>")
    assert (await service.ingest(first, source="t")).number == 101
    await service.set_status(101, Status.PENDING_CUSTOMER)
    content = recorder.envelopes[0].content
    assert isinstance(content, bytes)
    ack = parse_message(content)

    threaded = _exchange_oof(f"Automatic reply: {ack.subject}", "<oof1@globex.com>", ack.message_id)
    result = await service.ingest(threaded, source="oof1")
    assert (result.outcome, result.number) == ("threaded", 101)
    ticket = await store.get_ticket(101)
    assert ticket is not None and ticket.status is Status.PENDING_CUSTOMER

    # The same answer to a mail we cannot place (its threading headers stripped).
    loose = _exchange_oof("Out of Office: Maintenance notice", "<oof2@globex.com>")
    assert (await service.ingest(loose, source="oof2")).outcome == "ignored"
    assert await store.get_ticket(102) is None
    assert len(recorder.envelopes) == 1  # only the first acknowledgement


async def test_a_report_forwarded_as_attachment_is_triaged_from_its_content(
    store: SqliteStore, tmp_path: Path
) -> None:
    service = intake_service(store, intake_config(tmp_path))
    raw = (
        b"From: Kim <kim@globex.com>\r\nTo: support@company.com\r\nSubject: FW: see below\r\n"
        b"Message-ID: <fw1@globex.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
        b"--o\r\nContent-Type: text/plain\r\n\r\nPlease have a look, urgent.\r\n"
        b'--o\r\nContent-Type: message/rfc822; name="alert.eml"\r\n\r\n'
        b"From: alerts@globex.com\r\nSubject: Alert\r\n\r\n"
        b"Database connection failing: connection refused by db-1.\r\n--o--\r\n"
    )
    assert (await service.ingest(raw, source="fw")).number == 101
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert ticket.severity.value == "critical", ticket.triage_rule
    assert "connection refused by db-1" in ticket.thread[0].body


async def test_two_different_mails_with_the_same_message_id_are_both_kept(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A web form or monitoring script that sends every mail with one fixed Message-ID:
    the second report was dropped as a "duplicate". The same mail read again still is one."""
    service = intake_service(store, intake_config(tmp_path))
    first = raw_mail("Contact form: dashboard", "Dashboard blank", message_id="<form@web>")
    second = raw_mail(
        "Contact form: invoice",
        "Why am I charged?",
        sender="ana@umbrella.io",
        message_id="<form@web>",
    )
    assert (await service.ingest(first, source="1")).number == 101
    result = await service.ingest(second, source="2")
    assert (result.outcome, result.number) == ("imported", 102)
    again = [await service.ingest(raw, source="again") for raw in (first, second)]
    assert [r.outcome for r in again] == ["duplicate", "duplicate"]
    ticket = await store.get_ticket(102)
    assert ticket is not None and ticket.requester.address == "ana@umbrella.io"
    assert await store.get_ticket(103) is None


def _mbox(path: Path, *, status: bytes = b"") -> None:
    """An mbox export: an unescaped "From " body line, mail without a Message-ID, and (as
    mutt or Thunderbird write after reading it) optional Status headers."""
    path.write_bytes(
        b"From kim@globex.com Mon Mar  3 10:00:00 2025\n"
        b"From: Kim <kim@globex.com>\nTo: support@company.com\nSubject: Dashboard not loading\n"
        b"Date: Mon, 3 Mar 2025 10:00:00 +0000\n" + status + b"\n"
        b"Hi,\n\nFrom the logs we see a blank page after login.\n\n"
        b"From ana@umbrella.io Mon Mar  3 11:00:00 2025\n"
        b"From: Ana <ana@umbrella.io>\nTo: support@company.com\nSubject: Invoice question\n"
        b"Date: Mon, 3 Mar 2025 11:00:00 +0000\n" + status + b"\nWhy am I charged twice?\n"
    )


async def test_the_same_mbox_imported_twice_loses_and_duplicates_nothing(
    store: SqliteStore, tmp_path: Path
) -> None:
    service = intake_service(store, intake_config(tmp_path))
    box = tmp_path / "export.mbox"
    _mbox(box)
    first = await import_path(service, box)
    assert first.summary() == "imported 2, threaded 0, duplicate 0, rejected 0, ignored 0"
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert ticket.thread[0].body.endswith("From the logs we see a blank page after login.")

    _mbox(box, status=b"Status: RO\nX-Status: A\nX-Mozilla-Status: 0001\n")  # read since
    second = await import_path(service, box)
    assert second.summary() == "imported 0, threaded 0, duplicate 2, rejected 0, ignored 0"
    assert await store.get_ticket(103) is None
    assert [m.direction for m in ticket.thread] == [Direction.INBOUND]
