"""Matrix under storms, on a real Synapse behind a proxy: M_LIMIT_EXCEEDED on the desk's sends with every
kind of retry_after_ms (and Retry-After), and the sync connection cut and restored while patrons post.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio import AsyncClient, AsyncClientConfig

from bot.app import PatronDesk
from bot.backoff import Backoff, Reconnector
from bot.errors import RateLimited
from bot.platforms.matrix.card_events import DEDUPE_KEY
from bot.platforms.matrix.link import MatrixLink
from tests.fakes.storms import MatrixProxy
from tests.fakes.synapse import RegisteredUser, Synapse
from tests.matrix.matrix_helpers import Account, cards

from .gate import KINDS, FastForward, Gate, SkewClock
from .harness import settings, stored_cursors
from .report import gate_figures, record, size
from .test_slack_storm import storm_plan

pytestmark = pytest.mark.synapse


@dataclass
class Rooms:
    """A patron's public room, the staff room, the people, and the proxy the bot goes through."""

    patron: Account
    staff: Account
    source: str
    staff_room: str
    bot: RegisteredUser
    proxy: MatrixProxy
    skew: SkewClock

    def app(self, tmp_path: Path) -> PatronDesk:
        config = settings(
            tmp_path,
            MATRIX_HOMESERVER=self.proxy.url,
            MATRIX_USER_ID=self.bot.user_id,
            MATRIX_ACCESS_TOKEN=self.bot.access_token,
            MATRIX_STAFF_ROOM=self.staff_room,
            MATRIX_SOURCE_ROOMS=self.source,
        )
        app = PatronDesk(config, clock=self.skew.now)
        client = AsyncClient(
            self.proxy.url,
            self.bot.user_id,
            config=AsyncClientConfig(
                max_limit_exceeded=0, max_timeouts=0, request_timeout=30, store_sync_tokens=False
            ),
        )
        reconnect = Reconnector(policy=Backoff(base=0.2, cap=2.0, rng=random.Random(5)))
        app.clients["matrix"] = MatrixLink(
            client, config, reconnector=reconnect, sync_timeout_ms=2000, clock=self.skew.now
        )
        return app

    async def cards(self) -> Counter[str]:
        """The bot's cards in the staff room, by dedupe key."""
        events = await self.staff.messages(self.staff_room, limit=1000)
        return Counter(str(c["content"].get(DEDUPE_KEY)) for c in cards(events, self.bot.user_id))


@pytest.fixture
async def rooms(storm_synapse: Synapse, storm_users: dict[str, RegisteredUser]) -> AsyncIterator[Rooms]:
    skew = SkewClock()
    gate = Gate("matrix", limit=0, window=1.0, clock=skew.monotonic)
    patron = Account(storm_synapse.url, storm_users["patron"])
    staff = Account(storm_synapse.url, storm_users["staff"])
    source = await patron.create_room(public=True)
    staff_room = await staff.create_room(public=False, invite=(storm_users["bot"].user_id,))
    try:
        async with MatrixProxy(storm_synapse.url, gate) as proxy:
            yield Rooms(patron, staff, source, staff_room, storm_users["bot"], proxy, skew)
    finally:
        await patron.aclose()
        await staff.aclose()


async def started(app: PatronDesk) -> None:
    """The bot's first sync is stored: later messages are the ones it handles."""
    await stored_cursors(app, ["matrix"], within=30)


async def all_carded(rooms: Rooms, count: int, *, within: float) -> Counter[str]:
    async with asyncio.timeout(within):
        while True:
            found = await rooms.cards()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)


async def test_limit_exceeded_on_sends(rooms: Rooms, tmp_path: Path) -> None:
    count = size(5, 20)
    gate = rooms.proxy.gate
    app = rooms.app(tmp_path)
    wake = lambda: app.relay.wake("matrix")  # noqa: E731
    async with app, FastForward([gate], rooms.skew, outbox=app.db, on_skip=wake) as ffwd:
        await started(app)
        gate.storm(*storm_plan(random.Random(3), size(1, 3)))
        posted = 0
        while posted < count or gate.plan:  # patrons keep writing until the whole storm has been served
            await rooms.patron.mention(rooms.source, rooms.bot.user_id, f"matrix storm question {posted}")
            posted += 1
            await all_carded(rooms, posted - 2, within=120)  # keep a couple in flight
        found = await all_carded(rooms, posted, within=120)
        done = rooms.skew.monotonic()
        await app.wait_idle(within=30)
    lost = posted - len(found)
    duplicates = sum(n - 1 for n in found.values())
    record(
        gate_figures(
            gate,
            "M_LIMIT_EXCEEDED on sends",
            lost=lost,
            duplicates=duplicates,
            recovery=done - gate.clear_at(),
            note=f"{posted} cards (and their reactions); skipped {ffwd.skipped:.0f}s of waits",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert set(KINDS) <= gate.served
    assert gate.early == 0, [r for r in gate.requests if r.early]


async def test_sends_wait_out_the_limit(rooms: Rooms, tmp_path: Path) -> None:
    """One M_LIMIT_EXCEEDED holds every send (the limit is per user): the next card waits too."""
    app = rooms.app(tmp_path)
    link = app.clients["matrix"]
    gate = rooms.proxy.gate
    gate.storm("30")
    try:
        await link.ensure_open()
        with pytest.raises(RateLimited):
            await link.send(rooms.staff_room, {"msgtype": "m.notice", "body": "one"}, txn="hold-1")
        with pytest.raises(RateLimited) as held:
            await link.send(rooms.staff_room, {"msgtype": "m.notice", "body": "two"}, txn="hold-2")
        assert held.value.retry_after is not None and 29 < held.value.retry_after <= 30
        assert len(gate.requests) == 1  # the second was never sent
        rooms.skew.advance(30)
        await link.send(rooms.staff_room, {"msgtype": "m.notice", "body": "two"}, txn="hold-2")
    finally:
        await link.aclose()
    assert len(gate.requests) == 2 and gate.early == 0


async def test_sync_cut_and_restored(rooms: Rooms, tmp_path: Path) -> None:
    rounds, per_round = size(2, 5), size(2, 4)
    outages: list[float] = []
    posted = 0
    async with rooms.app(tmp_path) as app:
        await started(app)
        for _ in range(rounds):
            for _ in range(per_round):  # some before the cut: their cards may be in flight when it comes
                await rooms.patron.mention(rooms.source, rooms.bot.user_id, f"before cut {posted}")
                posted += 1
            await rooms.proxy.cut()
            for _ in range(per_round):  # posted while the bot cannot reach its homeserver
                await rooms.patron.mention(rooms.source, rooms.bot.user_id, f"during cut {posted}")
                posted += 1
            await asyncio.sleep(1.0)  # the outage itself
            await rooms.proxy.restore()
            restored = time.monotonic()
            await all_carded(rooms, posted, within=60)
            outages.append(time.monotonic() - restored)
        await app.wait_idle(within=30)
        found = await rooms.cards()
    lost = posted - len(found)
    duplicates = sum(n - 1 for n in found.values())
    record(
        gate_figures(
            rooms.proxy.gate,
            "sync connection cut",
            lost=lost,
            duplicates=duplicates,
            recovery=max(outages),
            note=f"{rounds} cuts of 1s, {posted} mentions; {rooms.proxy.syncs} syncs",
        )
    )
    assert (lost, duplicates) == (0, 0)
