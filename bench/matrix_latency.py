"""Mention-to-card latency through a real Synapse: a patron mentions the bot, a staff client sees the card.

Run: .venv/bin/python -m bench.matrix_latency [--count N]
Starts a throwaway Synapse on loopback (tests/fakes/synapse.py), runs the whole bot
(PatronDesk with the Matrix source and desk on SQLite) and times, for each mention in turn, from
the patron's send until the card arrives in a staff member's /sync long-poll.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.matrix.card_events import MENTION_KEY
from tests.fakes.synapse import make_synapse
from tests.matrix.matrix_helpers import Account


class Watcher:
    """A staff client long-polling /sync and noting when each card (by mention id) arrives."""

    def __init__(self, base: str, token: str, room: str, bot: str) -> None:
        self.http = httpx.AsyncClient(base_url=f"{base}/_matrix/client/v3", timeout=60)
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.room, self.bot = room, bot
        self.seen: dict[int, float] = {}
        self.arrived = asyncio.Event()
        self.token: str | None = None

    async def prime(self) -> None:
        self.token = (await self.http.get("/sync", params={"timeout": 0})).json()["next_batch"]

    async def run(self) -> None:
        while True:
            params: dict[str, Any] = {"timeout": 30_000, "since": self.token}
            body = (await self.http.get("/sync", params=params)).json()
            now = time.perf_counter()
            self.token = body["next_batch"]
            events = (
                body.get("rooms", {}).get("join", {}).get(self.room, {}).get("timeline", {}).get("events", [])
            )
            for event in events:
                content = event.get("content") or {}
                card = content.get("msgtype") == "m.text" and "m.new_content" not in content
                if event.get("sender") == self.bot and MENTION_KEY in content and card:
                    self.seen.setdefault(content[MENTION_KEY], now)
                    self.arrived.set()


def settings(tmp: Path, url: str, bot: Any, staff_room: str, source_room: str) -> Settings:
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.db",
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        MATRIX_HOMESERVER=url,
        MATRIX_USER_ID=bot.user_id,
        MATRIX_ACCESS_TOKEN=bot.access_token,
        MATRIX_STAFF_ROOM=staff_room,
        MATRIX_SOURCE_ROOMS=source_room,  # type: ignore[arg-type]
    )


async def measure(url: str, users: dict[str, Any], tmp: Path, count: int) -> list[float]:
    bot, patron_user, staff_user = users["bot"], users["patron"], users["staff"]
    patron, staff = Account(url, patron_user), Account(url, staff_user)
    source_room = await patron.create_room(public=True)
    staff_room = await staff.create_room(public=False, invite=(bot.user_id,))
    watcher = Watcher(url, staff_user.access_token, staff_room, bot.user_id)
    await watcher.prime()
    latencies: list[float] = []
    async with PatronDesk(settings(tmp, url, bot, staff_room, source_room)) as app:
        while not await app.service.cursor("matrix"):  # noqa: ASYNC110 - the first sync token lands in the DB
            await asyncio.sleep(0.05)
        watching = asyncio.create_task(watcher.run())
        for n in range(count + 5):
            watcher.arrived.clear()
            started = time.perf_counter()
            await patron.mention(source_room, bot.user_id, f"benchmark question {n}")
            async with asyncio.timeout(60):
                while len(watcher.seen) <= n:
                    await watcher.arrived.wait()
                    watcher.arrived.clear()
            if n >= 5:  # the first few warm up connections and caches
                latencies.append(watcher.seen[n + 1] - started)
        watching.cancel()
    for client in (patron, staff):
        await client.aclose()
    await watcher.http.aclose()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "synapse"
        work.mkdir()
        server = make_synapse(work)
        server.start()
        try:
            users = {
                "bot": server.register("librarybot", displayname="Library Bot"),
                "patron": server.register("patron"),
                "staff": server.register("staff"),
            }
            latencies = asyncio.run(measure(server.url, users, Path(tmp), args.count))
        finally:
            server.stop()
    ms = [value * 1000 for value in latencies]
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"matrix mention-to-card latency through Synapse ({python}, {os.cpu_count()} cores)")
    print(f"  synapse start: {server.start_seconds:.2f} s")
    print(f"  mentions: {len(ms)} (sequential, after 5 warm-up)")
    p50, p90, p99 = (percentile(ms, share) for share in (0.50, 0.90, 0.99))
    print(f"  p50 {p50:.1f} ms   p90 {p90:.1f} ms   p99 {p99:.1f} ms")
    print(f"  mean {statistics.fmean(ms):.1f} ms   min {min(ms):.1f} ms   max {max(ms):.1f} ms")


if __name__ == "__main__":
    main()
