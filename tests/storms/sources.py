"""The pull sources under a storm, one shape for all: a gated loopback server, fresh adapters, new posts.

Each ``Platform`` starts its server, builds adapters with test timings (short polls, a small backoff
cap: the brief's "small caps"), publishes a new mention and says which URL its card will carry.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from bot.backoff import Backoff
from bot.net.wire import utc_now
from bot.platforms.bluesky.parse import post_url
from bot.platforms.bluesky.source import BlueskyOptions, BlueskySource
from bot.platforms.capabilities import SourceAdapter
from bot.platforms.feeds.source import FeedsAdapter
from bot.platforms.mastodon.source import MastodonOptions, MastodonSource
from tests.fakes import bluesky as bluesky_server
from tests.fakes import mastodon as mastodon_server
from tests.fakes.feeds import Item, atom
from tests.fakes.storms import StormBluesky, StormFeeds, StormMastodon

from .gate import Gate

Clock = Callable[[], datetime]
POLL = 0.2  # seconds between polls (the real defaults are 30 s to 5 min)
LIMIT = 10  # requests per second the gates allow (polling alone makes about five)


def small_backoff(seed: int) -> Backoff:
    """The sources' own backoff with a small cap, so the storm's unhinted waits stay short."""
    return Backoff(base=0.1, cap=2.0, rng=random.Random(seed))


class Platform:
    """One source platform under test."""

    name = ""
    route = ""  # the gated endpoint
    server: Any

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.posted = 0

    async def __aenter__(self) -> Platform:
        await self.server.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.server.__aexit__(exc_type, exc, tb)

    def adapter(self, clock: Clock = utc_now) -> SourceAdapter:
        """A new adapter (a restarted bot builds new ones) on ``clock``."""
        raise NotImplementedError

    def add(self) -> str:
        """Publish a new mention; the URL its card will show."""
        raise NotImplementedError

    def replies(self) -> Counter[str]:
        """How many replies were published to each patron post (by its id)."""
        raise NotImplementedError


class Mastodon(Platform):
    """Fake Mastodon; its notifications (polling) and statuses (replies) routes can be gated."""

    name = "mastodon"
    route = "/api/v1/notifications"

    def __init__(self, gate: Gate, *, replies: Gate | None = None, streaming: bool = False) -> None:
        super().__init__(gate)
        gates = {self.route: gate} | ({"/api/v1/statuses": replies} if replies else {})
        self.server = StormMastodon(gates, streaming=streaming)
        self.streaming = streaming

    def adapter(self, clock: Clock = utc_now) -> MastodonSource:
        settings = MastodonOptions(
            streaming=self.streaming,
            poll_seconds=POLL,
            streaming_poll_seconds=300.0,  # while streaming, only the stream and reconnects bring news
            stall_timeout=0.5,
            backoff=small_backoff(1),
        )
        return MastodonSource(self.server.url, mastodon_server.TOKEN, options=settings, clock=clock)

    def add(self) -> str:
        self.posted += 1
        note = self.server.add_mention(f"mastodon storm question {self.posted}")
        return str(note["status"]["url"])

    def replies(self) -> Counter[str]:
        return Counter(str(p.body.get("in_reply_to_id")) for p in self.server.state.posted)


class Bluesky(Platform):
    """Fake Bluesky; listNotifications (polling) and createRecord (replies) can be gated."""

    name = "bluesky"
    route = "app.bsky.notification.listNotifications"

    def __init__(self, gate: Gate, *, replies: Gate | None = None) -> None:
        super().__init__(gate)
        gates = {self.route: gate} | ({"com.atproto.repo.createRecord": replies} if replies else {})
        self.server = StormBluesky(gates)

    def adapter(self, clock: Clock = utc_now) -> BlueskySource:
        options = BlueskyOptions(poll_seconds=POLL, backoff=small_backoff(2))
        return BlueskySource(
            self.server.url, bluesky_server.HANDLE, bluesky_server.PASSWORD, options=options, clock=clock
        )

    def add(self) -> str:
        self.posted += 1
        post = self.server.add_post(f"@{bluesky_server.HANDLE} bluesky storm question {self.posted}")
        return str(post_url(post["uri"], post["author"]["handle"]))

    def replies(self) -> Counter[str]:
        return Counter(str(r["value"]["reply"]["parent"]["uri"]) for r in self.server.state.records.values())


class Feeds(Platform):
    """A feed on the loopback feed server, every request gated (one lane per path)."""

    name = "feeds"
    route = "/alerts.xml"

    def __init__(self, gate: Gate) -> None:
        super().__init__(gate)
        self.server = StormFeeds(gate)
        self.items: list[Item] = []

    async def __aenter__(self) -> Feeds:
        await super().__aenter__()
        self.server.route(self.route, atom([]))
        return self

    def adapter(self, clock: Clock = utc_now) -> FeedsAdapter:
        return FeedsAdapter(
            [self.server.url(self.route)], poll_seconds=POLL, backoff=Backoff(base=POLL, cap=2.0), now=clock
        )

    def add(self) -> str:
        self.posted += 1
        url = f"https://news.example.org/story/{self.posted}"
        item = Item(
            id=f"tag:news.example.org,2026:{self.posted}", title=f"feeds storm {self.posted}", link=url
        )
        self.items.insert(0, item)
        self.server.routes[self.route].publish(atom(self.items))
        return url

    def replies(self) -> Counter[str]:
        return Counter()  # read-only
