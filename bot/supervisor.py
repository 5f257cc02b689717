"""A supervisor of named parts: an unexpected error restarts that part with backoff, never the process.

Each source, desk, relay worker and the timers is a part. A part that raises is logged (its class
and where, never the message: it may quote patron text), counted in /metrics, shown in /healthz, and
started again after the one retry policy's backoff. A part that raises ``AdapterConfigError`` stays
off; a part that returns has ended by itself. Only cancellation ends the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import metrics
from bot.backoff import Backoff, Reconnector
from bot.errors import AdapterConfigError
from bot.metrics import Health

log = logging.getLogger(__name__)

Part = Callable[[], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


def leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, which parts with task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def where(exc: BaseException) -> str:
    """File and line the error was raised at: enough to find it, with no message text."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


class Supervisor:
    """Runs named parts until cancelled, restarting each on its own.

    Args:
        health: where each part's state is shown.
        policy: the backoff between restarts (``bot.backoff``; injectable for tests).
        sleep: how to wait (injectable, so tests need not wait real seconds).
        healthy_after: seconds a part must run before its backoff starts again from the bottom.
    """

    def __init__(
        self,
        health: Health,
        *,
        policy: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        healthy_after: float = 60.0,
    ) -> None:
        self.health = health
        self.policy = policy or Backoff(base=1.0, cap=300.0)
        self.sleep = sleep
        self.healthy_after = healthy_after
        self.parts: dict[str, Part] = {}

    def add(self, name: str, part: Part) -> None:
        """Register a part; ``part()`` makes a fresh run of it each time it is called."""
        self.parts[name] = part

    async def run(self, *, started: Callable[[], None] = lambda: None) -> None:
        """Start every part, call ``started``, then wait for cancellation (parts may end; this does not)."""
        async with asyncio.TaskGroup() as group:
            for name, part in self.parts.items():
                group.create_task(self.keep(name, part), name=name)
            started()
            await asyncio.Event().wait()

    async def keep(self, name: str, part: Part) -> None:
        """Run one part, restarting it after each unexpected error; return when it ends or is off."""
        retry = Reconnector(policy=self.policy, healthy_after=self.healthy_after)
        while True:
            began = time.monotonic()
            self.health.set(name, "ok")
            try:
                await part()
            except Exception as exc:  # CancelledError is not an Exception: it passes through
                error = leaf(exc)
                if isinstance(error, AdapterConfigError):
                    log.error("%s is off: its settings were refused (%s)", name, type(error).__name__)
                    self.health.set(name, "off: settings refused")
                    return
                retry.connected_for(time.monotonic() - began)
                await self.sleep(self._failed(name, error, retry))
                continue
            if self.health.parts.get(name) == "ok":
                self.health.set(name, "stopped")
            log.info("%s ended", name)
            return

    def _failed(self, name: str, error: BaseException, retry: Reconnector) -> float:
        wait = retry.failed()
        kind = type(error).__name__
        metrics.RESTARTS.labels(name).inc()
        metrics.ERRORS.labels(name, kind).inc()
        self.health.restarted(name)
        self.health.set(name, f"restarting after {kind}")
        log.error("%s failed with %s at %s; restarting in %.1fs", name, kind, where(error), wait)
        return wait
