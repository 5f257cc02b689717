"""Outbox lanes and summary cards on a real database: who goes first, and a feed burst folded into one card.

No timing is asserted: the clock is moved by hand and the relay drained pass by pass.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.models import Claim, DeskQuery, StaffRef, Status
from bot.platforms import REGISTRY
from bot.platforms.capabilities import ShowsFolds
from bot.store.db import Database
from bot.store.fold_tables import FoldItemRow
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.views import CardRef, FoldView, TicketView
from tests.fakes.recording import RecordingDesk

from .helpers import make_service, mention, staff
from .test_relay import Clock, pending

FEED, SOCIAL = "feeds", "mastodon"  # read-only and answerable, as their specs say
CONSOLE = StaffRef("console", "console", "console")


@dataclass
class FoldingDesk(RecordingDesk):
    """A recording desk that also shows summary cards, and keeps every call in order."""

    calls: list[tuple[str, int]] = field(default_factory=list)  # ("post" | "update" | "fold", id)
    folds: dict[int, FoldView] = field(default_factory=dict)  # fold id -> last view shown

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        self.calls.append(("post", card.mention_id))
        return await super().post_card(card, channel=channel, dedupe_key=dedupe_key, retry=retry)

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        self.calls.append(("update", card.mention_id))
        await super().update_card(ref, card)

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        self.calls.append(("fold", fold.fold_id))
        self.folds[fold.fold_id] = fold
        return CardRef(self.desk, channel, f"fold-{fold.fold_id}")

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        self.calls.append(("fold", fold.fold_id))
        self.folds[fold.fold_id] = fold


async def setup(db: Database, *, fold_at: int = 10) -> tuple[Relay, FoldingDesk, Clock]:
    desk = FoldingDesk()
    assert isinstance(desk, ShowsFolds)
    service = await make_service(db, desks=(desk.desk,))
    clock = Clock(service.clock())
    service.clock = clock
    service.fold_at = fold_at
    relay = Relay(
        service, desks={desk.desk: desk}, sources={}, policy=Backoff(base=1, cap=10, rng=random.Random(1))
    )
    return relay, desk, clock


async def drain_all(relay: Relay, clock: Clock, target: str = "test") -> None:
    for _ in range(200):
        if not await pending(relay.db):
            return
        await relay.drain(target)
        clock.advance(3)
    raise AssertionError("the outbox never emptied")


async def ingest(relay: Relay, n: int, source: str) -> None:
    assert await relay.service.ingest(source, dataclasses.replace(mention(n), source=source), None)


async def test_answerable_before_read_only(database: Database) -> None:
    relay, desk, clock = await setup(database, fold_at=0)
    for n in range(1, 6):
        await ingest(relay, n, FEED)
    await ingest(relay, 6, SOCIAL)  # a patron's question arrives behind five feed items
    await drain_all(relay, clock)
    assert [m for kind, m in desk.calls if kind == "post"] == [6, 1, 2, 3, 4, 5]


async def test_updates_before_posts(database: Database) -> None:
    relay, desk, clock = await setup(database)
    await ingest(relay, 1, SOCIAL)
    await relay.drain("test")
    for n in range(2, 6):
        await ingest(relay, n, SOCIAL)
    await relay.service.handle(Claim(1, staff(1)))  # a staff action after the new posts were queued
    await drain_all(relay, clock)
    assert desk.calls == [("post", 1), ("update", 1), ("post", 2), ("post", 3), ("post", 4), ("post", 5)]


async def _fold_list(relay: Relay, fold_id: int) -> list[int]:
    """Every item the summary card's list reaches, page by page, as staff would read it."""
    seen: list[int] = []
    for page in range(1, 1000):
        result = await relay.service.handle(DeskQuery(CONSOLE, f"fold {fold_id} list {page}"))
        assert result.ok, result.message
        seen += [int(line.split(" ", 1)[0][1:]) for line in result.extra if line.startswith("#")]
        if not any(line.startswith("More:") for line in result.extra):
            return seen
    raise AssertionError("the list never ended")


@pytest.mark.slow
async def test_summary_card_replaces_the_feed_burst(database: Database) -> None:
    relay, desk, clock = await setup(database, fold_at=10)
    await ingest(relay, 100, SOCIAL)
    for n in range(1, 38):
        await ingest(relay, n, FEED)
    await drain_all(relay, clock)
    feed_posts = [m for kind, m in desk.calls if kind == "post" and m != 1]
    assert feed_posts == []  # no card of its own for any feed item
    assert [m for kind, m in desk.calls if kind == "post"] == [1]  # only the patron's question
    (fold,) = desk.folds.values()
    assert (fold.total, fold.waiting, fold.source) == (37, 37, FEED)
    async with database.transaction() as session:
        folded = set((await session.execute(select(FoldItemRow.mention_id))).scalars())
        counted = await session.scalar(
            select(func.count()).select_from(MentionRow).where(MentionRow.source == FEED)
        )
    assert counted == 37 and len(folded) == 37  # every item stored and counted as a mention
    assert sorted(await _fold_list(relay, fold.fold_id)) == sorted(folded)  # and reachable
    stats = await relay.service.handle(DeskQuery(CONSOLE, "stats"))
    assert ": 38 mentions" in stats.message and "feeds 37" in stats.message  # folded items are counted
    claim = await relay.service.handle(DeskQuery(CONSOLE, f"fold {fold.fold_id} claim"))
    assert claim.ok and "Claimed 37 of the 37" in claim.message
    await drain_all(relay, clock)
    assert desk.folds[fold.fold_id].claimed == 37 and desk.folds[fold.fold_id].waiting == 0
    done = await relay.service.handle(DeskQuery(CONSOLE, f"fold {fold.fold_id} handled"))
    assert done.ok and "37 of the 37" in done.message
    await drain_all(relay, clock)
    assert desk.folds[fold.fold_id].handled == 37
    for mention_id in folded:
        assert (await relay.service.view(mention_id)).status is Status.RESOLVED


async def test_a_fold_keeps_taking_its_source_and_is_edited(database: Database) -> None:
    relay, desk, clock = await setup(database, fold_at=3)
    for n in range(1, 4):
        await ingest(relay, n, FEED)
    await drain_all(relay, clock)
    (fold_id,) = desk.folds
    for n in range(4, 9):  # more of the same burst
        await ingest(relay, n, FEED)
    await drain_all(relay, clock)
    assert desk.folds[fold_id].total == 8 and [k for k, _ in desk.calls].count("fold") >= 2
    assert not [m for kind, m in desk.calls if kind == "post"]


async def test_folding_off_gives_every_item_its_card(database: Database) -> None:
    relay, desk, clock = await setup(database, fold_at=0)
    for n in range(1, 16):
        await ingest(relay, n, FEED)
    await drain_all(relay, clock)
    assert sorted(m for kind, m in desk.calls if kind == "post") == list(range(1, 16))
    assert desk.folds == {}


@pytest.mark.slow
async def test_a_burst_of_2000_folds_into_one_card(database: Database) -> None:
    relay, desk, clock = await setup(database, fold_at=10)
    for n in range(1, 2001):
        await ingest(relay, n, FEED)
    await drain_all(relay, clock)
    assert desk.folds and {f.total for f in desk.folds.values()} == {2000}
    assert [k for k, _ in desk.calls if k == "post"] == []
    (fold_id,) = desk.folds
    reached = await _fold_list(relay, fold_id)
    assert len(reached) == len(set(reached)) == 2000


async def test_a_source_flipping_between_answerable_and_read_only(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its spec changes between items: each item is laned and folded by what it was when it came."""
    relay, desk, clock = await setup(database, fold_at=4)
    flip = dataclasses.replace(REGISTRY[FEED], name="flip")
    answerable = set()
    for n in range(1, 41):
        read_only = (n // 3) % 2 == 0
        monkeypatch.setitem(REGISTRY, "flip", dataclasses.replace(flip, read_only=read_only))
        if not read_only:
            answerable.add(n)
        await ingest(relay, n, "flip")
    await drain_all(relay, clock)
    posted = [m for kind, m in desk.calls if kind == "post"]
    async with database.transaction() as session:
        folded = set((await session.execute(select(FoldItemRow.mention_id))).scalars())
    assert len(posted) == len(set(posted))  # nothing posted twice
    assert set(posted) | folded == set(range(1, 41))  # nothing lost: a card or a place on the summary
    assert answerable <= set(posted) and not answerable & folded  # a question is never folded away
    assert folded and sum(f.total for f in desk.folds.values()) == len(folded)
    assert await pending(database) == []


async def test_lane_is_stored_and_picked_by_one_indexed_query(database: Database) -> None:
    relay, _, _ = await setup(database, fold_at=0)
    await ingest(relay, 1, FEED)
    await ingest(relay, 2, SOCIAL)
    await relay.service.handle(Claim(2, staff(1)))
    async with database.transaction() as session:
        rows = list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())
    assert [(r.kind, r.mention_id, r.lane) for r in rows] == [
        ("post_card", 1, 2),
        ("post_card", 2, 1),
        ("update_card", 2, 0),
        ("history", 2, 2),  # the card's history line ("claimed by ..."): background, after its card
    ]
    if database.engine.dialect.name == "sqlite":  # the relay's pick (bot/store/outbox.py: due) uses the index
        async with database.transaction() as session:
            plan = await session.run_sync(
                lambda sync: (
                    sync.connection()
                    .exec_driver_sql(
                        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE target = 'test' AND state = 'pending'"
                        " AND next_attempt_at <= '9999' ORDER BY lane, next_attempt_at, id LIMIT 100"
                    )
                    .all()
                )
            )
        assert any("ix_outbox_pick" in str(row) for row in plan), plan
