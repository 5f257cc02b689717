"""Slack under storms: 429s on chat.postMessage with every kind of Retry-After, and Socket Mode drops.

The desk posts paced cards through the whole app (store, outbox, relay); the emulator's gate keeps
the books. Time is skewed for the desk's pacer, the outbox and the gate, so the 30 s and 15 min waits
are honoured (the client stays quiet, booked) and then skipped.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.platforms.slack.buttons import CARD_EVENT
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_payloads import event_callback, message_event
from tests.fakes.storms import StormSlack
from tests.waiting import until

from .gate import KINDS, PASS, FastForward, Gate, SkewClock
from .harness import Wall, lost_and_duplicated, mention, settings
from .report import FULL, gate_figures, record, size

STAFF, COMMUNITY, PATRON = "C0STAFF01", "C0COMMUNI1", "U0PATRON1"
PACE = 0.1  # seconds between two posts in one channel (Slack: about 1 s; scaled down)
LIMIT = 11  # posts per channel per second the gate allows: one per PACE, plus one


def storm_plan(rng: random.Random, rounds: int) -> list[str]:
    """Every Retry-After kind ``rounds`` times, shuffled, with posts let through between storms."""
    plan: list[str] = []
    for _ in range(rounds):
        kinds = list(KINDS)
        rng.shuffle(kinds)
        for kind in kinds:
            plan += [kind] * rng.choice((1, 1, 2)) + [PASS] * rng.choice((0, 1, 3))
    return plan


def cards_in(emu: StormSlack) -> Counter[str]:
    """How many times each dedupe key was posted as a card in the staff channel."""
    return Counter(
        m["metadata"]["event_payload"]["dedupe_key"]
        for m in emu.top_level(STAFF)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
    )


@pytest.fixture
async def skew() -> SkewClock:
    return SkewClock()


@pytest.fixture
async def emu(skew: SkewClock) -> AsyncIterator[StormSlack]:
    emulator = StormSlack(Gate("slack", limit=LIMIT, window=1.0, clock=skew.monotonic))
    await emulator.start()
    for channel in (STAFF, COMMUNITY):
        emulator.add_channel(channel)
    emulator.add_user(PATRON, "pat", "Pat Ron")
    try:
        yield emulator
    finally:
        await emulator.close()


async def test_post_message_storm(tmp_path: Path, emu: StormSlack, skew: SkewClock) -> None:
    count = size(20, 80)
    emu.gate.storm(*storm_plan(random.Random(11), size(1, 4)))
    client = SlackClient(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=emu.api_url, pace=PACE)
    slack = SlackDesk(client, staff_channel=STAFF, clock=skew.monotonic)
    wall = Wall()
    app = PatronDesk(settings(tmp_path), clock=skew.now, desks=[slack, wall])
    keys = [f"post_card:slack:{n}" for n in range(1, count + 1)]
    wake = lambda: app.relay.wake("slack")  # noqa: E731
    async with app, FastForward([emu.gate], skew, outbox=app.db, on_skip=wake) as ffwd:
        began = time.monotonic()
        ingested: dict[str, float] = {}
        for n in range(1, count + 1):  # a burst: everything arrives at once
            assert await app.service.ingest("storm", mention(n), None)
            ingested[mention(n).text] = time.monotonic()
        await until(lambda: wall.has(*ingested), within=10)
        await until(lambda: set(cards_in(emu)) >= set(keys), within=120)
        done, took = skew.monotonic(), time.monotonic() - began
        await app.wait_idle(within=30)
    await client.aclose()
    posted = cards_in(emu)
    lost, duplicates = lost_and_duplicated(keys, posted)
    recovery = done - emu.gate.clear_at()
    wall_lag = max(wall.at[text] - at for text, at in ingested.items())
    record(
        gate_figures(
            emu.gate,
            "chat.postMessage 429s",
            lost=lost,
            duplicates=duplicates,
            recovery=recovery,
            note=f"{count} cards; {took:.1f}s real + {ffwd.skipped:.0f}s of waits skipped; "
            f"other desk's slowest card {wall_lag:.2f}s",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert set(KINDS) <= emu.gate.served
    assert emu.gate.early == 0, [r for r in emu.gate.requests if r.early]
    assert emu.gate.over == 0 and emu.gate.max_in_window() <= LIMIT
    assert ffwd.skipped >= 900  # the 10^9 s answer was honoured (as 15 min), not ignored
    assert wall_lag < 2.0  # the other desk never waited for Slack's storm


async def _socket_app(tmp_path: Path, emu: StormSlack) -> PatronDesk:
    config = settings(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        SLACK_SOURCE_CHANNELS=COMMUNITY,
    )
    app = PatronDesk(config)
    app.clients["slack"] = SlackClient(
        bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=emu.api_url, pace=PACE, timeout=5.0
    )
    return app


def _event(n: int) -> dict[str, Any]:
    event = message_event(COMMUNITY, PATRON, f"socket question {n}", ts=f"1700000{n:03d}.000100")
    return event_callback(event, event_id=f"Ev0SOCKET{n:04d}")


def _reconnected(emu: StormSlack, before: int) -> bool:
    return emu.connections > before and bool(emu.sockets)


def _carded(emu: StormSlack, n: int) -> int:
    needle = f"1700000{n:03d}000100"
    return sum(needle in str(m.get("blocks")) for m in emu.top_level(STAFF))


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_socket_mode_drop(tmp_path: Path, emu: StormSlack, how: str) -> None:
    if how == "abort" and not FULL:
        pytest.skip("an abrupt drop is noticed by the SDK's 10 s ping: full size only")
    rounds = size(2, 5)
    events = 0
    drops: list[float] = []
    async with await _socket_app(tmp_path, emu) as app:
        await emu.connected()
        for _ in range(rounds):
            events += 1
            await emu.send("events_api", _event(events))  # acked: stored
            events += 1
            lost_ack = _event(events)
            await emu.deliver("events_api", lost_ack)  # its ack is lost with the connection
            before, began = emu.connections, time.monotonic()
            if how == "close":
                await emu.sockets[-1].close()  # a clean close, as Slack does before a restart
            else:
                assert emu._runner is not None and emu._runner.server is not None
                for connection in emu._runner.server.connections:
                    connection.force_close()  # the TCP connection is simply gone
            await until(partial(_reconnected, emu, before), within=60)
            drops.append(time.monotonic() - began)
            await emu.send("events_api", lost_ack, retry_attempt=1)  # Slack delivers it again
            events += 1
            await emu.send("events_api", _event(events))  # and new events flow
        await until(lambda: all(_carded(emu, n) for n in range(1, events + 1)), within=30)
        await app.wait_idle(within=30)
    seen = Counter({n: _carded(emu, n) for n in range(1, events + 1)})
    lost = sum(1 for n in range(1, events + 1) if not seen[n])
    duplicates = sum(max(c - 1, 0) for c in seen.values())
    record(
        gate_figures(
            emu.gate,
            f"Socket Mode drop ({how})",
            lost=lost,
            duplicates=duplicates,
            recovery=max(drops),
            note=f"{rounds} drops, {events} events; reconnect {min(drops):.2f}-{max(drops):.2f}s",
        )
    )
    assert (lost, duplicates) == (0, 0)
