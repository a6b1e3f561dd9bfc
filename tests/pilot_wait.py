"""Wait in a pilot test until a condition holds (or fail after a timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(pilot, check: Callable[[], object], timeout: float = 3.0) -> None:
    """Let the app run (pilot pauses, real time) until ``check()`` is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await pilot.pause()
        await asyncio.sleep(0.02)
