"""Read an HTTP response body with a size cap.

A source that answers with a huge body (a misrouted proxy, a log dump, 20 MB of JSON) must
not be read into memory whole and decoded on the event loop: ``json.loads`` of 20 MB holds
the loop for a quarter of a second. Reading stops as soon as the body is larger than the
cap, and a declared ``Content-Length`` over the cap is refused before anything is read.
"""

from __future__ import annotations

import httpx

__all__ = ["MIB", "read_capped"]

MIB = 1_048_576


async def read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The whole body of a streamed ``response``, or None once it exceeds ``limit`` bytes."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
