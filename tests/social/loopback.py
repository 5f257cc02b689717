"""Shared plumbing for the loopback platform servers: start on 127.0.0.1:0, inject faults, log requests."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BAD_BYTES = "@@INVALID-UTF8@@"  # in a payload, this marker is sent as the bytes b"\xff\xfe"
LONE_SURROGATE = "@@LONE-SURROGATE@@"  # sent as the JSON escape \ud800 (json.loads makes it a lone surrogate)


@dataclass
class Fault:
    """One canned answer given instead of the real one."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    """One request the server saw."""

    route: str
    method: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float
    fault: int | None = None  # the injected status this request got, if any
    path: str = ""


class LoopbackServer:
    """An aiohttp server on a free loopback port; subclasses add routes in ``routes()``."""

    def __init__(self) -> None:
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.hits: list[Hit] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LoopbackServer:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def inject(
        self, route: str, status: int, *, body: bytes | str = b"", times: int = 1, **headers: str
    ) -> None:
        """Answer the next ``times`` requests to ``route`` with this status/body/headers."""
        raw = body.encode() if isinstance(body, str) else body
        for _ in range(times):
            self.faults[route].append(
                Fault(status, raw, {k.replace("_", "-"): v for k, v in headers.items()})
            )

    def record(self, route: str, request: web.Request) -> web.Response | None:
        """Log the request; return the injected fault for it, if one is queued."""
        query = {key: request.query.getall(key) for key in request.query}
        hit = Hit(route, request.method, query, dict(request.headers), asyncio.get_running_loop().time())
        hit.path = request.path
        self.hits.append(hit)
        if self.faults[route]:
            fault = self.faults[route].pop(0)
            hit.fault = fault.status
            return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
        return None

    def hits_for(self, route: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.route == route]


def json_bytes(payload: Any) -> bytes:
    """Compact JSON like the platforms send; the BAD_BYTES marker becomes invalid UTF-8."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return raw.replace(BAD_BYTES.encode(), b"\xff\xfe").replace(LONE_SURROGATE.encode(), b"\\ud800")


def json_response(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json_bytes(payload),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )
