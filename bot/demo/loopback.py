"""The one loopback server base (127.0.0.1, a free port, start/close) shared by the demo's stand-ins and
the test fakes, and the JSON answer they send."""

from __future__ import annotations

import json
from typing import Any, Self

from aiohttp import web


class LoopbackServer:
    """An aiohttp server on 127.0.0.1 and a free port; subclasses give their routes in ``web_routes()``.

    ``await start()`` / ``await close()``, or ``async with``. ``origin`` is ``http://127.0.0.1:<port>``.
    """

    shutdown_timeout = 0.1  # how long close() lets handlers still running finish
    client_max_size = 1024**2  # aiohttp's default request body cap

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    def web_routes(self) -> list[web.RouteDef]:
        """The server's routes."""
        raise NotImplementedError

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` (the port is known once started)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Self:
        """Build the app and listen."""
        app = web.Application(client_max_size=self.client_max_size)
        app.add_routes(self.web_routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        await self.listen()
        return self

    async def listen(self) -> None:
        """Listen on ``port`` (a free one the first time; the same one again after ``stop_listening``)."""
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def stop_listening(self) -> None:
        """Refuse new connections and drop the open ones; ``listen()`` takes them back."""
        assert self._runner is not None and self._runner.server is not None and self._site is not None
        await self._site.stop()
        for connection in self._runner.server.connections:
            connection.force_close()

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def json_body(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the platforms send it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_answer(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the platforms' content type."""
    return web.Response(
        status=status,
        body=json_body(payload),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )
