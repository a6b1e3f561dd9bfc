"""Let a snapshot's frame settle: DataTables size auto-width columns on idle."""

from __future__ import annotations

import asyncio


async def settled(pilot, rounds: int = 4) -> None:
    """Pause a few times, yielding real time, so idle-time layout (column widths) is done."""
    for _ in range(rounds):
        await pilot.pause()
        await asyncio.sleep(0.02)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
