"""The demo's loop, timed: start-up to the first patron's card, and a typed reply to the post on the
stand-in (through the real adapters, the outbox and loopback HTTP). In-process, SQLite in a temp folder.

Run: .venv/bin/python -m bench.demo_loop [--rounds N]
Goal: a new user sees a card within seconds of `make run` (< 5 s here, migrations included) and
their reply on the stand-in within about a second (the relay's wake-up, one POST).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import statistics
import tempfile
import time
from pathlib import Path

from bot.app import PatronDesk
from bot.config import load_settings
from bot.demo.paths import demo_paths, fresh_database
from bot.demo.standin import Patron
from bot.demo.world import DemoWorld
from bot.platforms.console.desk import ConsoleDesk
from bot.runner import demo_settings
from bot.setup import load_rules_file


async def _until(predicate: object, *, within: float = 120.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110 - polled across tasks
            await asyncio.sleep(0.005)


async def one_round(folder: Path) -> tuple[float, float]:
    """Seconds from start to the first patron's card, and from `reply` to the published post."""
    paths = demo_paths(folder)
    fresh_database(paths)
    printed, reader = io.StringIO(), asyncio.StreamReader()
    began = time.perf_counter()
    async with DemoWorld(script=(Patron("Maya", "maya", "are you open Monday?", 0),), out=printed) as world:
        settings = demo_settings(load_settings(), served=world.settings(), database_url=paths.database_url)
        staff = load_rules_file(settings.RULES_FILE).staff
        desk = ConsoleDesk(input=reader, output=printed, staff=staff)
        async with PatronDesk(settings, desks=[desk]):
            await _until(lambda: re.search(r"── #\d+ · \S+ · Maya", printed.getvalue()))
            first_card = time.perf_counter() - began
            n = re.search(r"── #(\d+) · \S+ · Maya", printed.getvalue()).group(1)  # type: ignore[union-attr]
            reader.feed_data(f"claim {n}\n".encode())
            await _until(lambda: f"Claimed #{n}." in printed.getvalue())
            typed = time.perf_counter()
            reader.feed_data(f"reply {n} Yes, 10 to 4.\n".encode())
            await _until(lambda: "📣 published on" in printed.getvalue())
            return first_card, time.perf_counter() - typed


async def main(rounds: int) -> None:
    cards, replies = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            card, reply = await one_round(Path(folder))
        cards.append(card)
        replies.append(reply)
    print(
        f"demo start-up to the first patron's card: median {statistics.median(cards):.2f} s ({rounds} rounds)"
    )
    print(f"typed reply to the post on the stand-in:  median {statistics.median(replies) * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
