"""The one loopback server base of tests/fakes: a free port, an origin, refuse and listen again, close."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.loopback import LoopbackServer, free_port


class Echo(LoopbackServer):
    """The smallest server on the base: one route that answers its path."""

    def web_routes(self) -> list[web.RouteDef]:
        return [web.get("/{name}", self._echo)]

    async def _echo(self, request: web.Request) -> web.Response:
        return web.Response(text=request.match_info["name"])


async def test_start_serves_on_a_free_loopback_port_and_close_frees_it() -> None:
    async with Echo() as server, aiohttp.ClientSession() as session:
        assert server.port != 0 and server.origin == f"http://127.0.0.1:{server.port}"
        async with session.get(f"{server.origin}/hello") as answer:
            assert await answer.text() == "hello"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{server.origin}/hello")


async def test_stop_listening_refuses_and_listen_takes_the_same_port_back() -> None:
    async with Echo() as server:
        port = server.port
        await server.stop_listening()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(f"{server.origin}/gone")
        await server.listen()
        assert server.port == port
        async with aiohttp.ClientSession() as session, session.get(f"{server.origin}/back") as answer:
            assert await answer.text() == "back"


def test_free_port_is_a_usable_loopback_port() -> None:
    assert 1024 <= free_port() <= 65535
