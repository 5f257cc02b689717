"""Fixtures for the social sources: loopback servers, fast adapters, an in-memory store and a pump."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.backoff import Backoff
from bot.models import Mention
from bot.platforms.bluesky.source import BlueskyOptions, BlueskySource
from bot.platforms.capabilities import SourceAdapter
from bot.platforms.mastodon.source import MastodonOptions, MastodonSource
from tests.fakes import bluesky as bluesky_server
from tests.fakes import mastodon as mastodon_server

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-payloads"


def fast_backoff() -> Backoff:
    return Backoff(base=0.01, cap=0.05, rng=random.Random(3))


async def wait_until(predicate: Callable[[], object], seconds: float = 10.0) -> None:
    """Poll a condition with a generous limit (never a fixed sleep as synchronisation)."""
    async with asyncio.timeout(seconds):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


class MemoryStore:
    """What ``DeskService.ingest`` does, in memory: unique (source, external_id), cursor with each item."""

    def __init__(self) -> None:
        self.mentions: dict[tuple[str, str], Mention] = {}
        self.order: list[str] = []  # external ids in the order they were first stored
        self.cursor: str | None = None
        self.cursor_updates = 0
        self.repeats = 0

    async def ingest(self, source: str, mention: Mention | None, cursor: str | None) -> bool:
        new = False
        if mention is not None:
            key = (source, mention.external_id)
            if key in self.mentions:
                self.repeats += 1
            else:
                self.mentions[key] = mention
                self.order.append(mention.external_id)
                new = True
        if cursor is not None:
            self.cursor = cursor
            self.cursor_updates += 1
        return new

    def texts(self) -> list[str]:
        return [self.mentions[(source, ext)].text for (source, ext) in self.mentions]


class Pump:
    """Drives ``adapter.mentions(store.cursor)`` into the store like the app's pump; ``kill`` stops it."""

    def __init__(self, adapter: SourceAdapter, store: MemoryStore, *, stop_after: int | None = None) -> None:
        self.adapter = adapter
        self.store = store
        self.stop_after = stop_after
        self.delivered = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        items = self.adapter.mentions(self.store.cursor)
        async with contextlib.aclosing(items):  # type: ignore[type-var]
            async for mention, cursor in items:
                await self.store.ingest(self.adapter.source, mention, cursor)
                self.delivered += 1
                if self.stop_after is not None and self.delivered >= self.stop_after:
                    return  # a crash right after this commit

    async def kill(self) -> None:
        self.task.cancel()
        await asyncio.wait([self.task], timeout=30)
        assert self.task.done(), "the adapter did not stop when cancelled (a swallowed cancellation)"
        if not self.task.cancelled() and self.task.exception() is not None:
            raise self.task.exception()  # type: ignore[misc]


@pytest.fixture
async def mastodon() -> AsyncIterator[mastodon_server.FakeMastodon]:
    async with mastodon_server.FakeMastodon() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def bluesky() -> AsyncIterator[bluesky_server.FakeBluesky]:
    async with bluesky_server.FakeBluesky() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def make_mastodon(
    mastodon: mastodon_server.FakeMastodon,
) -> AsyncIterator[Callable[..., Awaitable[MastodonSource]]]:
    """Open Mastodon adapters against the loopback server with test timings; closed afterwards."""
    made: list[MastodonSource] = []

    async def make(**options: Any) -> MastodonSource:
        options.setdefault("poll_seconds", 0.05)
        options.setdefault("streaming_poll_seconds", 30.0)
        options.setdefault("stall_timeout", 0.5)
        options.setdefault("backoff", fast_backoff())
        token = options.pop("token", mastodon_server.TOKEN)
        on_change = options.pop("on_change", None)
        adapter = MastodonSource(mastodon.url, token, options=MastodonOptions(**options), on_change=on_change)
        made.append(adapter)
        await adapter.open()
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
async def make_bluesky(
    bluesky: bluesky_server.FakeBluesky,
) -> AsyncIterator[Callable[..., Awaitable[BlueskySource]]]:
    """Open Bluesky adapters against the loopback server with test timings; closed afterwards."""
    made: list[BlueskySource] = []

    async def make(**options: Any) -> BlueskySource:
        options.setdefault("poll_seconds", 0.05)
        options.setdefault("backoff", fast_backoff())
        password = options.pop("password", bluesky_server.PASSWORD)
        adapter = BlueskySource(
            bluesky.url, bluesky_server.HANDLE, password, options=BlueskyOptions(**options)
        )
        made.append(adapter)
        await adapter.open()
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
async def pumps() -> AsyncIterator[Callable[..., Pump]]:
    """Start pumps; every one still running is killed at the end."""
    started: list[Pump] = []

    def start(adapter: SourceAdapter, store: MemoryStore, **kwargs: Any) -> Pump:
        pump = Pump(adapter, store, **kwargs)
        started.append(pump)
        return pump

    yield start
    for pump in started:
        await pump.kill()
