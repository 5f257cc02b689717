"""Pacing as scheduling through the whole outbox (store, relay, Slack desk, loopback emulator).

A card waiting for its channel slot is moved to that slot, not attempted; a 429 waits exactly its
hint, once, for its channel only; a question is posted ahead of a feed backlog and listed first in
the burst digest. The clock is moved by hand: no timing is asserted.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.errors import NotYet
from bot.platforms.slack.buttons import CARD_EVENT, CLAIM
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from tests.core.helpers import make_service, mention
from tests.core.test_relay import Clock
from tests.fakes.slack import BOT_TOKEN, Fault, SlackEmulator
from tests.slack.slack_helpers import OTHER, STAFF, view

PACE = 1.0  # Slack's own pace: time only moves when the test moves it


@dataclasses.dataclass
class Rig:
    relay: Relay
    desk: SlackDesk
    clock: Clock
    emu: SlackEmulator

    def at(self) -> float:
        """The desk's monotonic clock: seconds since the rig started."""
        return self.clock.since()

    async def rows(self) -> list[OutboxRow]:
        async with self.relay.db.transaction() as session:
            return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())

    def posted(self) -> list[str]:
        """Dedupe keys of the cards posted in the staff channel, in order."""
        return [
            m["metadata"]["event_payload"]["dedupe_key"]
            for m in self.emu.top_level(STAFF)
            if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
        ]


class SteppedClock(Clock):
    def since(self) -> float:
        return (self.now - self.start).total_seconds()

    def __init__(self, now: object) -> None:
        super().__init__(now)  # type: ignore[arg-type]
        self.start = self.now


@pytest.fixture
async def rig(sqlite_db: Database, emu: SlackEmulator) -> AsyncIterator[Rig]:
    service = await make_service(sqlite_db, desks=("slack",))
    clock = SteppedClock(service.clock())
    service.clock = clock
    service.fold_at = 0
    client = SlackClient(bot_token=BOT_TOKEN, api_url=emu.api_url, pace=PACE, retry_after_cap=120)
    desk = SlackDesk(client, staff_channel=STAFF, digest_at=5, digest_refresh=0.0, clock=clock.since)
    relay = Relay(
        service, desks={"slack": desk}, sources={}, policy=Backoff(base=1, cap=60, rng=random.Random(3))
    )
    try:
        yield Rig(relay, desk, clock, emu)
    finally:
        await client.aclose()


async def ingest(rig: Rig, n: int, source: str) -> None:
    assert await rig.relay.service.ingest(source, dataclasses.replace(mention(n), source=source), None)


async def test_waiting_for_a_slot_is_not_an_attempt(rig: Rig) -> None:
    rig.desk.digest_at = 10_000
    for n in range(1, 21):
        await ingest(rig, n, "mastodon")
    await rig.relay.drain("slack")
    rows = await rig.rows()
    assert len(rig.posted()) == 1 and len(rows) == 19
    assert all(r.attempts == 0 and r.last_error == "" and r.state == "pending" for r in rows)
    waits = sorted((r.next_attempt_at - rig.clock.now).total_seconds() for r in rows)
    assert waits == [float(n) for n in range(1, 20)]  # one slot a second, no backoff on top
    for _ in range(19):
        rig.clock.advance(PACE)
        await rig.relay.drain("slack")
    assert rig.posted() == [f"post_card:slack:{n}" for n in range(1, 21)]
    assert await rig.rows() == []


async def test_429_waits_exactly_its_hint_for_that_channel_only(rig: Rig) -> None:
    rig.desk.digest_at = 10_000
    for n in range(1, 4):
        await ingest(rig, n, "mastodon")
    rig.emu.fail("chat.postMessage", Fault("ratelimit", retry_after="30"))
    await rig.relay.drain("slack")
    limited_at = rig.clock.now
    rows = {r.mention_id: r for r in await rig.rows()}
    assert rig.posted() == []
    assert rows[1].next_attempt_at == limited_at + timedelta(seconds=30)  # exactly the hint
    assert all(r.attempts == 0 and r.state == "pending" and r.last_error == "" for r in rows.values())
    for _ in range(29):  # the rows behind it come due, find the channel held, and move: no request
        rig.clock.advance(1)
        await rig.relay.drain("slack")
    assert rig.emu.count("chat.postMessage") == 1 and rig.posted() == []
    other = await rig.desk.post_card(view(99), channel=OTHER, dedupe_key="post_card:slack:99")
    assert other.channel == OTHER  # another channel goes on meanwhile
    rig.clock.advance(1)
    await rig.relay.drain("slack")
    assert rig.posted() == ["post_card:slack:1"]  # at +30 s, first in line
    for _ in range(2):
        rig.clock.advance(PACE)
        await rig.relay.drain("slack")
    assert rig.posted() == [f"post_card:slack:{n}" for n in (1, 2, 3)]
    assert await rig.rows() == []  # nothing parked as failed


@pytest.mark.parametrize(
    ("hint", "wait"), [("garbage", PACE), ("-5", PACE), ("0", PACE), ("1000000000", 120.0)]
)
async def test_429_with_a_bogus_or_huge_hint(rig: Rig, hint: str, wait: float) -> None:
    await ingest(rig, 1, "mastodon")
    rig.emu.fail("chat.postMessage", Fault("ratelimit", retry_after=hint))
    await rig.relay.drain("slack")
    (row,) = await rig.rows()
    assert row.next_attempt_at == rig.clock.now + timedelta(seconds=wait)  # capped at RETRY_AFTER_CAP
    assert row.state == "pending" and row.attempts == 0
    rig.clock.advance(wait)
    await rig.relay.drain("slack")
    assert rig.posted() == ["post_card:slack:1"] and await rig.rows() == []


async def test_question_goes_ahead_of_a_feed_backlog_and_tops_the_digest(rig: Rig) -> None:
    for n in range(1, 201):
        await ingest(rig, n, "feeds")
    await rig.relay.drain("slack")
    await rig.relay.drain("slack")
    await ingest(rig, 500, "mastodon")
    await rig.relay.drain("slack")
    digest = next(m for m in rig.emu.top_level(STAFF) if "Burst" in m["text"])
    first = next(b for b in digest["blocks"] if b.get("accessory", {}).get("action_id") == CLAIM)
    assert '"m":201' in first["accessory"]["value"]  # the question (mention 201) is listed first
    for _ in range(3):
        rig.clock.advance(PACE)
        await rig.relay.drain("slack")
    posted = rig.posted()
    assert "post_card:slack:201" in posted[:2]  # the next free slot, not the 201st
    assert posted.index("post_card:slack:201") < posted.index("post_card:slack:2")


async def test_pacing_says_not_yet_without_calling_slack(rig: Rig) -> None:
    await rig.desk.post_card(view(1), channel=STAFF, dedupe_key="k1")
    with pytest.raises(NotYet) as caught:
        await rig.desk.post_card(view(2), channel=STAFF, dedupe_key="k2")
    assert caught.value.retry_after == pytest.approx(PACE)
    assert rig.emu.count("chat.postMessage") == 1
