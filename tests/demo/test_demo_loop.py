"""The demo's loop in-process (fast, in `make check`): the console desk with the demo's stand-ins and the
real adapters, claim → reply → the reply on the Bluesky stand-in → resolve → `report` on the database."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.app import PatronDesk
from bot.config import load_settings
from bot.demo.paths import demo_paths, fresh_database
from bot.demo.standin import Patron
from bot.demo.world import DemoWorld
from bot.platforms.console.desk import ConsoleDesk
from bot.runner import demo_settings, make_report
from bot.setup import load_rules_file
from tests.waiting import until

ASKS = (
    Patron("Tomás Rivera", "tomasr", "can I renew online? My books are due tomorrow.", 0),
    Patron("Maya Lindqvist", "mayareads", "are you open Monday?", 0),
)


async def test_claim_reply_resolve_and_report_with_the_demo_stand_ins(tmp_path: Path) -> None:
    paths = demo_paths(tmp_path)
    fresh_database(paths)
    printed = io.StringIO()
    reader = asyncio.StreamReader()
    async with DemoWorld(script=(), out=printed) as world:
        settings = demo_settings(load_settings(), served=world.settings(), database_url=paths.database_url)
        staff = load_rules_file(settings.RULES_FILE).staff
        desk = ConsoleDesk(input=reader, output=printed, staff=staff, act_as="alice")
        async with PatronDesk(settings, desks=[desk]):
            world.standins["bluesky"].post(ASKS[0])
            world.standins["mastodon"].post(ASKS[1])
            await until(lambda: "· Bluesky · Tomás Rivera" in printed.getvalue(), within=60)
            # both cards before any command: `queue` below lists what is open when it is typed
            await until(lambda: "· Mastodon · Maya Lindqvist" in printed.getvalue(), within=60)
            n = re.search(r"── #(\d+) · Bluesky · Tomás Rivera", printed.getvalue()).group(1)  # type: ignore[union-attr]

            async def typed(line: str, expect: str) -> None:
                before = len(printed.getvalue())
                reader.feed_data(line.encode() + b"\n")
                await until(lambda: expect in printed.getvalue()[before:], within=60)

            await typed(f"claim {n}", f"✓ Claimed #{n}.")
            await typed(f"reply {n} Yes: sign in to the catalogue and choose Renew.", "published on Bluesky")
            assert (
                "📣 published on Bluesky: Yes: sign in to the catalogue and choose Renew."
                in printed.getvalue()
            )
            assert [p.text for p in world.standins["bluesky"].timeline()] == [
                "Yes: sign in to the catalogue and choose Renew."
            ]
            await typed(f"resolve {n}", f"✓ Resolved #{n}.")
            await typed("queue", "open mention(s)")
            await until(lambda: "“@library are you open Monday?”" in printed.getvalue(), within=60)
    today = datetime.now(UTC).date()
    report = await make_report(settings, since=today, until=today, csv_path=None, chart_path=None)
    assert re.search(r"bluesky\D{0,20}1\b", report, re.I) and re.search(r"mastodon\D{0,20}1\b", report, re.I)
    assert paths.database.is_file()
