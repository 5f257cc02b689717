"""The fault plumbing of the fakes on top of the one loopback server base (``bot.demo.loopback``, shared
with the demo's stand-ins), plus ``free_port`` and the JSON helpers with hostile-byte markers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.demo.loopback import LoopbackServer as LoopbackServer

BAD_BYTES = "@@INVALID-UTF8@@"  # in a payload, this marker is sent as the bytes b"\xff\xfe"
LONE_SURROGATE = "@@LONE-SURROGATE@@"  # sent as the JSON escape \ud800 (json.loads makes it a lone surrogate)


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers we do not run in-process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


class RecordingServer(LoopbackServer):
    """A loopback server that logs every request (``hits``) and answers queued faults instead."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.hits: list[Hit] = []

    @property
    def url(self) -> str:
        return self.origin

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
