"""After a 429 with a wait, the next call to the same endpoint waits too, even when it is for other work.

The outbox retries only the row that got the 429; the next row for the same platform used to go out
at once and spend the platform's patience (the storms booked those requests as early). Each client
now holds the endpoint until the wait is over: Mastodon and Bluesky per endpoint, Matrix for all
sends (the limit is per user), and the Slack desk's burst digest respects the channel's hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.errors import NotYet, RateLimited
from bot.platforms.bluesky.session import XrpcSession
from bot.platforms.mastodon.api import MastodonApi
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from tests.fakes import bluesky as bluesky_server
from tests.fakes import mastodon as mastodon_server
from tests.fakes.slack import BOT_TOKEN
from tests.fakes.storms import StormBluesky, StormMastodon, StormSlack
from tests.slack.slack_helpers import view

from .gate import Gate, SkewClock
from .test_slack_storm import PACE


def _gate(skew: SkewClock) -> Gate:
    gate = Gate("hold", limit=0, window=1.0, clock=skew.monotonic, wall=skew.now)
    gate.storm("30")
    return gate


async def test_mastodon_holds_the_endpoint() -> None:
    skew = SkewClock()
    gate = _gate(skew)
    async with (
        StormMastodon({"/api/v1/notifications": gate}) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {mastodon_server.TOKEN}"}
        ) as client,
    ):
        api = MastodonApi(client, clock=skew.now)
        with pytest.raises(RateLimited):
            await api.call("GET", "/api/v1/notifications")
        with pytest.raises(RateLimited) as held:
            await api.call("GET", "/api/v1/notifications")  # another row, at once
        assert held.value.retry_after is not None and 29 < held.value.retry_after <= 30
        assert len(gate.requests) == 1  # not sent
        await api.call("GET", "/api/v1/accounts/verify_credentials")  # other endpoints: not held
        skew.advance(30)
        await api.call("GET", "/api/v1/notifications")
    assert len(gate.requests) == 2 and gate.early == 0


async def test_bluesky_holds_the_method() -> None:
    skew = SkewClock()
    gate = _gate(skew)
    nsid = "app.bsky.notification.listNotifications"
    async with StormBluesky({nsid: gate}) as server, httpx.AsyncClient(base_url=server.url) as client:
        session = XrpcSession(client, bluesky_server.HANDLE, bluesky_server.PASSWORD, clock=skew.now)
        with pytest.raises(RateLimited):
            await session.call("GET", nsid)
        with pytest.raises(RateLimited):
            await session.call("GET", nsid)
        assert len(gate.requests) == 1
        skew.advance(30)
        await session.call("GET", nsid)
    assert len(gate.requests) == 2 and gate.early == 0


@pytest.fixture
async def slack() -> AsyncIterator[tuple[StormSlack, SkewClock]]:
    skew = SkewClock()
    emulator = StormSlack(_gate(skew))
    await emulator.start()
    emulator.add_channel("C0STAFF01")
    try:
        yield emulator, skew
    finally:
        await emulator.close()


async def test_slack_digest_waits_for_the_channel(slack: tuple[StormSlack, SkewClock]) -> None:
    emu, skew = slack
    client = SlackClient(bot_token=BOT_TOKEN, api_url=emu.api_url, pace=PACE)
    desk = SlackDesk(client, staff_channel="C0STAFF01", digest_at=2, clock=skew.monotonic)
    try:
        cards = {f"post_card:slack:{n}": view(n) for n in range(1, 5)}
        for n, (key, card) in enumerate(cards.items()):  # the first gets the 429; the rest queue behind it
            with pytest.raises(NotYet if n else RateLimited) as caught:
                await desk.post_card(card, channel="C0STAFF01", dedupe_key=key)
            assert caught.value.retry_after is not None and caught.value.retry_after >= 30
        assert len(emu.gate.requests) == 1  # no burst digest was posted into the 429
        skew.advance(31)
        for key, card in cards.items():
            for _ in range(20):  # the relay bringing each row back until its slot comes
                try:
                    await desk.post_card(card, channel="C0STAFF01", dedupe_key=key, retry=True)
                    break
                except NotYet:  # waiting for its turn; never another 429
                    skew.advance(PACE)
    finally:
        await client.aclose()
    assert emu.gate.early == 0
    assert len(emu.top_level("C0STAFF01")) == 5  # four cards and the digest
