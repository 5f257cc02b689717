"""Replies under 429 storms: Mastodon statuses and Bluesky createRecord, every Retry-After kind.

Staff answer every mention; the outbox publishes the replies while both platforms storm. The outbox
and the gates share a skewed clock, so long waits are honoured (booked quiet) and then skipped.
Each patron must get exactly one reply.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bot.app import PatronDesk
from bot.models import Reply
from tests.waiting import until

from .gate import KINDS, FastForward, Gate, SkewClock
from .harness import ALICE, Wall, settings, stored_cursors
from .report import gate_figures, record, size
from .sources import LIMIT, Bluesky, Mastodon, Platform
from .test_slack_storm import storm_plan


async def test_reply_storms(tmp_path: Path) -> None:
    skew = SkewClock()
    replies = {  # these adapters read HTTP dates against the skewed clock too
        name: Gate(name, limit=LIMIT, window=1.0, clock=skew.monotonic, wall=skew.now)
        for name in ("mastodon", "bluesky")
    }
    mastodon = Mastodon(Gate("mastodon-poll", limit=LIMIT, window=1.0), replies=replies["mastodon"])
    bluesky = Bluesky(Gate("bluesky-poll", limit=LIMIT, window=1.0), replies=replies["bluesky"])
    platforms: list[Platform] = [mastodon, bluesky]
    wall = Wall()
    count = size(6, 25)
    async with mastodon, bluesky:
        sources = [p.adapter(skew.now) for p in platforms]
        app = PatronDesk(settings(tmp_path), clock=skew.now, sources=sources, desks=[wall])
        async with app:
            await stored_cursors(app, ["mastodon", "bluesky"])
            urls = {p.name: [p.add() for _ in range(count)] for p in platforms}
            await until(lambda: wall.has_urls([u for found in urls.values() for u in found]), within=30)
            for seed, gate in enumerate(replies.values()):
                gate.storm(*storm_plan(random.Random(seed), size(1, 3)))

            def wake() -> None:
                for platform in platforms:
                    app.relay.wake(platform.name)

            async with FastForward(list(replies.values()), skew, outbox=app.db, on_skip=wake) as ffwd:
                began = time.monotonic()
                for card in list(wall.cards.values()):
                    answer = await app.service.handle(Reply(card.mention_id, ALICE, "We open at nine."))
                    assert answer.ok, answer.message
                expected = {p.name: count for p in platforms}
                await until(lambda: _published(platforms) == expected, within=120)
                done, took = skew.monotonic(), time.monotonic() - began
                await app.wait_idle(within=30)
    for platform in platforms:
        gate = replies[platform.name]
        published = platform.replies()
        lost = count - len(published)
        duplicates = sum(n - 1 for n in published.values())
        record(
            gate_figures(
                gate,
                f"replies 429s ({'statuses' if platform.name == 'mastodon' else 'createRecord'})",
                lost=lost,
                duplicates=duplicates,
                recovery=done - gate.clear_at(),
                note=f"{count} replies; {took:.1f}s real + {ffwd.skipped:.0f}s of waits skipped (both)",
            )
        )
        assert (lost, duplicates) == (0, 0)
        assert set(KINDS) <= gate.served
        assert gate.early == 0, [r for r in gate.requests if r.early]
        assert gate.over == 0 and gate.max_in_window() <= LIMIT


def _published(platforms: list[Platform]) -> dict[str, int]:
    return {p.name: len(p.replies()) for p in platforms}
