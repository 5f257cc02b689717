"""Polling under 429 storms: Mastodon notifications, Bluesky listNotifications and a feed, all at once.

Short Retry-After values are honoured in real time while patrons keep posting; each long one (30 s,
10^9 s) is checked by a quiet window (no request comes, nothing is lost yet), then the bot restarts,
as a deployment might, and everything posted meanwhile arrives once from the stored cursors.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

from bot.app import PatronDesk
from tests.waiting import until

from .gate import LONG, SHORT, Gate
from .harness import Wall, settings, stored_cursors
from .report import FULL, gate_figures, record, size
from .sources import LIMIT, Bluesky, Feeds, Mastodon, Platform

QUIET = 3.0 if FULL else 1.0  # seconds a long Retry-After is watched before the restart


def tally(wall: Wall, urls: list[str]) -> tuple[int, int]:
    """Mentions that never got a card, and extra cards."""
    lost = sum(1 for url in urls if not wall.urls[url])
    return lost, sum(max(wall.urls[url] - 1, 0) for url in urls)


def _served(platforms: list[Platform], kind: str) -> bool:
    return all(kind in p.gate.served for p in platforms)


def lane_requests(gate: Gate, *, after: float) -> int:
    """Requests the gate saw after ``after`` (time.monotonic())."""
    return sum(1 for r in gate.requests if r.real > after)


async def test_polling_storms(tmp_path: Path) -> None:
    platforms: list[Platform] = [
        Mastodon(Gate("mastodon", limit=LIMIT, window=1.0)),
        Bluesky(Gate("bluesky", limit=LIMIT, window=1.0)),
        Feeds(Gate("feeds", limit=LIMIT, window=1.0)),
    ]
    wall = Wall()
    urls: dict[str, list[str]] = {p.name: [] for p in platforms}

    def app() -> PatronDesk:
        return PatronDesk(settings(tmp_path), sources=[p.adapter() for p in platforms], desks=[wall])

    async with AsyncExitStack() as stack:
        for platform in platforms:
            await stack.enter_async_context(platform)

        # every short value in turn, several times in full size, while patrons keep posting
        async with app() as running:
            await stored_cursors(running, [p.name for p in platforms])
            for platform in platforms:
                platform.gate.storm(*SHORT * size(1, 3))
            for _ in range(size(4, 12)):
                for platform in platforms:
                    urls[platform.name].append(platform.add())
                await asyncio.sleep(0.3)  # the load's shape: posts spread over the storm
            await until(lambda: all(not p.gate.plan for p in platforms), within=60)
            everything = [url for found in urls.values() for url in found]
            await until(lambda: wall.has_urls(everything), within=30)
            await running.wait_idle()
        for platform in platforms:
            mine = urls[platform.name]
            lost, duplicates = tally(wall, mine)
            last = max(wall.at[url] for url in mine)
            record(
                gate_figures(
                    platform.gate,
                    "polling 429s (short)",
                    lost=lost,
                    duplicates=duplicates,
                    recovery=max(last - platform.gate.clear_at(), 0.0),
                    note=f"{len(mine)} mentions",
                )
            )
            assert (lost, duplicates) == (0, 0)
            assert set(SHORT) <= platform.gate.served
            assert platform.gate.early == 0, [r for r in platform.gate.requests if r.early]
            assert platform.gate.over == 0 and platform.gate.max_in_window() <= LIMIT

        # a long value: the source stays quiet; a restart later picks up what was posted meanwhile
        for kind in LONG if FULL else LONG[:1]:
            for platform in platforms:
                platform.gate.reset()
            async with app():
                for platform in platforms:
                    platform.gate.storm(kind)
                await until(partial(_served, platforms, kind), within=30)
                served = time.monotonic()
                fresh = {p.name: p.add() for p in platforms}
                await asyncio.sleep(QUIET)  # the observation window itself: nothing may happen in it
                for platform in platforms:
                    assert lane_requests(platform.gate, after=served) == 0, platform.name
                    assert not wall.urls[fresh[platform.name]], platform.name  # waiting, as asked
                    urls[platform.name].append(fresh[platform.name])
            for platform in platforms:
                platform.gate.quiet_until.clear()  # the platform's window has passed while the bot was down
            restarted = time.monotonic()
            async with app() as running:
                await until(partial(wall.has_urls, list(fresh.values())), within=30)
                await running.wait_idle()
            for platform in platforms:
                lost, duplicates = tally(wall, urls[platform.name])
                record(
                    gate_figures(
                        platform.gate,
                        f"polling 429 ({kind}) + restart",
                        lost=lost,
                        duplicates=duplicates,
                        recovery=wall.at[fresh[platform.name]] - restarted,
                        note=f"quiet for {QUIET:g}s after the 429, then restarted",
                    )
                )
                assert (lost, duplicates) == (0, 0)
                assert platform.gate.early == 0
