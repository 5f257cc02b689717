"""A feed re-read in full after its entries were purged (a lost cursor, a re-added feed) cards
nothing again: the real adapter, the real ingest, a real database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.core.retention import purge
from bot.core.service import DeskService
from bot.models import Resolve
from bot.platforms.feeds.source import FeedsAdapter
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from tests.core.helpers import make_service, staff
from tests.fakes.feeds import FeedServer, Item, atom

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
BLOG = "https://canary-blog.example/2026/01/"
ITEMS = [
    Item(id=f"{BLOG}{n}", title=f"Post {n} about the library", link=f"{BLOG}{n}", summary="Lovely staff")
    for n in (1, 2, 3)
]


async def read_all(adapter: FeedsAdapter, service: DeskService, cursor: str | None) -> list[bool]:
    """Ingest what one full read of the feed yields; True for each mention stored as new."""
    stored: list[bool] = []
    async for mention, position in adapter.mentions(cursor):
        if mention is not None:
            stored.append(await service.ingest("feeds", mention, position))
        if len(stored) == len(ITEMS):
            return stored
    raise AssertionError("the feed ended")  # pragma: no cover - mentions() polls for ever


async def counts(db: Database) -> tuple[int, int, int]:
    """Mentions, mentions whose external id still names the blog, outbox rows."""
    async with db.transaction() as session:
        mentions = (await session.execute(select(func.count()).select_from(MentionRow))).scalar_one()
        named = select(func.count()).where(MentionRow.external_id.like("%canary-blog%"))
        plain = (await session.execute(named)).scalar_one()
        outbox = (await session.execute(select(func.count()).select_from(OutboxRow))).scalar_one()
    return int(mentions), int(plain), int(outbox)


async def test_purged_feed_entries_read_again_are_repeats(
    database: Database, server: FeedServer, make_adapter: Callable[..., Awaitable[FeedsAdapter]]
) -> None:
    server.route("/blog.xml", atom(ITEMS))
    service = await make_service(database, desks=("test",), now=T0)
    adapter = await make_adapter([server.url("/blog.xml")], backfill=True)
    assert await read_all(adapter, service, None) == [True, True, True]
    for n in (1, 2, 3):
        assert (await service.handle(Resolve(n, staff(1)))).ok

    service.clock = lambda: T0 + timedelta(days=366)
    assert (await purge(service, days=365)).mentions == 3
    mentions, plain, outbox = await counts(database)
    assert (mentions, plain) == (3, 0)  # purged: no stored id names the blog any more

    again = await make_adapter([server.url("/blog.xml")], backfill=True)
    assert await read_all(again, service, None) == [False, False, False]  # cursor lost: read in full
    assert await counts(database) == (3, 0, outbox)  # nothing new stored, no card queued
