"""Outgoing mail to real-world recipients and servers (bug hunt, issue 4).

The server is aiosmtpd on 127.0.0.1 configured as a strict 7-bit relay: no 8BITMIME, no
SMTPUTF8 (``decode_data=True`` makes it refuse any byte over 127 in DATA), no AUTH offered
without TLS. Replies to customers named "Jörg" and living at "münchen.de" must still go out.
"""

from __future__ import annotations

import contextlib
import email
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from loopback_mail import Recorder, free_port
from opsconsole.adapters.mail import parse_message
from opsconsole.adapters.mail_transport import (
    MailTransportError,
    OutboxWriter,
    SmtpSender,
    SmtpSettings,
    build_reply,
)


@pytest.fixture
def seven_bit_relay() -> Iterator[tuple[SmtpSettings, Recorder]]:
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        decode_data=True,  # no 8BITMIME; DATA must be ASCII ("500 Error: strict ASCII mode")
        enable_SMTPUTF8=False,
    )
    controller.start()
    settings = SmtpSettings(
        host="127.0.0.1",
        port=controller.port,
        starttls=False,
        from_address="support@company.com",
        timeout=5,
    )
    try:
        yield settings, recorder
    finally:
        with contextlib.suppress(Exception):
            controller.stop()


def _reply(**overrides: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "from_address": "support@company.com",
        "to_name": 'Jörg "JJ" Müller, Jr.',
        "to_address": "joerg@example.de",
        "subject": "Dashboard lädt nicht – Ticket #101",
        "body": "Hallo Jörg,\n\ndanke für die Meldung — wir prüfen das.\n\nGrüße\nAlex\n",
        "in_reply_to": "<report-1@example.de>",
        "references": [],
        "message_id_domain": "company.com",
    }
    return build_reply(**(args | overrides))


async def test_non_ascii_reply_goes_through_a_server_without_8bitmime(
    seven_bit_relay: tuple[SmtpSettings, Recorder],
) -> None:
    settings, recorder = seven_bit_relay
    await SmtpSender(settings).send(_reply())
    (envelope,) = recorder.envelopes
    assert isinstance(envelope.content, str) and envelope.content.isascii()
    received = parse_message(envelope.content.encode("ascii"))
    assert received.subject == "Re: Dashboard lädt nicht – Ticket #101"
    assert received.body.startswith("Hallo Jörg,\n\ndanke für die Meldung — wir prüfen das.")
    parsed = email.message_from_string(envelope.content, policy=policy.default)
    assert parsed["To"].addresses[0].display_name == 'Jörg "JJ" Müller, Jr.'


async def test_reply_to_an_internationalized_domain_uses_its_ascii_form(
    seven_bit_relay: tuple[SmtpSettings, Recorder],
) -> None:
    settings, recorder = seven_bit_relay
    await SmtpSender(settings).send(_reply(to_address="joerg@münchen.de"))
    (envelope,) = recorder.envelopes
    assert envelope.rcpt_tos == ["joerg@xn--mnchen-3ya.de"]


async def test_non_ascii_mailbox_name_is_a_clear_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"^cannot send to 'jörg@example\.de': .*SMTPUTF8"):
        _reply(to_address="jörg@example.de")


@pytest.mark.parametrize("address", ["", "   ", "kim at globex.com", "@globex.com", "kim@"])
def test_reply_without_a_usable_address_is_a_clear_error(address: str) -> None:
    with pytest.raises(ValueError, match=r"^no valid address to send to") as info:
        _reply(to_address=address)
    assert "\n" not in str(info.value)


async def test_message_needing_smtputf8_names_smtputf8_not_starttls(
    seven_bit_relay: tuple[SmtpSettings, Recorder],
) -> None:
    """A message built elsewhere with a UTF-8 address: the error must say what is missing."""
    settings, recorder = seven_bit_relay
    message = EmailMessage()
    message["From"] = "support@company.com"
    message["To"] = "joerg@münchen.de"
    message["Subject"] = "x"
    message.set_content("x")
    with pytest.raises(MailTransportError) as info:
        await SmtpSender(settings).send(message)
    assert "SMTPUTF8" in str(info.value) and "STARTTLS" not in str(info.value)
    assert recorder.envelopes == []


async def test_login_to_a_server_without_auth_names_auth_not_starttls(
    seven_bit_relay: tuple[SmtpSettings, Recorder],
) -> None:
    settings, recorder = seven_bit_relay
    with_login = SmtpSettings(
        host=settings.host,
        port=settings.port,
        user="support",
        password="canary-pw-1",
        starttls=False,
        from_address=settings.from_address,
        timeout=5,
    )
    with pytest.raises(MailTransportError) as info:
        await SmtpSender(with_login).send(_reply())
    text = str(info.value)
    assert "does not offer AUTH" in text and "STARTTLS" not in text
    assert "canary-pw-1" not in text
    assert recorder.envelopes == []


async def test_outbox_copy_of_a_non_ascii_reply_is_7bit_and_readable(tmp_path: Path) -> None:
    path = await OutboxWriter(tmp_path / "outbox").send(_reply())
    raw = path.read_bytes()
    assert raw.isascii()
    assert parse_message(raw).body.startswith("Hallo Jörg,")


@dataclass
class Refuser(Recorder):
    """Answers RCPT like real servers: 550 for an unknown mailbox, 421 when overloaded."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@example.de>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "421 4.7.0 Too many connections, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_relay() -> Iterator[tuple[SmtpSettings, Recorder]]:
    recorder = Refuser()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = SmtpSettings(
        host="127.0.0.1",
        port=controller.port,
        starttls=False,
        from_address="support@company.com",
        timeout=5,
    )
    try:
        yield settings, recorder
    finally:
        with contextlib.suppress(Exception):
            controller.stop()


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("gone@example.de", "(550 5.1.1 <gone@example.de>: Recipient address rejected: User"),
        ("busy@example.de", "(421 4.7.0 Too many connections, try again later)"),
    ],
)
async def test_refused_recipient_error_says_what_the_server_answered(
    refusing_relay: tuple[SmtpSettings, Recorder], address: str, said: str
) -> None:
    """The operator must see why: an unknown mailbox (550) is not a busy server (421)."""
    settings, recorder = refusing_relay
    with pytest.raises(MailTransportError) as info:
        await SmtpSender(settings).send(_reply(to_address=address))
    text = str(info.value)
    assert f"every recipient was refused: {address} {said}" in text
    assert "\n" not in text
    assert recorder.envelopes == []
