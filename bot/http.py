"""The one HTTP server: adapters' and desks' routes (webhook, Slack HTTP mode), /healthz and /metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.http_guard import Guard, GuardedSite, Limits

log = logging.getLogger(__name__)

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


async def start(
    host: str,
    port: int,
    routes: Sequence[Route],
    *,
    health: Callable[[], Awaitable[tuple[int, dict[str, object]]]],
    metrics: Callable[[], Awaitable[bytes]],
    limits: Limits | None = None,
) -> tuple[web.AppRunner, int] | None:
    """Serve until the runner is cleaned up; None (logged) when the port cannot be bound.

    Every route is behind ``limits`` (bot/http_guard.py): header and body deadlines, a body size
    cap and a connection cap.
    """
    guard = Guard(limits or Limits())

    async def healthz(_: web.Request) -> web.Response:
        status, body = await health()
        return web.Response(
            status=status, text=json.dumps(body, default=str), content_type="application/json"
        )

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=await metrics(), content_type="text/plain", charset="utf-8")

    app = web.Application(client_max_size=guard.limits.max_body, middlewares=[guard.middleware])
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    # keepalive_timeout is aiohttp's deadline for a request head, from accept on; lingering_time
    # bounds how long the unread rest of a refused body is drained before the connection closes.
    # Handlers are not cancelled when a client goes: a cancelled database call can hold SQLite's
    # write lock (bot/store/db.py), and a stored mention must finish its transaction.
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=guard.limits.header_timeout,
        lingering_time=1.0,
    )
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, guard=guard).start()
    except OSError as exc:
        await runner.cleanup()
        log.error(
            "HTTP server: cannot listen on %s:%s (%s); webhook, Slack HTTP mode and /healthz are off",
            host,
            port,
            exc.strerror or type(exc).__name__,
        )
        return None
    bound = runner.addresses[0][1] if runner.addresses else port
    log.info("HTTP server on %s:%s", host, bound)
    return runner, bound
