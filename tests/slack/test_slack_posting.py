"""Posting cards: pacing, 429 storms, reconciliation after a dropped connection, burst digests."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping

import pytest

from bot.errors import PermanentError, RateLimited, TransientError
from bot.models import Claim, StaffRef
from bot.platforms.slack.buttons import CARD_EVENT, CLAIM
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.views import CardRef, TicketView
from tests.fakes.slack import Fault, SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, FakeService, make_client, serving, view, wait_for


async def drive(
    desk: SlackDesk, cards: Mapping[str, TicketView], *, channel: str = STAFF
) -> dict[str, CardRef]:
    """What the outbox relay does: one row at a time, retried (retry=True) until it is posted."""
    refs: dict[str, CardRef] = {}
    attempts: Counter[str] = Counter()
    while len(refs) < len(cards):
        for key, card in cards.items():
            if key in refs:
                continue
            try:
                refs[key] = await desk.post_card(
                    card, channel=channel, dedupe_key=key, retry=attempts[key] > 0
                )
            except TransientError:  # RateLimited too: the row waits and comes back
                attempts[key] += 1
        await asyncio.sleep(0.01)  # the relay's poll interval
    return refs


def cards_in(emu: SlackEmulator, channel: str = STAFF) -> Counter[str]:
    """How many times each dedupe key was posted as a card."""
    return Counter(
        m["metadata"]["event_payload"]["dedupe_key"]
        for m in emu.top_level(channel)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
    )


@pytest.mark.slow
async def test_429_storm_loses_nothing_and_posts_no_duplicates(
    client: SlackClient, emu: SlackEmulator
) -> None:
    desk = SlackDesk(client, staff_channel=STAFF, digest_at=10_000)
    rng = random.Random(7)
    pattern = [
        Fault("ratelimit", retry_after=rng.choice(["0", "0.05", "garbage"]))
        if rng.random() < 0.6
        else Fault("pass")
        for _ in range(120)
    ]
    emu.fail("chat.postMessage", *pattern)
    cards = {f"post_card:slack:{n}": view(n) for n in range(1, 31)}
    refs = await drive(desk, cards)
    assert cards_in(emu) == Counter(dict.fromkeys(cards, 1))  # every card exactly once
    assert {
        emu.message(STAFF, ref.message_id)["metadata"]["event_payload"]["dedupe_key"] for ref in refs.values()
    } == set(cards)
    assert emu.count("conversations.history") == 0  # no lookups: every failure was a definite "not posted"
    assert sum(1 for f in pattern if f.kind == "ratelimit") > 30


async def test_dropped_connection_is_reconciled_not_reposted(client: SlackClient, emu: SlackEmulator) -> None:
    desk = SlackDesk(client, staff_channel=STAFF, settle=0.05)
    emu.fail("chat.postMessage", Fault("drop"))
    with pytest.raises(TransientError):
        await desk.post_card(view(1), channel=STAFF, dedupe_key="post_card:slack:1")
    assert cards_in(emu) == Counter({"post_card:slack:1": 1})  # it landed; the answer was lost
    refs = await drive(desk, {"post_card:slack:1": view(1)})
    assert cards_in(emu) == Counter({"post_card:slack:1": 1})
    assert refs["post_card:slack:1"].message_id == emu.top_level(STAFF)[0]["ts"]
    assert emu.count("conversations.history") == 1


async def test_reconciled_after_a_restart(emu: SlackEmulator) -> None:
    first = make_client(emu)
    emu.fail("chat.postMessage", Fault("drop"))
    with pytest.raises(TransientError):
        await SlackDesk(first, staff_channel=STAFF).post_card(view(2), channel="", dedupe_key="k2")
    await first.aclose()
    for n in range(3, 260):  # the lost card is now behind a page of newer messages
        emu.channels[STAFF].append(
            {"type": "message", "user": ALICE, "text": f"chat {n}", "ts": emu.new_ts(), "edits": 0}
        )
    second = make_client(emu)
    try:
        ref = await SlackDesk(second, staff_channel=STAFF).post_card(
            view(2), channel="", dedupe_key="k2", retry=True
        )
    finally:
        await second.aclose()
    assert cards_in(emu) == Counter({"k2": 1}) and ref.message_id == emu.top_level(STAFF)[0]["ts"]


async def test_refused_post_is_permanent_and_needs_no_lookup(client: SlackClient, emu: SlackEmulator) -> None:
    desk = SlackDesk(client, staff_channel=STAFF)
    with pytest.raises(PermanentError):
        await desk.post_card(view(3), channel="C0NOSUCH1", dedupe_key="k3")
    emu.add_channel("C0NOSUCH1")  # the admin fixes the channel; the relay tries again (retry=True)
    await drive(desk, {"k3": view(3)}, channel="C0NOSUCH1")
    assert emu.count("conversations.history") == 0 and cards_in(emu, "C0NOSUCH1") == Counter({"k3": 1})


async def test_update_and_tell(client: SlackClient, emu: SlackEmulator) -> None:
    desk = SlackDesk(client, staff_channel=STAFF)
    ref = await desk.post_card(view(4), channel="", dedupe_key="k4")
    emu.fail("chat.update", Fault("ratelimit", retry_after="12"))
    with pytest.raises(RateLimited) as caught:
        await desk.update_card(ref, view(4, assignee="Alice"))
    assert caught.value.retry_after == 12.0
    await desk.update_card(ref, view(4, note="Reply failed: <!here>"))
    message = emu.message(STAFF, ref.message_id)
    assert message["edits"] == 1 and "&lt;!here&gt;" in str(message["blocks"])
    await desk.tell(StaffRef("slack", ALICE, "Alice"), "You have #4 <@U0X>")
    assert emu.ephemerals[-1] == {"channel": STAFF, "user": ALICE, "text": "You have #4 &lt;@U0X&gt;"}


async def test_burst_gets_a_digest_and_every_card(emu: SlackEmulator) -> None:
    client = make_client(emu, pace=0.15)
    desk = SlackDesk(client, staff_channel=STAFF, digest_at=3, digest_refresh=0.0)
    service = FakeService()
    async with serving(desk, service, emu):
        cards = {f"k{n:02d}": view(n, text=f"question {n} <!channel>") for n in range(1, 9)}
        driving = asyncio.create_task(drive(desk, cards))
        await wait_for(lambda: any("Burst" in m["text"] for m in emu.top_level(STAFF)))
        digest = next(m for m in emu.top_level(STAFF) if "Burst" in m["text"])
        claims = [
            b["accessory"] for b in digest["blocks"] if b.get("accessory", {}).get("action_id") == CLAIM
        ]
        assert len(claims) >= 3
        await emu.click(ALICE, STAFF, digest["ts"], CLAIM, index=1)  # claim straight from the digest
        await wait_for(lambda: service.actions)
        assert isinstance(service.actions[0], Claim)
        refs = await driving
    await client.aclose()
    assert cards_in(emu) == Counter(dict.fromkeys(cards, 1))  # nothing dropped, nothing merged
    order = [
        int(m["metadata"]["event_payload"]["dedupe_key"][1:])
        for m in emu.top_level(STAFF)
        if m.get("metadata")
    ]
    assert order == sorted(order)  # the burst drained in arrival order
    assert "every card is posted" in str(emu.message(STAFF, digest["ts"])["blocks"])
    assert len(refs) == 8
