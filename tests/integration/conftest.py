"""Fixtures shared by the integration tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from loopback_mail import Recorder, free_port
from opsconsole.adapters.sqlite_store import SqliteStore


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


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A real ticket store on tmp_path/tickets.db, closed afterwards."""
    opened = await SqliteStore.open(tmp_path / "tickets.db")
    yield opened
    await opened.close()
