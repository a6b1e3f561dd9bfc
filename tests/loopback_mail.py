"""Helpers shared by the tests that run real mail servers on 127.0.0.1 (aiosmtpd, pymap)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import Envelope

from opsconsole.adapters.mail import ParsedMail, parse_message


def free_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Wait until the server ``proc`` (pymap) listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pymap exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("pymap did not start listening")


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every envelope it is given."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def mails(self) -> list[ParsedMail]:
        """The messages received, parsed as intake parses mail."""
        return [parse_message(e.content) for e in self.envelopes]  # type: ignore[arg-type]
