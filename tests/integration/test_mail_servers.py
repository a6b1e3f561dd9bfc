"""Ticket intake and outgoing mail through TicketService against real servers on 127.0.0.1.

IMAP is pymap (``dict`` backend, a subprocess) behind a small implicit-TLS relay, so the
config's ``email.imap`` (``tls: true``, the only TLS mode the config offers) is exercised as
written; the relay's trustme certificate is trusted through ``SSL_CERT_FILE``, which the
adapters' default SSL context reads. SMTP is aiosmtpd's ``Controller`` with a recording
handler, STARTTLS required and AUTH only after TLS. Passwords come from ``${IMAP_PASSWORD}``
and ``${SMTP_PASSWORD}``; the value is a canary that must never appear in any error text.

The fixtures are copied from ``tests/adapters/test_mail_transport.py`` (not imported: test
modules stay independent).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import selectors
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from loopback_mail import Recorder, free_port, wait_for_port
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.mail_transport import MailTransportError
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.schema import Config
from opsconsole.core.durations import format_duration
from opsconsole.core.sla import SlaState
from opsconsole.core.templates import Evidence
from opsconsole.core.tickets import Category, Direction, Level, Severity, Status
from opsconsole.tickets.intake import MailboxPoller

from fakes import FROZEN
from ticket_fixtures import intake_config, intake_service, raw_mail

CANARY = "canary-Pw-7f3a9c1e"
"""The password of every server here; it must never show up in an error or a note."""
USER = "support"
PYMAP = Path(sys.executable).with_name("pymap")
L2_ADDRESS = "l2-engineering@company.com"
CAP = 20_000  # email.max_message_bytes in the IMAP tests

# -- guide-style customer emails (§1.1) -----------------------------------------------------------

GUIDE_MAILS = [
    # (subject, sender, body, category, severity)
    (
        "[BUG] API returning 500 errors",
        "Kim Park <kim@globex.com>",
        "What happened:\nEvery POST /v1/check returns 500 Internal Server Error since 02:10 UTC."
        "\n\nExpected behavior:\n200 with a policy decision.\n\nEnvironment:\n"
        "- API key: prod-key-01\n- Timestamp: 2026-11-28 02:10 UTC\n",
        Category.BUG,
        Severity.CRITICAL,
    ),
    (
        "Dashboard shows wrong data",
        "Lee Chen <lee@initech.com>",
        "Hi,\n\nThe usage dashboard shows 0 requests for yesterday but our logs show 40k.\n"
        "Steps to reproduce:\n1. Open Usage\n2. Pick yesterday\n\nThanks,\nLee\n",
        Category.BUG,
        Severity.HIGH,
    ),
    (
        "How do I create a policy?",
        "Ana Ruiz <ana@umbrella.io>",
        "Hello,\n\nHow do I create a policy that blocks PII in prompts? The docs page 404s.\n",
        Category.QUESTION,
        Severity.MEDIUM,
    ),
    (
        "Why am I charged twice this month?",
        "Pay Ops <pay@hooli.com>",
        "Hello,\n\nOur invoice for November lists the Pro plan twice. Please refund one.\n",
        Category.BILLING,
        Severity.LOW,
    ),
]


def _guide_mail(n: int) -> bytes:
    subject, sender, body, _, _ = GUIDE_MAILS[n]
    return raw_mail(subject, body, sender=sender, message_id=f"<guide-{n}@customer.example>")


# -- servers (copied from tests/adapters/test_mail_transport.py) ----------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def trust_test_ca(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ssl.SSLContext:
    """Make the test CA the system trust store (the config has no CA option; the adapters
    use ``ssl.create_default_context()``, which reads ``SSL_CERT_FILE``)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = ssl.create_default_context()
    assert context.cert_store_stats()["x509_ca"] >= 1, "SSL_CERT_FILE was not honoured"
    return context


@dataclass
class Pymap:
    port: int
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def _run_pymap(tmp: Path) -> Iterator[Pymap]:
    if not PYMAP.exists():
        pytest.fail("pymap is not installed in the venv (pip install pymap)")
    port = free_port()
    args = [str(PYMAP), "--host", "127.0.0.1", "--port", str(port), "--no-tls"]
    args += ["dict", "--demo-user", USER, "--demo-password", CANARY]
    log = (tmp / f"pymap-{port}.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        yield Pymap(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class _TlsRelay:
    """Implicit-TLS front for a plain server: decrypts and forwards bytes both ways."""

    def __init__(self, target_port: int, context: ssl.SSLContext) -> None:
        self._target = target_port
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._pump, args=(raw,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _pump(self, raw: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(raw)
            try:
                tls = stack.enter_context(self._context.wrap_socket(raw, server_side=True))
                upstream = stack.enter_context(
                    socket.create_connection(("127.0.0.1", self._target))
                )
            except (OSError, ssl.SSLError):
                return
            selector = stack.enter_context(selectors.DefaultSelector())
            selector.register(tls, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, tls)
            while not self._stop.is_set():
                for key, _ in selector.select(0.1):
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    except OSError:
                        return
                    if not data:
                        return
                    key.data.sendall(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accept_thread.join(2)
        for thread in self._threads:
            thread.join(2)


@dataclass
class Imap:
    """pymap on ``plain_port`` (for the test's own checks) behind TLS on ``port``."""

    plain_port: int
    port: int


@pytest.fixture
def imap(
    tmp_path: Path, server_ssl: ssl.SSLContext, trust_test_ca: ssl.SSLContext
) -> Iterator[Imap]:
    with _run_pymap(tmp_path) as server:
        relay = _TlsRelay(server.port, server_ssl)
        try:
            yield Imap(server.port, relay.port)
        finally:
            relay.close()


@contextlib.contextmanager
def _imap_conn(port: int) -> Iterator[imaplib.IMAP4]:
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    try:
        conn.login(USER, CANARY)
        yield conn
    finally:
        conn.logout()


def _append(port: int, messages: list[bytes]) -> None:
    with _imap_conn(port) as conn:
        for raw in messages:
            typ, _ = conn.append("INBOX", None, None, raw.replace(b"\n", b"\r\n"))
            assert typ == "OK"


def _unseen_count(port: int) -> tuple[int, int]:
    """(unseen, total) in INBOX, read by the test itself, not by the code under test."""
    with _imap_conn(port) as conn:
        typ, data = conn.select("INBOX", readonly=True)
        assert typ == "OK"
        total = int(data[0])
        typ, found = conn.uid("SEARCH", "UNSEEN")
        assert typ == "OK"
        unseen = len(b" ".join(d for d in found if isinstance(d, bytes)).split())
        conn.close()
        return unseen, total


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        CANARY.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def _echoing_authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    """A broken server that refuses everyone and quotes the password it was sent."""
    password = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else "?"
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad password {password}")


@contextlib.contextmanager
def _smtp_controller(server_ssl: ssl.SSLContext, authenticator: Any) -> Iterator[Controller]:
    controller = Controller(
        Recorder(),
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ssl,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def smtp(server_ssl: ssl.SSLContext, trust_test_ca: ssl.SSLContext) -> Iterator[Controller]:
    with _smtp_controller(server_ssl, _authenticator) as controller:
        yield controller


def _recorder(controller: Controller) -> Recorder:
    handler = controller.handler
    assert isinstance(handler, Recorder)
    return handler


# -- config and service ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_PASSWORD", CANARY)
    monkeypatch.setenv("SMTP_PASSWORD", CANARY)


def _config(tmp_path: Path, **email: object) -> Config:
    escalation = {"L2": L2_ADDRESS, "L3": "oncall@company.com"}
    return intake_config(tmp_path, escalation=escalation, **email)


def _imap_config(tmp_path: Path, port: int, **extra: object) -> Config:
    imap = {"host": "127.0.0.1", "port": port, "user": USER, "password": "${IMAP_PASSWORD}"}
    return _config(tmp_path, imap=imap | extra, max_message_bytes=CAP)


def _smtp_config(tmp_path: Path, port: int) -> Config:
    smtp = {"host": "127.0.0.1", "port": port, "user": USER, "password": "${SMTP_PASSWORD}"}
    return _config(tmp_path, smtp=smtp)


def _assert_clean_error(text: str) -> None:
    assert CANARY not in text, text
    assert "\n" not in text and "\r" not in text, text


# -- IMAP -----------------------------------------------------------------------------------------


async def test_imap_poll_creates_one_triaged_ticket_per_message_and_marks_them_seen(
    imap: Imap, store: SqliteStore, tmp_path: Path
) -> None:
    """email.imap over TLS: one poll turns each unseen guide-style email into one triaged
    ticket, marks them seen on the server, reports an over-cap message as rejected; a second
    poll creates nothing; a later customer reply joins its ticket."""
    oversized = raw_mail(
        "[BUG] logs attached", "x" * (CAP * 2), message_id="<huge@customer.example>"
    )
    _append(imap.plain_port, [_guide_mail(n) for n in range(len(GUIDE_MAILS))] + [oversized])
    assert _unseen_count(imap.plain_port) == (5, 5)
    config = _imap_config(tmp_path, imap.port)
    service = intake_service(store, config)
    poller = MailboxPoller(service, config)

    report = await poller.poll_once()

    assert poller.error is None
    assert report.counts == {"imported": 4, "rejected": 1}, report.results
    [rejected] = [r for r in report.results if r.outcome == "rejected"]
    assert rejected.source.startswith("imap:") and "limit" in rejected.reason
    numbers = [r.number for r in report.results if r.outcome == "imported"]
    assert numbers == [101, 102, 103, 104]
    for number, (subject, sender, _, category, severity) in zip(numbers, GUIDE_MAILS, strict=True):
        ticket = await store.get_ticket(number)
        assert ticket is not None
        assert ticket.subject == subject
        assert ticket.requester.address == sender.split("<")[1].rstrip(">")
        assert (ticket.category, ticket.severity) == (category, severity), ticket.triage_rule
        assert severity.value in ticket.triage_rule
        assert ticket.status is Status.NEW and ticket.next_due is not None
        assert [m.direction for m in ticket.thread] == [Direction.INBOUND]
    assert _unseen_count(imap.plain_port) == (0, 5), "every message is marked seen"

    again = await poller.poll_once()
    assert poller.error is None
    assert again.results == []
    assert (await store.ticket_counts())["all_open"] == 4

    follow_up = raw_mail(
        "Re: [BUG] API returning 500 errors",
        "Still failing, request id req-42.",
        message_id="<guide-0-reply@customer.example>",
        In_Reply_To="<guide-0@customer.example>",
    )
    _append(imap.plain_port, [follow_up])
    third = await poller.poll_once()
    assert [(r.outcome, r.number) for r in third.results] == [("threaded", 101)]
    ticket = await store.get_ticket(101)
    assert ticket is not None and len(ticket.thread) == 2
    assert _unseen_count(imap.plain_port) == (0, 6)


async def test_imap_wrong_password_is_one_line_without_the_password(
    imap: Imap, store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused IMAP login leaves poll_once working (empty report) with a one-line error
    naming the server, never the configured password; nothing is marked seen."""
    _append(imap.plain_port, [_guide_mail(0)])
    wrong = "Wr0ng-" + CANARY
    monkeypatch.setenv("IMAP_PASSWORD", wrong)
    config = _imap_config(tmp_path, imap.port)
    poller = MailboxPoller(intake_service(store, config), config)

    report = await poller.poll_once()

    assert report.results == []
    assert poller.error is not None
    assert poller.error.startswith(f"imap: IMAP 127.0.0.1:{imap.port}: login failed"), poller.error
    assert wrong not in poller.error
    _assert_clean_error(poller.error)
    assert _unseen_count(imap.plain_port) == (1, 1)
    assert await store.get_ticket(101) is None


# -- SMTP -----------------------------------------------------------------------------------------


async def test_intake_sends_one_acknowledgement_that_does_not_stop_the_response_clock(
    smtp: Controller, store: SqliteStore, tmp_path: Path
) -> None:
    """With email.smtp configured, a new ticket gets exactly one §3.1 acknowledgement over
    STARTTLS + AUTH: ticket number, category and response window in the body,
    Auto-Submitted: auto-replied, In-Reply-To the customer's Message-ID. It is recorded in
    the thread as outbound, but the response clock keeps running."""
    config = _smtp_config(tmp_path, smtp.port)
    service = intake_service(store, config)
    recorder = _recorder(smtp)

    result = await service.ingest(_guide_mail(0), source="test")

    assert (result.outcome, result.number) == ("imported", 101)
    assert len(recorder.envelopes) == 1
    envelope = recorder.envelopes[0]
    assert envelope.mail_from == "support@company.com"
    assert envelope.rcpt_tos == ["kim@globex.com"]
    raw = envelope.content
    assert isinstance(raw, bytes)
    assert re.search(rb"(?mi)^Auto-Submitted: auto-replied\r?$", raw)
    ack = parse_message(raw)
    assert ack.auto_submitted
    assert ack.in_reply_to == "<guide-0@customer.example>"
    assert "<guide-0@customer.example>" in ack.references
    assert "#101" in ack.subject
    window = format_duration(service.policy.target(Severity.CRITICAL).response)
    assert "ticket #101" in ack.body
    assert "Category: Bug" in ack.body
    assert f"within {window}" in ack.body, ack.body
    assert "tickets/101" in ack.body

    ticket = await store.get_ticket(101)
    assert ticket is not None
    assert [m.direction for m in ticket.thread] == [Direction.INBOUND, Direction.OUTBOUND]
    recorded = ticket.thread[1]
    assert recorded.author == "auto-reply"
    assert recorded.message_id == ack.message_id
    assert ticket.first_response_at is None
    assert ticket.status is Status.NEW
    assert service.sla(ticket).response.state is SlaState.OK
    service.clock.advance(minutes=30)  # type: ignore[attr-defined]
    later = service.sla(ticket).response
    assert later.state is not SlaState.MET and later.remaining is not None
    assert later.remaining < service.policy.target(Severity.CRITICAL).response


async def test_auto_submitted_mail_gets_no_acknowledgement(
    smtp: Controller, store: SqliteStore, tmp_path: Path
) -> None:
    """Auto-replies, bulk mail and bounces never create a ticket and never get an
    acknowledgement (no mail loops)."""
    config = _smtp_config(tmp_path, smtp.port)
    service = intake_service(store, config)
    automatic = [
        raw_mail(
            "Out of office",
            "I am away until Monday.",
            message_id="<ooo@customer.example>",
            Auto_Submitted="auto-replied",
        ),
        raw_mail("Weekly digest", "news", message_id="<bulk@x.example>", Precedence="bulk"),
        raw_mail(
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mx.customer.example.",
            sender="MAILER-DAEMON@mx.customer.example",
            message_id="<bounce@mx.customer.example>",
        ),
    ]
    for raw in automatic:
        assert (await service.ingest(raw, source="test")).outcome == "ignored"
    assert _recorder(smtp).envelopes == []
    assert await store.get_ticket(101) is None


async def test_reply_goes_out_by_smtp_threaded_and_stops_the_response_clock(
    smtp: Controller, store: SqliteStore, tmp_path: Path
) -> None:
    """service.reply sends the template reply through SMTP with In-Reply-To/References of
    the customer's message (no Auto-Submitted) and stops the response clock at that time."""
    config = _smtp_config(tmp_path, smtp.port)
    service = intake_service(store, config)
    recorder = _recorder(smtp)
    await service.ingest(_guide_mail(2), source="test")
    ticket = await store.get_ticket(101)
    assert ticket is not None
    subject, body = service.draft_reply(ticket, "initial_response")
    service.clock.advance(minutes=20)  # type: ignore[attr-defined]

    ticket = await service.reply(101, subject, body)

    assert len(recorder.envelopes) == 2  # the acknowledgement, then the reply
    envelope = recorder.envelopes[1]
    assert envelope.rcpt_tos == ["ana@umbrella.io"]
    reply = recorder.mails()[1]
    assert not reply.auto_submitted
    assert reply.in_reply_to == "<guide-2@customer.example>"
    assert reply.references == ("<guide-2@customer.example>",)
    assert "#101" in reply.subject
    assert reply.body.strip() == body.strip()
    assert ticket.first_response_at == FROZEN.replace(minute=20)
    assert ticket.status is Status.OPEN
    assert service.sla(ticket).response.state is SlaState.MET
    stored = await store.get_ticket(101)
    assert stored is not None
    outbound = stored.thread[-1]
    assert outbound.direction is Direction.OUTBOUND and outbound.author == "Alex Doe"
    assert outbound.message_id == reply.message_id


async def test_escalation_is_mailed_to_the_configured_l2_address(
    smtp: Controller, store: SqliteStore, tmp_path: Path
) -> None:
    """service.escalate delivers the §5 block to email.escalation.L2 by SMTP, notes it in
    the thread and raises the ticket to L2 / escalated."""
    config = _smtp_config(tmp_path, smtp.port)
    service = intake_service(store, config)
    recorder = _recorder(smtp)
    await service.ingest(_guide_mail(1), source="test")
    ticket = await store.get_ticket(101)
    assert ticket is not None
    evidence = Evidence(probes=("API health: up, 120 ms",), sentry="3 unresolved")
    subject, body = service.draft_escalation(ticket, Level.L2, evidence)

    ticket = await service.escalate(101, Level.L2, subject, body)

    assert len(recorder.envelopes) == 2
    envelope = recorder.envelopes[1]
    assert envelope.rcpt_tos == [L2_ADDRESS]
    mail = recorder.mails()[1]
    assert mail.subject.startswith("[L2] #101")
    assert "#101" in mail.body and "Dashboard shows wrong data" in mail.body
    assert (ticket.level, ticket.status) == (Level.L2, Status.ESCALATED)
    stored = await store.get_ticket(101)
    assert stored is not None
    note = stored.thread[-1]
    assert note.direction is Direction.NOTE and L2_ADDRESS in note.body
    assert stored.first_response_at is None  # an escalation is not a reply to the customer


async def test_smtp_down_reply_raises_one_line_and_leaves_the_ticket_unchanged(
    server_ssl: ssl.SSLContext, trust_test_ca: ssl.SSLContext, store: SqliteStore, tmp_path: Path
) -> None:
    """When the SMTP server goes away, reply raises a one-line error naming the server and
    no password, and the ticket is untouched: no outbound message, clock still running."""
    with _smtp_controller(server_ssl, _authenticator) as controller:
        port = controller.port
        config = _smtp_config(tmp_path, port)
        service = intake_service(store, config)
        await service.ingest(_guide_mail(0), source="test")
        assert len(_recorder(controller).envelopes) == 1
    before = await store.get_ticket(101)
    assert before is not None
    subject, body = service.draft_reply(before, "initial_response")

    with pytest.raises(MailTransportError) as info:
        await service.reply(101, subject, body)

    text = str(info.value)
    assert text == f"SMTP 127.0.0.1:{port}: connection refused"
    _assert_clean_error(text)
    after = await store.get_ticket(101)
    assert after == before
    assert after is not None
    assert after.thread == before.thread and after.audit == before.audit
    assert after.first_response_at is None
    assert service.sla(after).response.state is SlaState.OK

    # Intake goes on while SMTP is down: the ticket is created, the note says why no ack.
    result = await service.ingest(_guide_mail(3), source="test")
    assert (result.outcome, result.number) == ("imported", 102)
    created = await store.get_ticket(102)
    assert created is not None
    assert [m.direction for m in created.thread] == [Direction.INBOUND, Direction.NOTE]
    assert "Auto-reply not sent" in created.thread[1].body
    _assert_clean_error(created.thread[1].body)


async def test_no_error_or_note_quotes_the_smtp_password(
    server_ssl: ssl.SSLContext, trust_test_ca: ssl.SSLContext, store: SqliteStore, tmp_path: Path
) -> None:
    """A server that refuses the login and quotes the password back: the reply error and
    the intake note say "login failed" with the password scrubbed, and nothing is sent or
    recorded."""
    with _smtp_controller(server_ssl, _echoing_authenticator) as controller:
        config = _smtp_config(tmp_path, controller.port)
        assert CANARY not in repr(config)
        service = intake_service(store, config)
        await service.ingest(_guide_mail(1), source="test")
        ticket = await store.get_ticket(101)
        assert ticket is not None
        note = ticket.thread[-1]
        assert note.direction is Direction.NOTE and "login failed" in note.body, note.body
        _assert_clean_error(note.body)

        subject, body = service.draft_reply(ticket, "initial_response")
        with pytest.raises(MailTransportError) as info:
            await service.reply(101, subject, body)
        text = str(info.value)
        assert text.startswith(f"SMTP 127.0.0.1:{controller.port}: login failed (535"), text
        _assert_clean_error(text)
        assert _recorder(controller).envelopes == []
        after = await store.get_ticket(101)
        assert after is not None and after.thread == ticket.thread
        assert after.first_response_at is None
