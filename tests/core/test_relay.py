"""The outbox relay on a real database: cards posted once, retried after outages, replies sent once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.models import Claim, Reply, Status
from bot.store import mentions
from bot.store.db import Database
from bot.store.mention_tables import CardRow
from bot.store.mentions import StoredMention
from bot.store.outbox_tables import OutboxRow
from tests.fakes.recording import FakeSource, RecordingDesk, Refused

from .helpers import NOW, make_service, mention, staff


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def setup(db: Database, desk: RecordingDesk, source: FakeSource | None = None) -> tuple[Relay, Clock]:
    clock = Clock(NOW)
    service = await make_service(db, desks=(desk.desk,))
    service.clock = clock
    relay = Relay(
        service,
        desks={desk.desk: desk},
        sources={source.source: source} if source else {},
        policy=Backoff(base=1, cap=10, rng=random.Random(1)),
    )
    return relay, clock


async def pending(db: Database) -> list[OutboxRow]:
    async with db.transaction() as session:
        return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())


async def stored(db: Database, mention_id: int) -> StoredMention:
    async with db.transaction() as session:
        row = await mentions.get(session, mention_id)
    assert row is not None
    return row


async def test_card_posted_once_and_updated_in_place(database: Database) -> None:
    desk = RecordingDesk()
    relay, _ = await setup(database, desk)
    await relay.service.ingest("fake", mention(1), None)
    assert await relay.drain("test") == 1
    assert len(desk.cards_for(1)) == 1
    assert (await relay.service.view(1)).status is Status.POSTED
    await relay.service.handle(Claim(1, staff(1)))
    await relay.drain("test")
    assert [view.status for _, view in desk.updates] == [Status.CLAIMED]
    assert desk.updates[0][0].message_id == "0"
    assert await pending(database) == []


async def test_outage_delays_but_never_drops(database: Database) -> None:
    desk = RecordingDesk(fail_next=3)
    relay, clock = await setup(database, desk)
    await relay.service.ingest("fake", mention(1), None)
    for _ in range(3):
        await relay.drain("test")
        assert desk.posts == []
        rows = await pending(database)
        assert len(rows) == 1 and rows[0].last_error == "TransientError"
        assert await relay.drain("test") == 0  # not due yet: the backoff holds it
        clock.advance(60)
    await relay.drain("test")
    assert len(desk.cards_for(1)) == 1
    assert await pending(database) == []


async def test_post_that_timed_out_is_reconciled_not_reposted(database: Database) -> None:
    desk = RecordingDesk(lose_ack_next=1)
    relay, clock = await setup(database, desk)
    await relay.service.ingest("fake", mention(1), None)
    await relay.drain("test")  # posted, but the answer was lost
    clock.advance(60)
    await relay.drain("test")  # the retry looks for the earlier post first
    assert desk.retries_seen == [False, True]
    assert len(desk.cards_for(1)) == 1
    async with database.transaction() as session:
        assert len(list((await session.execute(select(CardRow))).scalars())) == 1


async def test_without_reconciliation_the_harness_sees_a_duplicate(database: Database) -> None:
    """Negative control: proves the test above can fail."""
    desk = RecordingDesk(lose_ack_next=1, reconcile=False)
    relay, clock = await setup(database, desk)
    await relay.service.ingest("fake", mention(1), None)
    await relay.drain("test")
    clock.advance(60)
    await relay.drain("test")
    assert len(desk.cards_for(1)) == 2


async def test_crash_after_lease_is_retried_as_a_retry(database: Database) -> None:
    desk = RecordingDesk()
    relay, clock = await setup(database, desk)
    await relay.service.ingest("fake", mention(1), None)
    from bot.store import outbox

    async with database.transaction() as session:  # a worker took the row and died
        (row,) = await outbox.due(session, target="test", now=clock.now)
        assert await outbox.lease(session, row.id, now=clock.now, until=clock.now + timedelta(seconds=120))
    assert await relay.drain("test") == 0  # leased: nobody else touches it
    clock.advance(121)
    await relay.drain("test")
    assert desk.retries_seen == [True]


async def test_reply_published_once_and_shown_on_card(database: Database) -> None:
    desk, source = RecordingDesk(), FakeSource()
    relay, _ = await setup(database, desk, source)
    await relay.service.ingest("fake", mention(1), None)
    await relay.drain("test")
    await relay.service.handle(Reply(1, staff(1), "Yes, online."))
    await relay.drain("fake")
    await relay.drain("fake")
    assert [text for _, text in source.replies.values()] == ["Yes, online."]
    await relay.drain("test")
    last = desk.updates[-1][1]
    assert last.status is Status.REPLIED and last.reply_url == "https://fake.example/ext-1/reply"
    assert last.replied_by == "Claimer 1"


async def test_published_reply_is_a_versioned_change_the_card_sees(database: Database) -> None:
    """Publishing goes through the transition: the version moves on, the first publish time stays."""
    desk, source = RecordingDesk(), FakeSource()
    relay, clock = await setup(database, desk, source)
    await relay.service.ingest("fake", mention(1), None)
    await relay.drain("test")
    await relay.service.handle(Reply(1, staff(1), "Yes, online."))
    queued = await stored(database, 1)
    assert queued.reply_url is None and queued.replied_at is None
    clock.advance(5)
    first = clock.now
    await relay.drain("fake")
    published = await stored(database, 1)
    assert published.version == queued.version + 1
    assert published.reply_url == "https://fake.example/ext-1/reply"
    assert published.replied_at == first and published.first_replied_at == first
    await relay.drain("test")
    assert desk.updates[-1][1].reply_url == published.reply_url  # the update drawn after the publish
    await relay.service.handle(Reply(1, staff(1), "And renewals too."))
    clock.advance(60)
    await relay.drain("fake")
    again = await stored(database, 1)
    assert again.version == published.version + 2  # the second reply, then its publish
    assert again.replied_at == clock.now and again.first_replied_at == first


async def test_refused_reply_reopens_and_tells_the_replier(database: Database) -> None:
    desk, source = RecordingDesk(desk="slack"), FakeSource(fail_reply=Refused("post was deleted"))
    relay, _ = await setup(database, desk, source)
    await relay.service.ingest("fake", mention(1), None)
    await relay.service.handle(Reply(1, staff(1), "Hello"))
    await relay.drain("fake")
    view = await relay.service.view(1)
    assert view.status is Status.CLAIMED and "post was deleted" in view.note
    rows = await pending(database)
    assert [r.state for r in rows if r.kind == "send_reply"] == ["failed"]  # kept, not dropped
    await relay.drain("slack")
    assert any("was not published" in text for _, text in desk.told)


async def test_one_platform_down_does_not_hold_up_another(database: Database) -> None:
    """Invariant 6: an outage delays its own rows only (one relay worker per target)."""
    import asyncio

    down, up = RecordingDesk(desk="down", fail_next=10**6), RecordingDesk(desk="up")
    service = await make_service(database, desks=("down", "up"))
    service.clock = lambda: datetime.now(UTC)  # retries come due as real time passes
    relay = Relay(service, desks={"down": down, "up": up}, sources={}, policy=Backoff(base=0.01, cap=0.01))
    service.wake = relay.wake
    task = asyncio.create_task(relay.run())
    try:
        for n in range(5):
            await service.ingest("fake", mention(n), None)
        from tests.waiting import until

        await until(lambda: len(up.posts) == 5)
        await until(lambda: len(down.retries_seen) >= 10)  # still trying, never given up
        async with database.transaction() as session:
            stmt = select(OutboxRow).where(OutboxRow.target == "down")
            rows = list((await session.execute(stmt)).scalars())
    finally:
        await database.quiesce()  # let a running transaction finish before cancelling
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert down.posts == []
    assert len(rows) == 5 and all(r.state == "pending" for r in rows)  # kept, not dropped
