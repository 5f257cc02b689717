"""Meta benchmark: a signed Facebook webhook event's cost, its latency through the app, and a catch-up poll.

Run: .venv/bin/python -m bench.meta_webhook [--events N] [--posts N] [--comments N]
Figures: (1) verify the X-Hub-Signature-256 and parse one comment event, pure CPU (goal: <= 100 µs);
(2) signed POST to the running app until its 200, which comes after the mention is stored (SQLite
file, console desk; goal p99 <= 50 ms); (3) one catch-up pass over the loopback Graph API's recent
posts with cursor paging (goal: 500 comments in <= 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.console.desk import ConsoleDesk
from bot.platforms.facebook.parse import parse_change
from bot.platforms.facebook.source import FacebookSource
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.source import GraphOptions
from bot.platforms.meta.webhook import changes, verify
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph, sign
from tests.fakes.loopback import json_bytes

RULES = 'default_role = "social-media"\n[roles.social-media]\nsla_minutes = 30\n'


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):8.1f}  p99 {ordered[max(int(len(ordered) * 0.99) - 1, 0)]:8.1f}"


def parse_cost(graph: FakeGraph, events: int) -> list[float]:
    """Microseconds to verify and parse one signed event."""
    post = graph.add_post()
    body = json_bytes(graph.feed_webhook(graph.add_comment(post["id"], "Can I renew my loans online? " * 4)))
    header = sign(fake.APP_SECRET, body)
    now = datetime.now(UTC)
    samples = []
    for _ in range(events):
        start = time.perf_counter()
        assert verify(fake.APP_SECRET, header, body) is None
        for change in changes(json.loads(body), object_kind="page"):
            parse_change(change.value, field=change.field, page_id=fake.PAGE_ID, now=now)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


async def through_app(graph: FakeGraph, events: int) -> list[float]:
    """Milliseconds from a signed POST to its 200 (stored in the same request)."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.toml"
        rules.write_text(RULES)
        settings = Settings(
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.db",
            RULES_FILE=rules,
            CONSOLE_DESK="on",
            HTTP_PORT=0,
            FACEBOOK_PAGE_ID=fake.PAGE_ID,
            FACEBOOK_PAGE_TOKEN=fake.TOKEN,
            FACEBOOK_APP_SECRET=fake.APP_SECRET,
            FACEBOOK_VERIFY_TOKEN=fake.VERIFY_TOKEN,
            FACEBOOK_GRAPH_URL=graph.base,
            FACEBOOK_GRAPH_VERSION=fake.VERSION,
        )
        desk = ConsoleDesk(input=asyncio.StreamReader(), output=io.StringIO())
        post = graph.add_post()
        samples = []
        async with PatronDesk(settings, desks=[desk]) as app, httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{app.http_port}/webhooks/facebook"
            for n in range(events):
                body = json_bytes(graph.feed_webhook(graph.add_comment(post["id"], f"question {n}")))
                headers = {"X-Hub-Signature-256": sign(fake.APP_SECRET, body)}
                start = time.perf_counter()
                response = await http.post(url, content=body, headers=headers)
                samples.append((time.perf_counter() - start) * 1e3)
                assert response.status_code == 200
            await app.wait_idle(within=120)
        return samples


async def catch_up(graph: FakeGraph, posts: int, comments: int) -> tuple[int, float]:
    """Comments found and seconds for one catch-up pass (backfill: every comment is new)."""
    ids = [graph.add_post()["id"] for _ in range(posts)]
    for n in range(comments):
        graph.add_comment(ids[n % posts], f"comment {n}")
    client = GraphClient(graph.base, fake.VERSION, fake.TOKEN, label="Facebook")
    source = FacebookSource(
        client, fake.PAGE_ID, options=GraphOptions(backfill=True, recent=posts, page_limit=50)
    )
    try:
        start = time.perf_counter()
        found = await source.poll_once(None)
        return len(found), time.perf_counter() - start
    finally:
        await source.aclose()


async def run(args: argparse.Namespace) -> None:
    async with FakeGraph() as graph:
        print(
            f"verify+parse event   : {args.events:6d} events  "
            f"{percentiles(parse_cost(graph, args.events))} µs"
        )
    async with FakeGraph() as graph:
        samples = await through_app(graph, args.posts)
        print(f"webhook POST->stored : {args.posts:6d} posts   {percentiles(samples)} ms")
    async with FakeGraph() as graph:
        found, seconds = await catch_up(graph, 10, args.comments)
        print(f"catch-up poll        : {found:6d} comments on 10 posts in {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--comments", type=int, default=500)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
