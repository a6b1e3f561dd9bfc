"""``read_capped`` against a real loopback HTTP server: chunked, close-delimited and
declared-length bodies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from opsconsole.adapters.http_body import MIB, read_capped

CHUNK = 64 * 1024

Answer = Callable[[asyncio.StreamWriter, int, list[int]], Awaitable[None]]
Serve = Callable[[Answer, int], Awaitable[tuple[str, list[int]]]]


async def _chunked(writer: asyncio.StreamWriter, total: int, sent: list[int]) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    while sent[0] < total:
        size = min(CHUNK, total - sent[0])
        writer.write(f"{size:x}\r\n".encode() + b"x" * size + b"\r\n")
        await writer.drain()
        sent[0] += size
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _declared_then_stall(writer: asyncio.StreamWriter, total: int, sent: list[int]) -> None:
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
    await writer.drain()
    await asyncio.sleep(30)  # the body never comes: a capped reader must not wait for it


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a loopback server whose every answer is ``answer(writer, total, sent)``."""
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(answer: Answer, total: int) -> tuple[str, list[int]]:
        sent = [0]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await reader.readuntil(b"\r\n\r\n")
                await answer(writer, total, sent)
            except ConnectionError:
                pass  # the client stopped reading
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/", sent

    yield start
    for server in servers:
        server.close()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


async def test_a_chunked_body_under_the_cap_is_read_whole(serve: Serve) -> None:
    url, _sent = await serve(_chunked, 300_000)
    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        body = await read_capped(response, MIB)
    assert body == b"x" * 300_000


async def test_a_chunked_body_over_the_cap_stops_reading_there(serve: Serve) -> None:
    url, sent = await serve(_chunked, 40 * MIB)
    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        body = await read_capped(response, MIB)
    assert body is None
    # It stopped soon after the cap, not after reading all 40 MiB (socket buffers hold a
    # few MiB more at most).
    assert sent[0] < 20 * MIB


async def test_a_declared_length_over_the_cap_is_refused_before_the_body(serve: Serve) -> None:
    url, _sent = await serve(_declared_then_stall, 20 * MIB)
    started = time.monotonic()
    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        body = await read_capped(response, MIB)
    assert body is None
    assert time.monotonic() - started < 5  # it did not wait for the 30 s stall
