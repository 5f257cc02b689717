"""Storms: usage headers near and at 100 % and throttling codes slow the Facebook adapter (it waits
instead of asking Meta), nothing is lost once the storm passes, and Mastodon is carded meanwhile."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from bot.backoff import Backoff
from bot.platforms.facebook.source import FacebookSource
from bot.platforms.mastodon.source import MastodonOptions, MastodonSource
from bot.platforms.meta.throttle import Throttle, ThrottleOptions
from tests.core.poison import Console, running_app, stored
from tests.fakes import graph as fake
from tests.fakes import mastodon as mastodon_server
from tests.fakes.graph import FakeGraph, error_body
from tests.social.conftest import wait_until

from .conftest import client_for, fast_options

FULL = json.dumps(
    {"1": [{"type": "pages", "call_count": 100, "total_time": 60, "estimated_time_to_regain_access": 1}]}
)


class TinySleeps:
    """Records each pause the throttle asks for and sleeps a token amount (timing is never asserted)."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0.005)


async def test_throttling_storm_slows_facebook_loses_nothing_and_spares_mastodon(
    tmp_path: Path, graph: FakeGraph
) -> None:
    sleeps = TinySleeps()
    throttle = Throttle(ThrottleOptions(max_pause=2.0, blocked_pause=0.2, longest_hold=0.2), sleep=sleeps)
    facebook = FacebookSource(client_for(graph, throttle=throttle), fake.PAGE_ID, options=fast_options())
    post = graph.add_post()
    async with mastodon_server.FakeMastodon() as mastodon:
        toots = MastodonSource(
            mastodon.url,
            mastodon_server.TOKEN,
            options=MastodonOptions(
                streaming=False, poll_seconds=0.05, backoff=Backoff(base=0.01, cap=0.05, rng=random.Random(1))
            ),
        )
        console = Console()
        async with running_app("sqlite", tmp_path, console, sources=[facebook, toots]) as app:
            await wait_until(lambda: graph.hits_for("comments") and mastodon.hits_for("notifications"))
            graph.usage = {"X-App-Usage": '{"call_count":97,"total_cputime":20,"total_time":20}'}
            await wait_until(lambda: len(sleeps.asked) >= 3)  # near the limit: every call waits first
            assert all(0 < pause <= 2.0 for pause in sleeps.asked)
            graph.usage = {"X-Business-Use-Case-Usage": FULL}
            for code in (4, 17, 32, 613):
                graph.inject(
                    "comments",
                    400,
                    body=error_body(code, f"(#{code}) limit reached"),
                    times=5,
                    X_Business_Use_Case_Usage=FULL,
                )
            expected = [f"during the storm {n}" for n in range(5)]
            for text in expected:
                graph.add_comment(post["id"], text)
            mastodon.add_mention("Mastodon question during the storm")
            await wait_until(lambda: "Mastodon question during the storm" in console.printed)
            await wait_until(lambda: throttle.refused_calls >= 3)  # held here: Meta not asked
            graph.usage = {}
            graph.faults["comments"].clear()
            await wait_until(lambda: all(text in console.printed for text in expected))
            await app.wait_idle()
            rows = await stored(app, "facebook")
    assert sorted(row.text for row in rows) == expected  # each once
    assert all(console.printed.count(text) == 1 for text in expected)
