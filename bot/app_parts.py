"""The running half of ``PatronDesk``: every source, desk, relay worker and timer as a supervised part,
and the one HTTP server (a mixin; ``bot/app.py`` builds the state used here)."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot import http, metrics
from bot.backoff import Backoff, Reconnector
from bot.config import Settings
from bot.core.authz import Gate
from bot.core.relay import Relay
from bot.core.rota_feed import Feeds
from bot.core.rota_sync import rota_parts
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.crashpoints import crash_point
from bot.errors import AdapterConfigError, TransientError
from bot.metrics import Health
from bot.net.retry import reconnecting
from bot.platforms import REGISTRY
from bot.platforms.base import PlatformParts
from bot.platforms.capabilities import PushSource, SourceAdapter, StaffDesk
from bot.store import faults, outbox
from bot.store.db import Database
from bot.store.leases import run_with_lease
from bot.supervisor import Supervisor

log = logging.getLogger(__name__)


class AppParts:
    """Run the built parts under one supervisor and serve ``/healthz`` and ``/metrics``; the
    attributes are PatronDesk's."""

    settings: Settings
    clock: Callable[[], datetime]
    db: Database
    health: Health
    ready: asyncio.Event
    sources: dict[str, SourceAdapter]
    desks: dict[str, StaffDesk]
    clients: dict[str, Any]
    relay: Relay
    timers: Timers
    feeds: Feeds
    gate: Gate
    http_port: int
    _service: DeskService
    _runner: Any
    _restart_policy: Backoff | None
    _restart_sleep: Callable[[float], Awaitable[None]]

    async def _run(self) -> None:
        """Every source, desk, relay worker and the timers as named parts of one supervisor."""
        await self._start_http()
        parts = Supervisor(self.health, policy=self._restart_policy, sleep=self._restart_sleep)
        for name, source in self.sources.items():
            if not (isinstance(source, PushSource) and source.push):
                work = functools.partial(self._pump, source)
                parts.add(f"source:{name}", functools.partial(run_with_lease, self.db, name, work))
        for name, desk in self.desks.items():
            parts.add(f"desk:{name}", functools.partial(self._serve, desk))
        for target in self.relay.targets:
            parts.add(f"relay:{target}", functools.partial(self.relay.work, target))
        parts.add("timers", self._tick)
        for name, (job, shared) in rota_parts(self._service, self.settings).items():
            # a shared job writes the rota: one process at a time, as a pull source does
            parts.add(name, functools.partial(run_with_lease, self.db, name, job) if shared else job)
        await parts.run(started=self._started)

    def _started(self) -> None:
        self.ready.set()
        gc.collect()
        gc.freeze()  # start-up objects live for good: keep full collections from scanning them
        log.info("Patron Desk is running: sources %s; desks %s", sorted(self.sources), sorted(self.desks))

    async def _serve(self, desk: StaffDesk) -> None:
        """Run a desk; its health is "ok" while it serves."""
        part = f"desk:{desk.desk}"
        self.health.set(part, "ok")
        try:
            await desk.serve(self.gate.guard(self._service.handle))
        finally:
            self.health.set(part, "stopped")

    async def _pump(self, source: SourceAdapter) -> None:
        """Feed one pull source into ingest; on an outage wait and resume from the stored cursor."""
        retry = Reconnector()
        part = f"source:{source.source}"

        async def run_once() -> None:
            started = asyncio.get_running_loop().time()
            cursor = await self._service.cursor(source.source)
            self.health.set(part, "ok")
            async for mention, after in source.mentions(cursor):
                crash_point("after_fetch")
                await self._service.ingest(source.source, mention, after)
                retry.connected_for(asyncio.get_running_loop().time() - started)

        def dropped(exc: Exception, wait: float) -> None:
            metrics.ERRORS.labels(source.source, type(exc).__name__).inc()
            self.health.set(part, f"retrying after {type(exc).__name__}")
            log.warning("source %s: %s; retrying in %.1fs", source.source, type(exc).__name__, wait)

        try:  # anything not retryable is raised: the supervisor restarts the part
            await reconnecting(run_once, policy=retry, on_error=dropped, retryable=_outage)
        except AdapterConfigError as exc:
            log.error("source %s stopped: %s", source.source, exc)
            self.health.set(part, "off: settings refused")

    async def _tick(self) -> None:
        """Run the timers every TIMER_SECONDS, the first pass one interval after start (sources and
        desks connect first); a failing pass is logged and the next one runs."""
        while True:
            await asyncio.sleep(self.settings.TIMER_SECONDS)
            try:
                await self.timers.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("timer pass failed: %s", type(exc).__name__)

    async def _start_http(self) -> None:
        routes = [
            route
            for name, spec in REGISTRY.items()
            if spec.http_routes is not None
            for route in spec.http_routes(self._parts(name))
        ]
        routes += self.feeds.routes()
        started = await http.start(
            self.settings.HTTP_HOST,
            self.settings.HTTP_PORT,
            routes,
            health=self._health,
            metrics=self._metrics,
        )
        if started is None and routes:
            self.health.set("http", "off: port in use")
        if started is not None:
            self._runner, self.http_port = started

    def _parts(self, name: str) -> PlatformParts:
        return PlatformParts(self.clients.get(name), self.sources.get(name), self.desks.get(name))

    async def _outbox(self) -> tuple[int, datetime | None, int]:
        async with self.db.transaction() as session:
            return await outbox.summary(session)

    async def _health(self) -> tuple[int, dict[str, object]]:
        depth, oldest, failed = await self._outbox()
        age = (self.clock() - oldest).total_seconds() if oldest else 0.0
        return self.health.report({"pending": depth, "oldest_seconds": round(age, 1), "failed": failed})

    async def _metrics(self) -> bytes:
        depth, oldest, failed = await self._outbox()
        return metrics.render(depth=depth, oldest=oldest, failed=failed, now=self.clock())


def _outage(exc: Exception) -> bool:
    """What a pump waits out: a platform outage or a lost database connection."""
    return isinstance(exc, TransientError) or faults.connection_error(exc)
