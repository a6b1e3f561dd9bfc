"""Fixtures shared by the UI, e2e and reliability tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsconsole.demo.slack_fake import SlackFake


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    """A Slack incoming-webhook fake on 127.0.0.1 (it records what was posted)."""
    fake = SlackFake().start()
    yield fake
    fake.stop()
