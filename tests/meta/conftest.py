"""Fixtures for the Meta platforms: the loopback Graph API and fast Facebook/Instagram sources."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.backoff import Backoff
from bot.platforms.facebook.source import FacebookSource
from bot.platforms.instagram.source import InstagramSource
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.source import GraphOptions, WebhookKeys
from bot.platforms.meta.throttle import Throttle, ThrottleOptions
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph
from tests.social.test_canary import everything  # noqa: F401 - the canary tests' log fixture


def fast_options(**values: Any) -> GraphOptions:
    values.setdefault("poll_seconds", 0.05)
    values.setdefault("webhook_poll_seconds", 0.05)
    values.setdefault("overlap", timedelta(seconds=30))
    values.setdefault("backoff", Backoff(base=0.01, cap=0.05, rng=random.Random(3)))
    return GraphOptions(**values)


class Sleeps:
    """A throttle's sleep that records what it was asked to wait and waits almost nothing."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def client_for(
    graph: FakeGraph, *, label: str = "Facebook", token: str = fake.TOKEN, **kwargs: Any
) -> GraphClient:
    kwargs.setdefault(
        "throttle", Throttle(ThrottleOptions(max_pause=5.0, blocked_pause=60.0), sleep=Sleeps())
    )
    return GraphClient(graph.base, fake.VERSION, token, label=label, **kwargs)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server


@pytest.fixture
async def make_facebook(graph: FakeGraph) -> AsyncIterator[Callable[..., Awaitable[FacebookSource]]]:
    made: list[FacebookSource] = []

    async def make(
        *, webhook: bool = False, client: GraphClient | None = None, opened: bool = True, **values: Any
    ) -> FacebookSource:
        ingest, on_change = values.pop("ingest", None), values.pop("on_change", None)
        source = FacebookSource(
            client or client_for(graph),
            fake.PAGE_ID,
            token=fake.TOKEN,
            options=fast_options(**values),
            webhook=WebhookKeys(fake.APP_SECRET, fake.VERIFY_TOKEN) if webhook else None,
            ingest=ingest,
            on_change=on_change,
        )
        made.append(source)
        if opened:
            await source.open()
        return source

    yield make
    for source in made:
        await source.aclose()


@pytest.fixture
async def make_instagram(graph: FakeGraph) -> AsyncIterator[Callable[..., Awaitable[InstagramSource]]]:
    made: list[InstagramSource] = []

    async def make(
        *, webhook: bool = False, client: GraphClient | None = None, **values: Any
    ) -> InstagramSource:
        ingest, on_change = values.pop("ingest", None), values.pop("on_change", None)
        source = InstagramSource(
            client or client_for(graph, label="Instagram"),
            fake.IG_ID,
            token=fake.TOKEN,
            options=fast_options(**values),
            webhook=WebhookKeys(fake.APP_SECRET, fake.VERIFY_TOKEN) if webhook else None,
            ingest=ingest,
            on_change=on_change,
        )
        made.append(source)
        await source.open()
        return source

    yield make
    for source in made:
        await source.aclose()
