"""AUTO_RESOLVE_DAYS closes a reply nobody marked resolved, after the quiet period and not before,
and updates its card; with the expiry of untouched mentions, no mention stays unpurged for ever."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.backoff import Backoff
from bot.config import Settings
from bot.core.relay import Relay
from bot.core.retention import auto_resolve
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.models import Claim, Reply, Status
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.report_tables import AuditRow
from tests.fakes.recording import FakeSource, RecordingDesk

from .helpers import make_service, mention, staff

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Desk:
    """A service, its timers, a relay to a recording desk and a fake source, and the clock."""

    def __init__(self, service: DeskService, clock: Clock, **settings: int) -> None:
        self.service, self.clock = service, clock
        self.desk, self.source = RecordingDesk(), FakeSource()
        self.relay = Relay(
            service,
            desks={"test": self.desk},
            sources={"fake": self.source},
            policy=Backoff(rng=random.Random(1)),
        )
        self.timers = Timers(service, Settings(**settings))

    async def drain(self, *targets: str) -> None:
        for target in targets or ("test", "fake", "test"):
            while await self.relay.drain(target):
                pass

    async def tick_at(self, when: datetime) -> None:
        self.clock.now = when
        await self.timers.tick()
        await self.drain("test")

    async def row(self, mention_id: int) -> MentionRow:
        async with self.service.db.transaction() as session:
            return await self.service.row(session, mention_id)


async def build(db: Database, **settings: int) -> Desk:
    clock = Clock(T0)
    service = await make_service(db, desks=("test",), now=T0)
    service.clock = clock
    return Desk(service, clock, **settings)


async def replied(desk: Desk, n: int, *, publish: bool = True) -> None:
    """A mention with a reply; unpublished ones come from a source whose outbox is never drained."""
    source = "fake" if publish else "offline"
    assert await desk.service.ingest(source, mention(n, source=source), None)
    assert (await desk.service.handle(Reply(n, staff(1), f"Answer {n}"))).ok
    await desk.drain()


async def test_quiet_reply_is_resolved_after_the_period_and_not_before(database: Database) -> None:
    desk = await build(database, AUTO_RESOLVE_DAYS=14)
    await replied(desk, 1)
    await replied(desk, 2, publish=False)  # its reply is still being published: not an answer yet
    await replied(desk, 3)
    desk.clock.now = T0 + timedelta(days=10)
    assert (await desk.service.handle(Reply(3, staff(1), "And one more thing"))).ok
    await desk.drain()  # a second reply on day 10 restarts the quiet period of #3

    desk.clock.now = T0 + timedelta(days=14) - timedelta(minutes=1)
    assert await auto_resolve(desk.service, days=14) == 0
    desk.clock.now = T0 + timedelta(days=14, minutes=1)
    assert await auto_resolve(desk.service, days=14) == 1
    assert [(await desk.row(n)).status for n in (1, 2, 3)] == ["resolved", "replied", "replied"]
    assert await auto_resolve(desk.service, days=14) == 0  # once

    row = await desk.row(1)
    assert row.resolved_at == desk.clock.now and "automatically" in row.note
    async with database.transaction() as session:
        audit = (await session.execute(select(AuditRow).where(AuditRow.action == "auto_resolve"))).scalars()
        assert [(a.mention_id, a.actor) for a in audit] == [(1, "timer")]
    updates = len(desk.desk.updates)
    await desk.drain("test")
    (view,) = [v for _, v in desk.desk.updates[updates:] if v.mention_id == 1]
    assert view.status is Status.RESOLVED  # the card says so, through the outbox

    desk.clock.now = T0 + timedelta(days=24, minutes=1)
    assert await auto_resolve(desk.service, days=14) == 1
    assert [(await desk.row(n)).status for n in (2, 3)] == ["replied", "resolved"]


async def test_the_daily_timer_resolves_and_zero_turns_it_off(database: Database) -> None:
    desk = await build(database, AUTO_RESOLVE_DAYS=14)
    await replied(desk, 1)
    await desk.tick_at(T0 + timedelta(days=13))
    assert (await desk.row(1)).status == "replied"
    await desk.tick_at(T0 + timedelta(days=15))
    assert (await desk.row(1)).status == "resolved"
    assert any(v.mention_id == 1 and v.status is Status.RESOLVED for _, v in desk.desk.updates)

    off = await build(database, AUTO_RESOLVE_DAYS=0)
    assert await auto_resolve(off.service, days=0) == 0
    await replied(off, 2)
    await off.tick_at(T0 + timedelta(days=300))
    assert (await off.row(2)).status == "replied"


@pytest.mark.slow
@pytest.mark.parametrize("days", [14, 0])
async def test_no_mention_stays_unpurged_for_ever(database: Database, days: int) -> None:
    """Every unfinished state, left alone: purged by the daily timer, whatever AUTO_RESOLVE_DAYS."""
    desk = await build(database, AUTO_RESOLVE_DAYS=days, RETENTION_DAYS=365)
    service = desk.service
    assert await service.ingest("fake", mention(1), None)  # routed: no desk has posted it
    await replied(desk, 2)  # replied, published
    await replied(desk, 3, publish=False)  # replied, never published
    assert await service.ingest("fake", mention(4), None)
    assert (await service.handle(Claim(4, staff(2)))).ok  # claimed, never answered
    assert await service.ingest("fake", mention(5), None)
    await desk.drain("test")  # posted, never claimed (escalated by the first tick)
    await desk.tick_at(T0 + timedelta(days=1))
    await desk.tick_at(T0 + timedelta(days=364))
    assert [(await desk.row(n)).purged_at for n in range(1, 6)] == [None] * 5  # nothing early
    await desk.tick_at(T0 + timedelta(days=2 * 365 + 30))
    rows = [await desk.row(n) for n in range(1, 6)]
    assert all(r.purged_at is not None for r in rows), [(r.id, r.status, r.purged_at) for r in rows]
    assert all(r.text == "" for r in rows)
    assert [r.status for r in rows] == ["ignored", "resolved", "ignored", "ignored", "ignored"]  # answered
    assert all(r.external_id.startswith("h:") for r in rows)
