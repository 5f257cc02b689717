"""The HTTP server's own limits, with short injected deadlines: a request head or body that never
finishes is closed, and at the connection cap the oldest idle connection makes room."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot import http
from bot.http_guard import Limits
from tests.waiting import until

LIMITS = Limits(header_timeout=0.5, body_timeout=0.5, max_body=1000)
CAP = 20


async def echo(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


async def ok() -> tuple[int, dict[str, object]]:
    return 200, {"status": "ok"}


async def no_metrics() -> bytes:
    return b""


@pytest.fixture
async def server() -> AsyncIterator[int]:
    started = await http.start(
        "127.0.0.1", 0, [("POST", "/echo", echo)], health=ok, metrics=no_metrics, limits=LIMITS
    )
    assert started is not None
    runner, port = started
    yield port
    await runner.cleanup()


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes (a generous bound: it fails on a server that
    never closes, it does not measure how soon)."""
    async with asyncio.timeout(15):
        return await reader.read()


async def test_a_head_that_never_finishes_is_closed(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # and nothing more
    await writer.drain()
    assert await _closed_by_server(reader) == b""
    writer.close()


async def test_a_silent_connection_is_closed(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    assert await _closed_by_server(reader) == b""
    writer.close()


async def test_a_body_that_never_finishes_gets_408_and_is_closed(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"x" * 10)
    await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    writer.close()


async def test_a_body_over_the_cap_is_refused(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
    await writer.drain()
    async with asyncio.timeout(15):
        status = await reader.readline()
    assert status.startswith(b"HTTP/1.1 413"), status
    writer.close()


async def test_at_the_cap_the_oldest_idle_connections_make_room() -> None:
    limits = Limits(header_timeout=60, max_connections=CAP)  # idle ones stay unless the cap acts
    started = await http.start(
        "127.0.0.1", 0, [("POST", "/echo", echo)], health=ok, metrics=no_metrics, limits=limits
    )
    assert started is not None
    runner, port = started
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(50)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
    await writer.drain()
    async with asyncio.timeout(15):
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"3")
    evicted = len(idle) + 1 - CAP  # the probe took the place of one more
    for idle_reader, _ in idle[:evicted]:
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(15):
                assert await idle_reader.read() == b""
    await asyncio.sleep(0.1)  # any wrong close would have been sent with the right ones
    assert not any(idle_reader.at_eof() for idle_reader, _ in idle[evicted:])
    for _, idle_writer in idle:
        idle_writer.close()
    await runner.cleanup()


async def test_when_every_slot_holds_a_request_a_new_connection_gets_503() -> None:
    entered: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        entered.append(request.path)
        return web.Response(text=str(len(await request.read())))

    limits = Limits(header_timeout=60, body_timeout=60, max_connections=2)
    started = await http.start(
        "127.0.0.1", 0, [("POST", "/slow", slow)], health=ok, metrics=no_metrics, limits=limits
    )
    assert started is not None
    runner, port = started
    busy = []
    for _ in range(2):  # requests whose bodies are still coming: being handled, not idle
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        busy.append((reader, writer))
    await until(lambda: len(entered) == 2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    async with asyncio.timeout(15):
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 503")
    assert not any(r.at_eof() for r, _ in busy)  # the requests in progress were left alone
    for _, w in [*busy, (reader, writer)]:
        w.close()
    await runner.cleanup()
