"""Intake end to end on real-world mailbox situations (bug hunt, issue 4).

A real SQLite store, a real aiosmtpd relay on 127.0.0.1 (plain, loopback: the config's
``starttls: false``) for the §3.1 acknowledgement, and a real Maildir on disk.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from loopback_mail import Recorder
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.core.tickets import Direction, Status
from opsconsole.tickets.intake import MailboxPoller
from opsconsole.tickets.service import ACK_LIMIT_PER_HOUR

from ticket_fixtures import intake_config, intake_service, loopback_smtp, raw_mail


async def test_out_of_office_reply_does_not_reopen_a_ticket_pending_on_the_customer(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """We ask the customer for details; their out-of-office answers our reply. It is kept
    in the thread, but the ticket stays pending on them (the SLA stays paused) and nothing
    is sent back."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    first = raw_mail("API key not working", "401 on every call", message_id="<k1@globex.com>")
    assert (await service.ingest(first, source="t")).outcome == "imported"
    assert len(recorder.envelopes) == 1  # the acknowledgement
    await service.set_status(101, Status.PENDING_CUSTOMER)
    ack_id = parse_message(recorder.envelopes[0].content).message_id  # type: ignore[arg-type]

    ooo = raw_mail(
        "Automatic reply: RE: API key not working - Ticket #101",
        "I am out of the office until Monday.",
        message_id="<ooo-1@globex.com>",
        In_Reply_To=ack_id,
        Auto_Submitted="auto-replied",
    )
    result = await service.ingest(ooo, source="t")

    assert (result.outcome, result.number) == ("threaded", 101)
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert ticket.status is Status.PENDING_CUSTOMER
    assert ticket.pauses and ticket.pauses[-1][1] is None  # still paused
    assert ticket.thread[-1].message_id == "<ooo-1@globex.com>"
    assert len(recorder.envelopes) == 1  # no answer to the auto-reply

    human = raw_mail(
        "RE: API key not working - Ticket #101",
        "Here are the logs.",
        message_id="<k2@globex.com>",
        In_Reply_To=ack_id,
    )
    assert (await service.ingest(human, source="t")).outcome == "threaded"
    reopened = await store.get_ticket(101)
    assert reopened is not None and reopened.status is Status.OPEN


async def test_the_same_mail_ingested_twice_at_once_makes_one_ticket_and_one_ack(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """The same message arriving by Maildir and IMAP in the same moment."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    raw = raw_mail("Dashboard not loading", "Blank page since 9:00", message_id="<d1@x.io>")

    results = await asyncio.gather(*(service.ingest(raw, source=f"s{n}") for n in range(3)))

    assert sorted(r.outcome for r in results) == ["duplicate", "duplicate", "imported"]
    assert len(recorder.envelopes) == 1
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert [m.direction for m in ticket.thread] == [Direction.INBOUND, Direction.OUTBOUND]
    assert await store.get_ticket(102) is None


async def test_mail_without_a_from_address_becomes_a_ticket_with_a_clear_note(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    raw = b"To: support@company.com\r\nSubject: help\r\nMessage-ID: <nf@x>\r\n\r\nno sender\r\n"

    assert (await service.ingest(raw, source="t")).outcome == "imported"

    ticket = await store.get_ticket(101)
    assert ticket is not None and ticket.requester.address == ""
    assert recorder.envelopes == []
    notes = [m.body for m in ticket.thread if m.direction is Direction.NOTE]
    assert len(notes) == 1
    assert notes[0].startswith("Auto-reply not sent: no valid address to send to")
    assert "index" not in notes[0]
    with pytest.raises(ValueError, match=r"^no valid address to send to"):
        await service.reply(101, "Re: help", "Hello")


async def test_a_folder_in_maildir_new_does_not_stall_the_mail_behind_it(
    store: SqliteStore, tmp_path: Path
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1764300000.M1P1.host").write_bytes(
        raw_mail("first", "one", message_id="<f1@x.io>")
    )
    (maildir / "new" / "1764300001.M1P1.host").mkdir()  # a stray folder (a sync tool's)
    (maildir / "new" / "1764300002.M1P1.host").write_bytes(
        raw_mail("third", "three", message_id="<f3@x.io>")
    )
    config = intake_config(tmp_path, maildir=str(maildir))
    poller = MailboxPoller(intake_service(store, config), config)

    report = await poller.poll_once()

    assert poller.error is None
    assert report.counts["imported"] == 2
    assert [(r.source, r.reason) for r in report.results if r.outcome == "rejected"] == [
        ("maildir:1764300001.M1P1.host", "cannot read: not a regular file")
    ]
    third = await store.get_ticket(102)
    assert third is not None and third.subject == "third"
    again = await poller.poll_once()  # reported once, not on every poll
    assert again.results == [] and poller.error is None


async def test_replies_carry_the_whole_thread_in_references(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """Mail clients thread by References: the reply must carry the conversation so far
    (the customer's first mail, our acknowledgement, their answer), not only the last id."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    first = raw_mail(
        "Fwd: Dashboard not loading",
        "See below",
        message_id="<c2@globex.com>",
        References="<c0@globex.com> <c1@globex.com>",
    )
    await service.ingest(first, source="t")
    ack = parse_message(recorder.envelopes[0].content)  # type: ignore[arg-type]
    assert ack.references == ("<c0@globex.com>", "<c1@globex.com>", "<c2@globex.com>")
    answer = raw_mail(
        "RE: Fwd: Dashboard not loading - Ticket #101",
        "Still blank",
        message_id="<c3@globex.com>",
        In_Reply_To=ack.message_id,
        References=f"<c2@globex.com> {ack.message_id}",
    )
    assert (await service.ingest(answer, source="t")).outcome == "threaded"
    await service.add_note(101, "checked the logs")

    await service.reply(101, "Re: Dashboard not loading", "We are on it.")

    sent = parse_message(recorder.envelopes[-1].content)  # type: ignore[arg-type]
    assert sent.in_reply_to == "<c3@globex.com>"
    assert sent.references == ("<c2@globex.com>", ack.message_id, "<c3@globex.com>")


async def test_maildir_poller_states_the_size_cap_like_tickets_import(
    store: SqliteStore, tmp_path: Path
) -> None:
    """With a small ``max_message_bytes`` the poller said "limit 0 MB"; it must give the
    same reason as ``tickets import`` for the same file."""
    from opsconsole.tickets.intake import import_path

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    big = raw_mail("logs attached", "x" * 30_000, message_id="<big@x.io>")
    (maildir / "new" / "1764300000.M1P1.host").write_bytes(big)
    config = intake_config(tmp_path, maildir=str(maildir), max_message_bytes=20_000)
    service = intake_service(store, config)
    imported = await import_path(service, maildir)

    polled = await MailboxPoller(service, config).poll_once()

    (expected,) = [r.reason for r in imported.results]
    assert expected.endswith("(limit 19.5 KB)")
    assert [r.reason for r in polled.results] == [expected]


async def test_a_strangers_order_number_does_not_join_someone_elses_ticket(
    store: SqliteStore, tmp_path: Path
) -> None:
    """ "#N" in a subject threads a mail only when it comes from someone on that ticket
    (or a colleague at the same company): a stranger's "Invoice #101" is a new ticket,
    not a message in Kim's thread."""
    service = intake_service(store, intake_config(tmp_path))
    first = raw_mail("Dashboard not loading", "blank", message_id="<k1@globex.com>")
    assert (await service.ingest(first, source="k")).number == 101
    stranger = raw_mail(
        "Invoice #101 charged twice",
        "Please refund.",
        sender="Pay Ops <pay@hooli.com>",
        message_id="<p1@hooli.com>",
    )
    colleague = raw_mail(
        "Re: Ticket #101", "Same here", sender="Lee <lee@globex.com>", message_id="<l1@globex.com>"
    )
    requester = raw_mail("Update on #101", "Works now", message_id="<k2@globex.com>")

    assert (await service.ingest(stranger, source="s")).number == 102
    assert (await service.ingest(colleague, source="c")).number == 101
    assert (await service.ingest(requester, source="r")).number == 101
    kims = await store.get_ticket(101)
    assert kims is not None
    assert "<p1@hooli.com>" not in [m.message_id for m in kims.thread]
    new = await store.get_ticket(102)
    assert new is not None and new.requester.address == "pay@hooli.com"


async def test_an_autoresponder_without_auto_headers_cannot_loop_with_intake(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """A badly behaved autoresponder answers every acknowledgement with a fresh mail (no
    Auto-Submitted, no In-Reply-To, a new subject). Each becomes a ticket (nothing is
    lost), but the acknowledgements stop, so the mail loop ends."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    first = raw_mail("Dashboard not loading", "blank", message_id="<r0@globex.com>")
    await service.ingest(first, source="human")
    rounds = 0
    while rounds < 30 and len(recorder.envelopes) > rounds:
        rounds += 1
        autoresponse = raw_mail(
            f"Thank you for your message ({rounds})",
            "We received your email and will get back to you.",
            message_id=f"<r{rounds}@globex.com>",
        )
        await service.ingest(autoresponse, source="bot")
    assert rounds < 30, "the acknowledgements never stopped"
    assert len(recorder.envelopes) == ACK_LIMIT_PER_HOUR
    last = await store.get_ticket(100 + rounds + 1)
    assert last is not None
    notes = [m.body for m in last.thread if m.direction is Direction.NOTE]
    assert notes == [
        f"Auto-reply not sent: {ACK_LIMIT_PER_HOUR} other tickets from kim@globex.com "
        "in the last hour (mail loop protection)"
    ]


async def test_reply_to_a_requester_whose_stored_name_has_a_line_break(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A ticket created by another path (an import, a script) with "\\r\\n" in the name: the
    reply still goes out, to the requester only, with the name on one line."""
    from datetime import UTC, datetime

    from opsconsole.core.tickets import Category, Requester, Severity, ThreadMessage, Ticket

    service = intake_service(store, intake_config(tmp_path))
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    ticket = Ticket(
        number=0,
        subject="Dashboard\r\nBcc: victim@example.com",
        requester=Requester("Kim\r\nBcc: victim@example.com", "kim@globex.com"),
        received_at=now,
        category=Category.BUG,
        severity=Severity.HIGH,
    )
    first = ThreadMessage(Direction.INBOUND, now, "kim@globex.com", "hi", message_id="<h@x>")
    stored = await store.create_ticket(ticket, first, actor="script")
    subject, body = service.draft_reply(stored, "initial_response")
    assert body.startswith("Hi Kim Bcc: victim@example.com,\n")

    await service.reply(101, subject, body)

    (sent,) = sorted((tmp_path / "outbox" / "new").iterdir())
    raw = sent.read_bytes()
    head = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and b"victim@example.com>" not in head
    mail = parse_message(raw)
    assert mail.subject == "RE: Dashboard Bcc: victim@example.com - Ticket #101"
    parsed = __import__("email").message_from_bytes(raw, policy=__import__("email").policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["kim@globex.com"]
    assert parsed["To"].addresses[0].display_name == "Kim Bcc: victim@example.com"


async def test_a_reply_whose_in_reply_to_lacks_angle_brackets_is_threaded(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Some mobile and legacy clients write ``In-Reply-To: id@host`` without ``<>``."""
    service = intake_service(store, intake_config(tmp_path))
    first = raw_mail("SSO login fails", "SAML error", message_id="<sso-1@globex.com>")
    assert (await service.ingest(first, source="a")).number == 101
    reply = raw_mail(
        "Re: SSO login fails",
        "Screenshot attached",
        message_id="<sso-2@globex.com>",
        In_Reply_To="sso-1@globex.com",
    )
    result = await service.ingest(reply, source="b")
    assert (result.outcome, result.number) == ("threaded", 101)


async def test_mail_relayed_by_a_google_group_is_the_customers_ticket(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """support@ as a Google Group: Google rewrites From to the group (DMARC) and puts the
    customer in Reply-To. The requester, and the acknowledgement, must be the customer."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    raw = raw_mail(
        "Dashboard shows wrong data",
        "Usage is zero since Monday.",
        sender="'Kim Park' via Support <support@company.com>",
        message_id="<g1@mail.gmail.com>",
        Reply_To="Kim Park <kim@globex.com>",
    )

    assert (await service.ingest(raw, source="g")).outcome == "imported"

    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert (ticket.requester.name, ticket.requester.address) == ("Kim Park", "kim@globex.com")
    assert ticket.requester.company == "globex.com"
    assert [e.rcpt_tos for e in recorder.envelopes] == [["kim@globex.com"]]


async def test_web_form_mail_from_noreply_is_the_reply_to_customers_ticket(
    store: SqliteStore, tmp_path: Path
) -> None:
    service = intake_service(store, intake_config(tmp_path))
    raw = raw_mail(
        "Contact form: billing question",
        "Why am I charged twice?",
        sender="Website <no-reply@forms.example>",
        message_id="<w1@forms.example>",
        Reply_To='"Ruiz, Ana" <ana@umbrella.io>',
    )
    assert (await service.ingest(raw, source="w")).outcome == "imported"
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert (ticket.requester.name, ticket.requester.address) == ("Ruiz, Ana", "ana@umbrella.io")


async def test_a_customers_own_reply_to_does_not_replace_them(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Reply-To is only followed past a relay: Kim asking for answers to her team is
    still Kim's ticket."""
    service = intake_service(store, intake_config(tmp_path))
    raw = raw_mail("API key not working", "401", Reply_To="ops-team@globex.com")
    await service.ingest(raw, source="k")
    ticket = await store.get_ticket(101)
    assert ticket is not None and ticket.requester.address == "kim@globex.com"


async def test_mail_from_the_support_address_never_becomes_a_ticket(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """``email.support_address``: "mail from it never becomes a ticket" (our own copies,
    a colleague's Cc from the shared mailbox), and it gets no acknowledgement."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    raw = raw_mail(
        "Maintenance window tonight",
        "FYI",
        sender="Support <Support@Company.com>",
        message_id="<own-1@company.com>",
    )
    result = await service.ingest(raw, source="own")
    assert (result.outcome, result.reason) == ("ignored", "from the support address")
    assert await store.get_ticket(101) is None
    assert recorder.envelopes == []


class _BlackHole:
    """A TCP server that accepts connections and never says a word (a hung SMTP relay)."""

    def __init__(self) -> None:
        import threading

        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


async def test_a_hung_mail_server_does_not_stall_intake_message_after_message(
    store: SqliteStore, tmp_path: Path
) -> None:
    """The acknowledgement waits for the SMTP timeout once; the next tickets are stored at
    once with a note, instead of each waiting for the dead server again."""
    import time

    hole = _BlackHole()
    try:
        smtp = {"host": "127.0.0.1", "port": hole.port, "starttls": False}
        config = intake_config(tmp_path, smtp=smtp | {"timeout": "2s", "deadline": "5s"})
        service = intake_service(store, config)
        started = time.monotonic()
        first = raw_mail("API down", "500s", message_id="<h1@globex.com>")
        assert (await service.ingest(first, source="1")).outcome == "imported"
        first_took = time.monotonic() - started
        started = time.monotonic()
        for n in (2, 3, 4):
            raw = raw_mail(f"Question {n}", "?", message_id=f"<h{n}@globex.com>")
            assert (await service.ingest(raw, source=str(n))).outcome == "imported"
        rest_took = time.monotonic() - started
    finally:
        hole.close()
    assert first_took >= 1.9  # the SMTP timeout, once
    assert rest_took < 4.0  # three tickets, not three more timeouts (6 s)
    notes = []
    for number in (101, 102, 103, 104):
        ticket = await store.get_ticket(number)
        assert ticket is not None
        notes += [m.body for m in ticket.thread if m.direction is Direction.NOTE]
    assert notes[0].startswith(f"Auto-reply not sent: SMTP 127.0.0.1:{hole.port}: ")
    assert all(
        n.startswith("Auto-reply not sent: the mail server failed: SMTP")
        and "auto-replies resume for new tickets at" in n
        and n.endswith("; reply by hand)")
        for n in notes[1:]
    ), notes
    assert len(notes) == 4


@pytest.mark.parametrize(
    ("subject", "acknowledged"),
    [
        ("Antw: [BUG] Dashboard shows wrong data", "RE: [BUG] Dashboard shows wrong data"),
        ("TR: CRITICAL: data loss in audit logs", "RE: CRITICAL: data loss in audit logs"),
        ("RV: [BUG] webhook retries", "RE: [BUG] webhook retries"),
        ("转发：[BUG] 仪表板无法加载", "RE: [BUG] 仪表板无法加载"),
    ],
)
async def test_forwarded_bug_reports_from_non_english_clients(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path, subject: str, acknowledged: str
) -> None:
    """Dutch/German Outlook ("Antw:"), French ("TR:"), Spanish ("RV:") and Chinese ("转发：")
    prefixes: the [BUG]/CRITICAL: tag behind them still triages critical, and the
    acknowledgement's subject does not repeat the prefix."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    raw = raw_mail(subject, "See the forwarded report below.", message_id="<intl@x.io>")
    assert (await service.ingest(raw, source="i")).outcome == "imported"
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert ticket.severity.value == "critical", ticket.triage_rule
    ack = parse_message(recorder.envelopes[0].content)  # type: ignore[arg-type]
    assert ack.subject == f"{acknowledged} - Ticket #101"


async def test_a_reply_whose_client_dropped_the_threading_headers_joins_by_subject(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Some webmail and mobile clients send "AW: <subject>" with neither In-Reply-To nor
    References. From the same sender to an open ticket with that subject, it is a reply.
    A forward ("Fwd:"), another sender, or a resolved ticket is not joined."""
    service = intake_service(store, intake_config(tmp_path))
    first = raw_mail("Dashboard not loading", "Blank page.", message_id="<s1@globex.com>")
    assert (await service.ingest(first, source="1")).number == 101

    aw = raw_mail("AW: Dashboard not loading", "Still blank.", message_id="<s2@globex.com>")
    re2 = raw_mail("Re: Re: dashboard NOT loading", "Now?", message_id="<s3@globex.com>")
    assert (await service.ingest(aw, source="2")).outcome == "threaded"
    assert (await service.ingest(re2, source="3")).number == 101

    forward = raw_mail("Fwd: Dashboard not loading", "FYI", message_id="<s4@globex.com>")
    other = raw_mail(
        "Re: Dashboard not loading", "me too", sender="x@other.io", message_id="<s5@other.io>"
    )
    assert (await service.ingest(forward, source="4")).number == 102
    assert (await service.ingest(other, source="5")).number == 103
    await service.resolve(101)
    await service.resolve(102)
    late = raw_mail("Re: Dashboard not loading", "again", message_id="<s6@globex.com>")
    assert (await service.ingest(late, source="6")).number == 104


def _postfix_bounce(returned: bytes, message_id: str) -> bytes:
    """A delivery status notification as Postfix sends it (RFC 3464), returning a message."""
    return (
        b"From: MAILER-DAEMON@mx.globex.com (Mail Delivery System)\r\n"
        b"To: support@company.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"Message-Id: " + message_id.encode() + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        b"\r\n--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"This is the mail system at host mx.globex.com.\r\n\r\n"
        b"<kim@globex.com>: host mx.globex.com said: 550 5.1.1 <kim@globex.com>: "
        b"Recipient address rejected: User unknown\r\n"
        b"\r\n--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.globex.com\r\n\r\nFinal-Recipient: rfc822; kim@globex.com\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n--B1\r\nContent-Type: message/rfc822\r\n\r\n" + returned + b"\r\n--B1--\r\n"
    )


async def test_a_bounced_reply_lands_in_its_ticket_and_is_not_answered(
    relay: tuple[int, Recorder], store: SqliteStore, tmp_path: Path
) -> None:
    """Our reply bounces (the customer's mailbox is gone). The bounce carries no
    In-Reply-To, only the returned message: it must show up in the ticket, so the operator
    knows the customer never got the answer, without a ticket or an auto-reply of its own."""
    port, recorder = relay
    service = intake_service(store, intake_config(tmp_path, smtp=loopback_smtp(port)))
    first = raw_mail("API key not working", "401", message_id="<b1@globex.com>")
    await service.ingest(first, source="1")
    await service.set_status(101, Status.PENDING_CUSTOMER)
    await service.reply(101, "Re: API key not working", "Please send the request id.")
    sent = recorder.envelopes[-1].content
    assert isinstance(sent, bytes)
    sent_count = len(recorder.envelopes)

    bounce = _postfix_bounce(sent, "<dsn-1@mx.globex.com>")
    result = await service.ingest(bounce, source="dsn")

    assert (result.outcome, result.number) == ("threaded", 101)
    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert "Recipient address rejected: User unknown" in ticket.thread[-1].body
    assert ticket.status is Status.PENDING_CUSTOMER  # a bounce is not the customer answering
    assert len(recorder.envelopes) == sent_count
    assert await store.get_ticket(102) is None

    unknown = _postfix_bounce(raw_mail("x", "y", message_id="<other@x.io>"), "<dsn-2@mx>")
    assert (await service.ingest(unknown, source="dsn2")).outcome == "ignored"
