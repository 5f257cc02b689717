"""Limits that keep slow or many clients from exhausting the HTTP server.

aiohttp closes a connection whose request head has not arrived within its keep-alive timeout (the
timer starts at accept), so that timeout is the header deadline. The rest is here: a deadline for
the body, counted from the head, and a cap on open connections that closes the oldest idle one
(a connection whose request has not begun) to make room, so a flood of half-open connections can
neither fill the file-descriptor table nor keep a real request out.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 1000
REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def connection_cap(wanted: int = MAX_CONNECTIONS) -> int:
    """``wanted``, but at most half the open-file limit: the rest is for the database and clients."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft // 2))


@dataclass(frozen=True, slots=True)
class Limits:
    """Deadlines (seconds) and sizes for every route.

    Attributes:
        header_timeout: from accept (or the end of the last response) to a complete request head.
        body_timeout: from the request head to the end of its body.
        max_connections: open connections; 0 means ``connection_cap()``.
        max_body: bytes of one request body (routes may allow less).
        backlog: the listen queue.
    """

    header_timeout: float = 10.0
    body_timeout: float = 20.0
    max_connections: int = 0
    max_body: int = 1024 * 1024
    backlog: int = 1024


class BodyTimeout(TimeoutError):
    """The request body did not arrive in time."""


class _Refuse(asyncio.Protocol):
    """Answers 503 and closes: every slot holds a request being handled."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(REFUSAL)
        transport.close()


class Guard:
    """The body deadline (a middleware) and the connection cap (a listening site) of one server."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cap = limits.max_connections or connection_cap()
        # aiohttp's handlers take no weak references: these sets are pruned as connections end
        self.busy: set[RequestHandler] = set()
        self.closing: set[RequestHandler] = set()
        self.evicted = 0
        self.refused = 0
        self._warned = False

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Mark the connection busy while its request is handled; end a body that is too slow."""
        self.busy.add(request.protocol)
        body = request.content
        timer = None
        if not body.is_eof():

            def expire() -> None:
                if not body.is_eof():
                    body.set_exception(BodyTimeout())

            timer = asyncio.get_running_loop().call_later(self.limits.body_timeout, expire)
        try:
            return await handler(request)
        except BodyTimeout:
            log.warning("HTTP %s: request body not received in %.0fs", request.path, self.limits.body_timeout)
            response = web.json_response({"error": "request body too slow"}, status=408)
            response.force_close()
            return response
        finally:
            if timer is not None:
                timer.cancel()
            self.busy.discard(request.protocol)

    def protocol_factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        """aiohttp's protocol factory behind the cap: at the cap the oldest idle connection goes."""

        def make() -> asyncio.Protocol:
            connections = server.connections
            self.closing.intersection_update(connections)
            live = [h for h in connections if h not in self.closing]
            if len(live) >= self.cap:
                idle = next((h for h in live if h not in self.busy), None)
                if idle is None:
                    self.refused += 1
                    self._warn()
                    return _Refuse()
                self.closing.add(idle)  # its connection_lost comes on a later loop turn
                idle.force_close()
                self.evicted += 1
                self._warn()
            elif len(live) < self.cap // 2:
                self._warned = False
            return server()

        return make

    def _warn(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning("HTTP server: %d connections open (the cap); closing the oldest idle ones", self.cap)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through ``Guard.protocol_factory``."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, guard: Guard) -> None:
        super().__init__(runner, backlog=guard.limits.backlog)
        self._host, self._port, self._guard = host, port, guard

    @property
    def name(self) -> str:
        """The URL served."""
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Listen (raises OSError when the address cannot be bound)."""
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
