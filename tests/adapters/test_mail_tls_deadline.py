"""A mail server that drips its TLS handshake is cut off by the deadline too.

A scripted loopback server speaks plain SMTP or IMAP up to STARTTLS (or nothing, for
implicit TLS), then sends the start of a TLS record and one more byte every 0.3 s. Each
read gets a byte before the socket timeout (and CPython bounds a whole TLS handshake by the
socket timeout, 5 s here), so ending within the 1 s deadline proves the deadline did it.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Iterator

import pytest

from opsconsole.adapters.mail_transport import (
    ImapPoller,
    ImapSettings,
    MailTransportError,
    SmtpSender,
    SmtpSettings,
    build_reply,
)

DEADLINE = 1.0
READ_TIMEOUT = 5.0  # well over the deadline: only the deadline can end the test in time
TLS_RECORD_START = b"\x16\x03\x03\x40\x00"  # a handshake record of 16 KiB, never finished


class DrippingTls:
    """Accepts connections; ``mode`` is "implicit", "smtp" or "imap" (STARTTLS first)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DrippingTls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                if self.mode == "smtp":
                    self._smtp_until_starttls(conn.makefile("rb"), conn)
                elif self.mode == "imap":
                    self._imap_until_starttls(conn.makefile("rb"), conn)
                conn.sendall(TLS_RECORD_START)
                while not self._stop.is_set():
                    time.sleep(0.3)
                    conn.sendall(b"\x00")
            except OSError:
                return  # the client gave up: what the test wants

    @staticmethod
    def _smtp_until_starttls(lines: object, conn: socket.socket) -> None:
        conn.sendall(b"220 drip.test ESMTP\r\n")
        while line := lines.readline():  # type: ignore[attr-defined]
            verb = line.split()[0].upper() if line.split() else b""
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-drip.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                return

    @staticmethod
    def _imap_until_starttls(lines: object, conn: socket.socket) -> None:
        conn.sendall(b"* OK drip.test ready\r\n")
        while line := lines.readline():  # type: ignore[attr-defined]
            tag, _, rest = line.strip().partition(b" ")
            if rest.upper() == b"CAPABILITY":
                conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag + b" OK done\r\n")
            elif rest.upper() == b"STARTTLS":
                conn.sendall(tag + b" OK begin TLS\r\n")
                return


@pytest.fixture
def context() -> Iterator[ssl.SSLContext]:
    yield ssl.create_default_context()


def _reply():  # type: ignore[no-untyped-def]
    return build_reply(
        from_address="support@company.com",
        to_name="Kim",
        to_address="kim@example.com",
        subject="Hello",
        body="We are on it.",
        in_reply_to=None,
        references=(),
        message_id_domain="company.com",
    )


async def assert_cut_off(operation: Awaitable[object]) -> None:
    """``operation`` fails with a one-line "too slow" error within the deadline."""
    started = time.monotonic()
    with pytest.raises(MailTransportError, match="too slow") as caught:
        await operation
    assert time.monotonic() - started < DEADLINE + 1.5
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("mode", ["implicit", "smtp"])
async def test_smtp_tls_handshake_drip_is_cut_off(mode: str, context: ssl.SSLContext) -> None:
    with DrippingTls(mode) as server:
        sender = SmtpSender(
            SmtpSettings(
                host="127.0.0.1",
                port=server.port,
                ssl=mode == "implicit",
                starttls=mode == "smtp",
                from_address="support@company.com",
                timeout=READ_TIMEOUT,
                deadline=DEADLINE,
                ssl_context=context,
            )
        )
        await assert_cut_off(sender.send(_reply()))


@pytest.mark.parametrize("mode", ["implicit", "imap"])
async def test_imap_tls_handshake_drip_is_cut_off(mode: str, context: ssl.SSLContext) -> None:
    with DrippingTls(mode) as server:
        poller = ImapPoller(
            ImapSettings(
                host="127.0.0.1",
                port=server.port,
                user="support",
                password="pw",
                tls=True,
                starttls=mode == "imap",
                timeout=READ_TIMEOUT,
                deadline=DEADLINE,
                ssl_context=context,
            )
        )
        await assert_cut_off(poller.fetch_unseen())
