"""The demo's world: the feed, every platform's stand-in and the scripted patrons, started together;
replies the library publishes on a stand-in are printed back to the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from bot.demo.feed import DemoFeedServer
from bot.demo.patrons import SCRIPT, assigned
from bot.demo.standin import Patron, Published, StandIn
from bot.platforms import REGISTRY, display_name

log = logging.getLogger(__name__)


def standins() -> list[StandIn]:
    """A stand-in for every platform that offers one (the registry's ``build_standin``)."""
    return [spec.build_standin() for spec in REGISTRY.values() if spec.build_standin is not None]


def published_line(item: Published) -> str:
    """How the terminal shows a post the library made: ``published on Mastodon: …`` and its link."""
    text = " ".join(item.text.split())
    return f"\n📣 published on {display_name(item.platform)}: {text}\n   {item.url}"


class DemoWorld:
    """``async with DemoWorld() as world:`` serves the feed and the stand-ins; ``world.settings()``
    points the real adapters at them; the patrons of ``script`` post at their times.

    Args:
        script: the patrons (default: ``patrons.SCRIPT``), each posting ``after`` seconds from start.
        out: where published replies are printed (stdout).
        speed: divides every patron's delay (tests run the script faster).
    """

    def __init__(
        self,
        *,
        script: tuple[Patron, ...] = SCRIPT,
        out: TextIO | None = None,
        speed: float = 1.0,
        feed: DemoFeedServer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feed = feed or DemoFeedServer()
        self.standins: dict[str, StandIn] = {}
        self._script = script
        self._out = out
        self._speed = max(speed, 1e-6)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DemoWorld:
        await self.feed.__aenter__()
        try:
            for standin in standins():
                await standin.start()
                standin.on_publish = self._print_published
                self.standins[standin.platform] = standin
        except BaseException:
            await self.aclose()
            raise
        self._task = asyncio.create_task(self._patrons(), name="demo-patrons")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the patrons, the stand-ins and the feed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for standin in self.standins.values():
            await standin.close()
        self.standins.clear()
        await self.feed.__aexit__(None, None, None)

    def settings(self) -> dict[str, Any]:
        """Settings that send the real adapters to the feed and the stand-ins."""
        found: dict[str, Any] = {"FEEDS": (self.feed.url,)}
        for standin in self.standins.values():
            found.update(standin.settings())
        return found

    def lines(self) -> list[str]:
        """What the demo serves, one line each, for the banner."""
        shown = [f"  feed: {self.feed.url}"]
        shown += [f"  {display_name(name)}: {s.origin}" for name, s in self.standins.items()]
        return shown

    async def _patrons(self) -> None:
        started = self._clock()
        for platform, patron in assigned(list(self.standins)):
            wait = started + patron.after / self._speed - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self.standins[platform].post(patron)
            log.info("demo: a patron posted on %s", platform)

    def _print_published(self, item: Published) -> None:
        out = self._out or sys.stdout
        out.write(published_line(item) + "\n")
        out.flush()
