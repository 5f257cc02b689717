"""One platform storming never holds up another: feeds keep carding promptly while Mastodon answers 429.

One app runs a feed and Mastodon (polling); Mastodon answers every request with 429 for a while, and
staff replies to Mastodon queue up in the outbox meanwhile. Feed entries published during the storm
must be carded within a couple of poll intervals; Mastodon's mentions and replies arrive once after it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.app import PatronDesk
from bot.models import Reply
from tests.waiting import until

from .gate import Gate
from .harness import ALICE, Wall, settings, stored_cursors
from .report import gate_figures, record, size
from .sources import LIMIT, Feeds, Mastodon

PROMPT = 2.0  # seconds: a feed card may take a few 0.2 s polls, never the storm's length


async def test_feeds_unaffected_by_a_mastodon_storm(tmp_path: Path) -> None:
    storm = size(3, 12)  # seconds Mastodon answers 429 to everything
    statuses = Gate("mastodon-replies", limit=LIMIT, window=1.0)
    mastodon = Mastodon(Gate("mastodon", limit=LIMIT, window=1.0), replies=statuses)
    feeds = Feeds(Gate("feeds", limit=LIMIT, window=1.0))
    wall = Wall()
    async with mastodon, feeds:
        app = PatronDesk(settings(tmp_path), sources=[mastodon.adapter(), feeds.adapter()], desks=[wall])
        async with app:
            await stored_cursors(app, ["mastodon", "feeds"])
            before = mastodon.add()
            await until(lambda: wall.has_urls([before]), within=10)
            [card] = list(wall.cards.values())
            for gate in (mastodon.gate, statuses):
                gate.blackout("1", storm)
            began = time.monotonic()
            assert (await app.service.handle(Reply(card.mention_id, ALICE, "Yes, we open at nine."))).ok
            stormy: list[str] = []
            published: dict[str, float] = {}
            while time.monotonic() - began < storm:
                stormy.append(mastodon.add())
                url = feeds.add()
                published[url] = time.monotonic()
                await asyncio.sleep(0.25)  # the load's shape: one post of each kind every 0.25 s
            await until(lambda: wall.has_urls(list(published)), within=10)
            feed_lag = max(wall.at[url] - at for url, at in published.items())
            await until(lambda: wall.has_urls(stormy) and mastodon.replies(), within=30)
            recovered = time.monotonic() - (began + storm)
            await app.wait_idle()
    lost = sum(1 for url in [*stormy, *published] if not wall.urls[url])
    duplicates = sum(max(n - 1, 0) for n in wall.urls.values()) + sum(
        n - 1 for n in mastodon.replies().values()
    )
    record(
        gate_figures(
            mastodon.gate,
            "429 blackout vs feeds",
            lost=lost,
            duplicates=duplicates,
            recovery=recovered,
            note=f"{storm}s of 429s; {len(published)} feed entries carded meanwhile, slowest {feed_lag:.2f}s",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert feed_lag < PROMPT
    assert mastodon.gate.early == 0 and statuses.early == 0
    assert sum(mastodon.replies().values()) == 1
