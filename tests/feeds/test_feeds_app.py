"""The demo feed through the whole bot: feed, ingest, route, card; a restart reposts and skips nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.app import PatronDesk
from bot.config import Settings
from bot.core.base import OnAction
from bot.demo import DemoFeedServer
from bot.models import StaffRef
from bot.platforms.feeds.source import FeedsAdapter
from bot.views import CardRef, TicketView
from tests.fakes.feeds import eventually

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


class CardWall:
    """A minimal StaffDesk that records the cards it is asked to post."""

    desk = "wall"

    def __init__(self) -> None:
        self.posts: list[TicketView] = []

    async def serve(self, on_action: OnAction) -> None:
        await asyncio.Event().wait()

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        self.posts.append(card)
        return CardRef(self.desk, channel, str(len(self.posts)))

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        return None

    async def tell(self, who: StaffRef, text: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FakeClock:
    """The demo server's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def settings(tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/feeds.db",
        RULES_FILE=EXAMPLES / "rules.toml",
        ROTA_FILE=EXAMPLES / "rota.csv",
        CONSOLE_DESK="off",
    )


async def test_demo_feed_becomes_cards_once_across_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    wall = CardWall()
    async with DemoFeedServer(clock=clock, now=lambda: T0) as server:
        first = FeedsAdapter([server.url], poll_seconds=0.02, backfill=True)
        async with PatronDesk(settings(tmp_path), sources=[first], desks=[wall]) as app:
            await eventually(lambda: len(wall.posts) >= 5)
            await app.wait_idle()
        assert Counter(card.role for card in wall.posts) == {
            "circulation": 1,
            "tech": 1,
            "reference": 1,
            "social-media": 1,
            "director": 1,
        }
        assert all(card.source == "feeds" and not card.can_reply for card in wall.posts)
        assert all(card.url and "example." in card.url for card in wall.posts)

        clock.now += 8.0  # one more entry while the bot is down
        # no backfill: only the stored cursor can tell the new adapter that entry six is new
        second = FeedsAdapter([server.url], poll_seconds=0.02, backfill=False)
        async with PatronDesk(settings(tmp_path), sources=[second], desks=[wall]) as app:
            await eventually(lambda: len(wall.posts) >= 6)
            before = server.requests
            await eventually(lambda: server.requests >= before + 3)  # several more polls
            await app.wait_idle()
    assert len(wall.posts) == 6  # the first five were not carded again
    assert len({card.mention_id for card in wall.posts}) == 6
    assert "hold" in wall.posts[-1].text  # the sixth entry of the demo
