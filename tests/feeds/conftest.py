"""Fixtures for the feeds tests: the loopback feed server and a pump that drives an adapter."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from bot.backoff import Backoff
from bot.platforms.feeds.source import FeedsAdapter
from tests.fakes.feeds import FeedServer, Pump

POLL = 0.02  # seconds between polls in tests; nothing waits on it, tests poll for conditions


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    """A running loopback feed server."""
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def make_adapter() -> AsyncIterator[Callable[..., Awaitable[FeedsAdapter]]]:
    """Build and open adapters with a short poll and a small, seeded backoff; close them after."""
    made: list[FeedsAdapter] = []

    async def make(feeds: Sequence[str], **options: Any) -> FeedsAdapter:
        options.setdefault("poll_seconds", POLL)
        options.setdefault("backoff", Backoff(base=POLL, cap=0.2, rng=random.Random(7)))
        adapter = FeedsAdapter(feeds, **options)
        await adapter.open()
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
async def pumps() -> AsyncIterator[Callable[..., Pump]]:
    """Start pumps; every one is stopped at the end of the test."""
    started: list[Pump] = []

    def start(adapter: FeedsAdapter, cursor: str | None = None) -> Pump:
        pump = Pump(adapter, cursor)
        started.append(pump)
        return pump

    yield start
    for pump in started:
        await pump.stop()
