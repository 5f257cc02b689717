"""Stalled and dropped connections: the Mastodon stream goes silent or closes; a feed server hangs.

While the stream is silent the server drops the events it would have sent, so only the adapter's
stall detection and the REST catch-up after it can bring those mentions in; the safety-net poll is
set to 300 s so it cannot hide a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bot.app import PatronDesk
from bot.backoff import Backoff
from bot.platforms.feeds.source import FeedsAdapter
from tests.fakes.feeds import Item, atom
from tests.waiting import until

from .gate import Gate
from .harness import Wall, settings
from .report import gate_figures, record, size
from .sources import LIMIT, POLL, Feeds, Mastodon


def _above(count: Callable[[], int], floor: int) -> bool:
    return count() > floor


async def test_mastodon_stream_stalls_and_drops(tmp_path: Path) -> None:
    mastodon = Mastodon(Gate("mastodon", limit=LIMIT, window=1.0), streaming=True)
    server = mastodon.server
    wall = Wall()
    rounds = size(2, 5)
    urls: list[str] = []
    lags: list[float] = []
    async with mastodon, PatronDesk(settings(tmp_path), sources=[mastodon.adapter()], desks=[wall]):
        await until(lambda: server.live_streams == 1 and mastodon.gate.requests, within=10)
        for _ in range(rounds):
            for how in ("stall", "drop"):
                connects = server.stream_connects
                began = time.monotonic()
                if how == "stall":
                    server.stall = True  # nothing more arrives: no events, no heartbeats
                else:
                    server.drop_streams()
                fresh = [mastodon.add() for _ in range(2)]  # pushed into the dead stream: lost there
                urls += fresh
                await until(partial(_above, lambda: server.stream_connects, connects), within=10)
                server.stall = False
                await until(partial(wall.has_urls, fresh), within=10)
                lags.append(time.monotonic() - began)
                await until(lambda: server.live_streams == 1, within=10)
        live = mastodon.add()  # and the healthy stream still delivers at once
        urls.append(live)
        await until(lambda: wall.has_urls([live]), within=5)
    lost = sum(1 for url in urls if not wall.urls[url])
    duplicates = sum(max(wall.urls[url] - 1, 0) for url in urls)
    record(
        gate_figures(
            mastodon.gate,
            "SSE stalls and drops",
            lost=lost,
            duplicates=duplicates,
            recovery=max(lags),
            note=f"{rounds} stalls + {rounds} drops, {len(urls)} mentions; {server.stream_connects} connects",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert mastodon.gate.over == 0


async def test_feed_server_hangs(tmp_path: Path) -> None:
    feeds = Feeds(Gate("feeds", limit=LIMIT, window=1.0))
    wall = Wall()
    rounds = size(1, 4)
    async with feeds:
        server = feeds.server
        server.route("/calm.xml", feeds.server.routes[feeds.route].body)
        calm_items: list[str] = []
        adapter = FeedsAdapter(
            [server.url(feeds.route), server.url("/calm.xml")],
            poll_seconds=POLL,
            deadline=1.0,  # a whole request may take this long (60 s in production)
            backoff=Backoff(base=POLL, cap=2.0),
        )
        hung_urls: list[str] = []
        calm_lag: list[float] = []
        recoveries: list[float] = []
        async with PatronDesk(settings(tmp_path), sources=[adapter], desks=[wall]):
            await until(lambda: len(server.routes["/calm.xml"].requests) >= 2, within=10)
            for _ in range(rounds):
                server.routes[feeds.route].mode = "stall"  # the host accepts and never answers
                hung_urls.append(feeds.add())
                server.routes[feeds.route].mode = "stall"  # (publishing reset it)
                for n in range(3):  # the other feed carries on meanwhile
                    url = f"https://calm.example.org/{len(calm_items) + n}"
                    calm_items.append(url)
                    server.routes["/calm.xml"].publish(
                        atom([Item(id=f"calm-{u}", title="calm", link=u) for u in reversed(calm_items)])
                    )
                    posted = time.monotonic()
                    await until(partial(wall.has_urls, [url]), within=5)
                    calm_lag.append(time.monotonic() - posted)
                requests = len(server.routes[feeds.route].requests)
                await until(partial(_above, server.routes[feeds.route].requests.__len__, requests), within=10)
                assert not wall.urls[hung_urls[-1]]  # still hung: nothing from it yet
                server.routes[feeds.route].mode = "ok"
                back = time.monotonic()
                await until(lambda: wall.has_urls(hung_urls), within=10)
                recoveries.append(time.monotonic() - back)
    urls = hung_urls + calm_items
    lost = sum(1 for url in urls if not wall.urls[url])
    duplicates = sum(max(wall.urls[url] - 1, 0) for url in urls)
    record(
        gate_figures(
            feeds.gate,
            "feed server hangs",
            lost=lost,
            duplicates=duplicates,
            recovery=max(recoveries),
            note=f"{rounds} hangs; the other feed's slowest card {max(calm_lag):.2f}s",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert max(calm_lag) < 2.0
