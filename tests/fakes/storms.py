"""The loopback platforms with a ``Gate`` (tests/storms/gate.py) in front of the endpoints that storm.

Slack (chat.postMessage per channel), Mastodon and Bluesky (per route), feeds (per path), and a proxy
in front of a real Synapse (event sends; it can also cut every connection and refuse new ones).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.storms.gate import Gate, Wait

from .bluesky import FakeBluesky
from .feeds import FeedServer
from .loopback import LoopbackServer
from .mastodon import FakeMastodon
from .slack import SlackEmulator


def _gated(route: web.RouteDef, gate: Gate, lane: str, body: Callable[[Wait], Any]) -> web.RouteDef:
    original: Any = route.handler

    async def handler(request: web.Request) -> web.StreamResponse:
        wait = gate.check(lane)
        if wait is not None:
            return web.json_response(body(wait), status=429, headers=gate.headers(wait))
        response: web.StreamResponse = await original(request)
        return response

    return web.RouteDef(route.method, route.path, handler, route.kwargs)


class StormSlack(SlackEmulator):
    """The Slack emulator; ``chat.postMessage`` passes the gate, one lane per channel."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["method"] == "chat.postMessage":
            args = await self._args(request)
            wait = self.gate.check(str(args.get("channel", "")))
            if wait is not None:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers=self.gate.headers(wait)
                )
        return await super()._api(request)


class StormMastodon(FakeMastodon):
    """Fake Mastodon; ``gates`` maps a path (``/api/v1/notifications``) to its gate."""

    def __init__(self, gates: dict[str, Gate], **options: Any) -> None:
        super().__init__(**options)
        self.gates = gates

    def web_routes(self) -> list[web.RouteDef]:
        body = {"error": "Too many requests"}
        return [
            _gated(r, self.gates[r.path], r.path, lambda _w: body) if r.path in self.gates else r
            for r in super().web_routes()
        ]


class StormBluesky(FakeBluesky):
    """Fake Bluesky; ``gates`` maps an XRPC method (``com.atproto.repo.createRecord``) to its gate."""

    def __init__(self, gates: dict[str, Gate]) -> None:
        super().__init__()
        self.gates = gates

    def web_routes(self) -> list[web.RouteDef]:
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        found = []
        for route in super().web_routes():
            nsid = route.path.removeprefix("/xrpc/")
            found.append(
                _gated(route, self.gates[nsid], nsid, lambda _w: body) if nsid in self.gates else route
            )
        return found


class StormFeeds(FeedServer):
    """The feed server; every path passes the gate (one lane per path)."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        wait = self.gate.check(request.path)
        if wait is not None:
            return web.Response(status=429, text="slow down", headers=self.gate.headers(wait))
        return await super()._handle(request)


class MatrixProxy(LoopbackServer):
    """A reverse proxy in front of Synapse: event sends pass the gate (429 ``M_LIMIT_EXCEEDED`` with
    ``retry_after_ms``); ``cut()`` drops every connection and refuses new ones until ``restore()``."""

    client_max_size = 50 * 1024 * 1024

    def __init__(self, upstream: str, gate: Gate) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.gate = gate
        self.syncs = 0
        self.cuts = 0
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The homeserver URL the bot is given."""
        return self.origin

    def web_routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self._forward)]

    async def start(self) -> MatrixProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        return await super().start()

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()

    async def cut(self) -> None:
        """The homeserver is gone: stop listening and drop every open connection (syncs included)."""
        self.cuts += 1
        await self.stop_listening()

    async def restore(self) -> None:
        """Listen again on the same port."""
        await self.listen()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if request.method == "PUT" and "/send/" in request.path:
            wait = self.gate.check("send")
            if wait is not None:
                return _limit_exceeded(wait, self.gate)
        if request.path.endswith("/sync"):
            self.syncs += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            async with self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers, data=await request.read()
            ) as upstream:
                body = await upstream.read()
                skip = ("content-length", "transfer-encoding", "connection", "content-encoding")
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in skip}
                return web.Response(status=upstream.status, body=body, headers=kept)
        except aiohttp.ClientError:  # the proxy is closing (end of test)
            return web.Response(status=502, text="upstream gone")


def _limit_exceeded(wait: Wait, gate: Gate) -> web.Response:
    body: dict[str, Any] = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests"}
    if wait.millis is not None:
        body["retry_after_ms"] = wait.millis
    return web.Response(
        status=429, text=json.dumps(body), content_type="application/json", headers=gate.headers(wait)
    )
