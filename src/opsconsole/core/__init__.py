"""Pure domain logic: no textual, httpx, aiosqlite or yaml imports."""
