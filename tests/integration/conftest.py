"""Fixtures shared by the integration tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from loopback_mail import Recorder, free_port


@pytest.fixture
def relay() -> Iterator[tuple[int, Recorder]]:
    """A real aiosmtpd relay on 127.0.0.1: its port and what reached it."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, recorder
    finally:
        with contextlib.suppress(Exception):
            controller.stop()
