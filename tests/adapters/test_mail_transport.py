"""IMAP polling, SMTP sending and the outbox, against real servers on 127.0.0.1.

IMAP is pymap (``dict`` backend, a subprocess; STARTTLS with a trustme certificate via
``--cert/--key``; pymap has no implicit-TLS listener, so implicit TLS goes through a small
TLS-terminating relay in front of it). SMTP is aiosmtpd's ``Controller`` with a recording
handler, STARTTLS and AUTH (``auth_require_tls``), or implicit TLS.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import selectors
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from loopback_mail import Recorder, free_port, wait_for_port
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.mail_transport import (
    ImapPoller,
    ImapSettings,
    MailTransportError,
    OutboxWriter,
    SmtpSender,
    SmtpSettings,
    build_reply,
)

from hostile_mail import ew_b, message

PASSWORD = "s3cret-Pa55word"
USER = "demouser"
PYMAP = Path(sys.executable).with_name("pymap")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@dataclass
class Pymap:
    port: int
    proc: subprocess.Popen[bytes]

    def settings(self, **overrides: Any) -> ImapSettings:
        base: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": USER,
            "password": PASSWORD,
            "tls": False,
            "timeout": 5,
        }
        return ImapSettings(**(base | overrides))


@contextlib.contextmanager
def _run_pymap(tmp: Path, *tls_args: str) -> Iterator[Pymap]:
    if not PYMAP.exists():
        pytest.fail("pymap is not installed in the venv (pip install pymap)")
    port = free_port()
    args = [str(PYMAP), "--host", "127.0.0.1", "--port", str(port)]
    args += list(tls_args) or ["--no-tls"]
    args += ["dict", "--demo-user", USER, "--demo-password", PASSWORD]
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


@pytest.fixture
def pymap(tmp_path: Path) -> Iterator[Pymap]:
    with _run_pymap(tmp_path) as server:
        yield server


@pytest.fixture
def pymap_starttls(tmp_path: Path, ca: trustme.CA) -> Iterator[Pymap]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(tmp_path / "cert.pem"), append=True)
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    with _run_pymap(
        tmp_path, "--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem")
    ) as s:
        yield s


def _append(port: int, messages: list[bytes], *, starttls: ssl.SSLContext | None = None) -> None:
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    try:
        if starttls is not None:
            conn.starttls(ssl_context=starttls)
        conn.login(USER, PASSWORD)
        for raw in messages:
            typ, _ = conn.append("INBOX", None, None, raw.replace(b"\n", b"\r\n"))
            assert typ == "OK"
    finally:
        conn.logout()


def _mail(n: int, size: int = 0) -> bytes:
    return message(
        subject=b"[BUG] ticket %d" % n,
        message_id=b"<imap-%d@example.com>" % n,
        body=b"body %d\n" % n + b"x" * size,
    )


# -- IMAP -----------------------------------------------------------------------------------------


async def test_fetch_unseen_returns_raw_messages_and_mark_seen_hides_them(pymap: Pymap) -> None:
    _append(pymap.port, [_mail(1), _mail(2), _mail(3)])
    poller = ImapPoller(pymap.settings())
    fetched = await poller.fetch_unseen()
    assert [parse_message(raw).subject for _, raw in fetched] == [
        "[BUG] ticket 1",
        "[BUG] ticket 2",
        "[BUG] ticket 3",
    ]
    assert all(uid.isdigit() for uid, _ in fetched)
    assert parse_message(fetched[0][1]).body == "body 1"
    # BODY.PEEK: fetching did not mark anything seen.
    assert len(await poller.fetch_unseen()) == 3
    await poller.mark_seen([uid for uid, _ in fetched[:2]])
    remaining = await poller.fetch_unseen()
    assert [uid for uid, _ in remaining] == [fetched[2][0]]
    await poller.mark_seen([fetched[2][0]])
    assert await poller.fetch_unseen() == []


async def test_fetch_unseen_honours_limit_and_skips_oversized(pymap: Pymap) -> None:
    _append(pymap.port, [_mail(1), _mail(2, size=50_000), _mail(3), _mail(4)])
    poller = ImapPoller(pymap.settings(), max_bytes=20_000)
    fetched = await poller.fetch_unseen(limit=3)
    assert [parse_message(raw).subject for _, raw in fetched] == [
        "[BUG] ticket 1",
        "[BUG] ticket 3",
    ]
    assert len(poller.skipped) == 1
    uid, reason = poller.skipped[0]
    assert uid.isdigit() and reason.startswith("message is 0.0") and "limit" in reason


async def test_bad_password_is_a_one_line_error_without_the_password(pymap: Pymap) -> None:
    wrong = "Wr0ng-" + PASSWORD
    poller = ImapPoller(pymap.settings(password=wrong))
    with pytest.raises(MailTransportError) as info:
        await poller.fetch_unseen()
    text = str(info.value)
    assert text.startswith(f"IMAP 127.0.0.1:{pymap.port}: login failed")
    assert wrong not in text and PASSWORD not in text and "\n" not in text
    assert wrong not in repr(pymap.settings(password=wrong))


async def test_imap_connection_refused() -> None:
    port = free_port()
    poller = ImapPoller(
        ImapSettings(
            host="127.0.0.1", port=port, user=USER, password=PASSWORD, tls=False, timeout=2
        )
    )
    with pytest.raises(MailTransportError, match=rf"^IMAP 127.0.0.1:{port}: connection refused$"):
        await poller.fetch_unseen()


async def test_imap_missing_folder(pymap: Pymap) -> None:
    with pytest.raises(MailTransportError, match="cannot open folder 'Nope'"):
        await ImapPoller(pymap.settings(folder="Nope")).fetch_unseen()


async def test_imap_refuses_plaintext_password_to_a_remote_host() -> None:
    settings = ImapSettings(host="imap.example.com", user=USER, password=PASSWORD, tls=False)
    with pytest.raises(MailTransportError, match="without TLS"):
        await ImapPoller(settings).fetch_unseen()


async def test_mark_seen_validates_uids(pymap: Pymap) -> None:
    with pytest.raises(ValueError, match="UIDs"):
        await ImapPoller(pymap.settings()).mark_seen(["1:*"])
    await ImapPoller(pymap.settings()).mark_seen([])  # no connection needed


async def test_imap_starttls_with_a_trusted_certificate(
    pymap_starttls: Pymap, client_ssl: ssl.SSLContext
) -> None:
    _append(pymap_starttls.port, [_mail(7)], starttls=client_ssl)
    poller = ImapPoller(pymap_starttls.settings(tls=True, starttls=True, ssl_context=client_ssl))
    fetched = await poller.fetch_unseen()
    assert [parse_message(raw).subject for _, raw in fetched] == ["[BUG] ticket 7"]


async def test_imap_starttls_with_an_untrusted_certificate(pymap_starttls: Pymap) -> None:
    poller = ImapPoller(pymap_starttls.settings(tls=True, starttls=True))  # system trust store
    with pytest.raises(MailTransportError, match="TLS certificate not trusted"):
        await poller.fetch_unseen()


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


async def test_imap_implicit_tls(
    pymap: Pymap, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    _append(pymap.port, [_mail(9)])
    relay = _TlsRelay(pymap.port, server_ssl)
    try:
        poller = ImapPoller(pymap.settings(port=relay.port, tls=True, ssl_context=client_ssl))
        fetched = await poller.fetch_unseen()
        assert [parse_message(raw).subject for _, raw in fetched] == ["[BUG] ticket 9"]
    finally:
        relay.close()


# -- SMTP -----------------------------------------------------------------------------------------


class RcptRecorder(Recorder):
    """Refuses ``nobody@`` recipients with 550."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"support",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp_server(server_ssl: ssl.SSLContext) -> Iterator[tuple[Controller, RcptRecorder]]:
    recorder = RcptRecorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ssl,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


def _reply(**overrides: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "from_address": "support@company.example",
        "to_name": "Dana Whitfield",
        "to_address": "dana@acme.example",
        "subject": "[BUG] Dashboard shows zero usage [#101]",
        "body": "Hi Dana,\n\nThank you for contacting support. Ticket #101.\n",
        "in_reply_to": "<report-1@acme.example>",
        "references": ["<root@acme.example>"],
        "message_id_domain": "company.example",
    }
    return build_reply(**(args | overrides))


def _smtp(controller: Controller, client_ssl: ssl.SSLContext, **overrides: Any) -> SmtpSettings:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": controller.port,
        "user": "support",
        "password": PASSWORD,
        "from_address": "support@company.example",
        "timeout": 5,
        "ssl_context": client_ssl,
    }
    return SmtpSettings(**(base | overrides))


async def test_smtp_starttls_auth_delivers_a_threaded_reply(
    smtp_server: tuple[Controller, RcptRecorder], client_ssl: ssl.SSLContext
) -> None:
    controller, recorder = smtp_server
    await SmtpSender(_smtp(controller, client_ssl)).send(_reply())
    assert len(recorder.envelopes) == 1
    envelope = recorder.envelopes[0]
    assert envelope.mail_from == "support@company.example"
    assert envelope.rcpt_tos == ["dana@acme.example"]
    assert isinstance(envelope.content, bytes)
    received = parse_message(envelope.content)
    assert received.subject == "Re: [BUG] Dashboard shows zero usage [#101]"
    assert received.in_reply_to == "<report-1@acme.example>"
    assert received.references == ("<root@acme.example>", "<report-1@acme.example>")
    assert received.message_id.endswith("@company.example>")
    assert received.body.startswith("Hi Dana,")
    assert received.auto_submitted is False


async def test_smtp_bad_password(
    smtp_server: tuple[Controller, RcptRecorder], client_ssl: ssl.SSLContext
) -> None:
    controller, recorder = smtp_server
    wrong = "Wr0ng-" + PASSWORD
    with pytest.raises(MailTransportError) as info:
        await SmtpSender(_smtp(controller, client_ssl, password=wrong)).send(_reply())
    assert "login failed (535" in str(info.value)
    assert wrong not in str(info.value) and PASSWORD not in str(info.value)
    assert recorder.envelopes == []


async def test_smtp_untrusted_certificate(smtp_server: tuple[Controller, RcptRecorder]) -> None:
    controller, _ = smtp_server
    settings = _smtp(controller, ssl.create_default_context())
    with pytest.raises(MailTransportError, match="TLS certificate not trusted"):
        await SmtpSender(settings).send(_reply())


async def test_smtp_refused_recipient(
    smtp_server: tuple[Controller, RcptRecorder], client_ssl: ssl.SSLContext
) -> None:
    controller, recorder = smtp_server
    with pytest.raises(
        MailTransportError, match=r"every recipient was refused: nobody@acme\.example"
    ):
        await SmtpSender(_smtp(controller, client_ssl)).send(
            _reply(to_address="nobody@acme.example")
        )
    assert recorder.envelopes == []


async def test_smtp_connection_refused(client_ssl: ssl.SSLContext) -> None:
    port = free_port()
    settings = SmtpSettings(
        host="127.0.0.1", port=port, from_address="s@example.com", timeout=2, ssl_context=client_ssl
    )
    with pytest.raises(MailTransportError, match=rf"^SMTP 127.0.0.1:{port}: connection refused$"):
        await SmtpSender(settings).send(_reply())


async def test_smtp_without_starttls_offer_is_refused(client_ssl: ssl.SSLContext) -> None:
    recorder = RcptRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = _smtp(controller, client_ssl, user=None, password=None)
        with pytest.raises(MailTransportError, match="does not offer STARTTLS"):
            await SmtpSender(settings).send(_reply())
        # Plain delivery when explicitly configured (loopback relay, no AUTH).
        await SmtpSender(_smtp(controller, client_ssl, user=None, starttls=False)).send(_reply())
        assert len(recorder.envelopes) == 1
    finally:
        controller.stop()


async def test_smtp_implicit_tls(server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext) -> None:
    recorder = RcptRecorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), ssl_context=server_ssl
    )
    controller.start()
    try:
        settings = _smtp(controller, client_ssl, ssl=True, user=None, password=None)
        await SmtpSender(settings).send(_reply(auto=True))
        received = parse_message(recorder.envelopes[0].content)  # type: ignore[arg-type]
        assert received.auto_submitted is True
    finally:
        controller.stop()


async def test_smtp_refuses_header_injection_through_encoded_words(
    smtp_server: tuple[Controller, RcptRecorder], client_ssl: ssl.SSLContext
) -> None:
    controller, recorder = smtp_server
    msg = _reply()
    del msg["Subject"]
    msg["Subject"] = ew_b("hi\r\nBcc: victim@example.com").decode()
    with pytest.raises(MailTransportError, match="header 'Subject' contains a line break"):
        await SmtpSender(_smtp(controller, client_ssl)).send(msg)
    assert recorder.envelopes == []


async def test_smtp_refuses_password_without_tls_to_remote_host() -> None:
    settings = SmtpSettings(
        host="smtp.example.com",
        user="u",
        password=PASSWORD,
        starttls=False,
        from_address="s@x.example",
    )
    with pytest.raises(MailTransportError, match="without TLS"):
        await SmtpSender(settings).send(_reply())


# -- outbox and build_reply -----------------------------------------------------------------------


async def test_outbox_writes_a_readable_maildir_message(tmp_path: Path) -> None:
    outbox = OutboxWriter(tmp_path / "outbox")
    path = await outbox.send(_reply(auto=True))
    assert path.is_file() and path.parent.name == "new"
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    [key] = box.keys()
    stored = parse_message(box.get_bytes(key))
    assert stored.subject == "Re: [BUG] Dashboard shows zero usage [#101]"
    assert stored.in_reply_to == "<report-1@acme.example>"
    assert stored.auto_submitted is True
    assert stored.body.startswith("Hi Dana,")


async def test_outbox_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(MailTransportError, match="outbox"):
        await OutboxWriter(blocker / "outbox").send(_reply())


def test_build_reply_headers() -> None:
    now = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    msg = _reply(subject="Re: line one\nline two", now=now, to_name='Eve "<x@evil>"')
    assert msg["Subject"] == "Re: line one"
    assert msg["Date"] == "Mon, 03 Mar 2025 10:00:00 +0000"
    assert msg["To"].addresses[0].addr_spec == "dana@acme.example"
    assert msg["Auto-Submitted"] is None
    assert msg["References"] == "<root@acme.example> <report-1@acme.example>"
    fresh = _reply(in_reply_to=None, references=[], subject="Escalation: #101")
    assert fresh["Subject"] == "Escalation: #101"
    assert fresh["In-Reply-To"] is None and fresh["References"] is None
    same = _reply(references=["<root@acme.example>", "<report-1@acme.example>"])
    assert same["References"] == "<root@acme.example> <report-1@acme.example>"
    assert _reply(auto=True)["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize(
    "override",
    [
        {"to_name": "Dana\r\nBcc: victim@example.com"},
        {"to_address": "dana@acme.example\nBcc: x@y"},
        {"from_address": "a@b\r"},
        {"in_reply_to": "<a@b>\r\nX: y"},
        {"references": ["<a@b>\n"]},
        {"references": ["not-an-id"]},
        {"message_id_domain": "x>y"},
    ],
)
def test_build_reply_rejects_header_injection(override: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _reply(**override)
