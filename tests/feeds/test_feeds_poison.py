"""Poison test for feeds on SQLite and PostgreSQL, and redirects from a public feed into internal networks.

A document whose entries carry a surrogate reference, an invalid UTF-8 byte, NUL, a 600-character
author, a year-9999 date and a link with a newline, followed by a normal entry: every entry is carded
with safe fields (before, one such entry failed the whole document or stalled the source for ever).
"""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from bot.backoff import Backoff
from bot.platforms.feeds import redirects as feeds_redirects
from bot.platforms.feeds.source import FeedsAdapter
from tests.conftest import database_params
from tests.core.poison import NORMAL_TEXT, Console, check_survived, marked, running_app, wait_for_rows
from tests.fakes.feeds import FeedServer

HOSTILE_ENTRIES = (
    b"<item><guid>https://blog.example/1</guid><title>surrogate &#xD800; reference</title></item>",
    b"<item><guid>https://blog.example/2</guid><title>invalid \xff\xfe byte</title></item>",
    b"<item><guid>https://blog.example/3</guid><title>nul \x00 byte</title><author>"
    + b"A" * 600
    + b"</author>"
    b"</item>",
    b"<item><guid>https://blog.example/4</guid><title>far future</title>"
    b"<pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate></item>",
    b"<item><guid>https://blog.example/5</guid><title>old</title>"
    b"<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>",
    b"<item><guid>https://blog.example/6</guid><title>fake lines</title>"
    b"<link>https://blog.example/6&#10;\xe2\x94\x80\xe2\x94\x80 #99 \xc2\xb7 Web (feed) \xe2\x80\xae</link>"
    b"<author>Eve&#x202E;&#10;\xe2\x94\x80\xe2\x94\x80 #99 \xc2\xb7 x</author></item>",
    b"<item><guid>" + b"https://blog.example/" + b"7" * 600 + b"</guid><title>long id</title></item>",
)
NORMAL = f"<item><guid>https://blog.example/normal</guid><title>{NORMAL_TEXT}</title></item>".encode()


def document() -> bytes:
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Alerts</title>'
    return head + b"".join(HOSTILE_ENTRIES) + NORMAL + b"</channel></rss>"


def adapter(urls: list[str]) -> FeedsAdapter:
    backoff = Backoff(base=0.02, cap=0.2, rng=random.Random(7))
    return FeedsAdapter(urls, poll_seconds=0.05, backfill=True, backoff=backoff)


@pytest.mark.slow
@pytest.mark.parametrize("kind", database_params())
async def test_feeds_poison(kind: str, tmp_path: Path, server: FeedServer) -> None:
    server.route("/alerts", document())
    console = Console()
    async with running_app(kind, tmp_path, console, sources=[adapter([server.url("/alerts")])]) as app:
        rows = await wait_for_rows(app, "feeds", len(HOSTILE_ENTRIES) + 1)
        await check_survived(app, console, rows)
    by_id = {row.external_id: row for row in rows}
    assert by_id["https://blog.example/1"].text == "surrogate \ufffd reference"
    assert by_id["https://blog.example/2"].text == "invalid \ufffd\ufffd byte"
    assert by_id["https://blog.example/3"].text == "nul  byte"
    assert len(by_id["https://blog.example/3"].author_name) == 512
    assert marked(rows) == 2  # year 9999 and 1970


class Redirecting(httpx.AsyncBaseTransport):
    """A public feed host whose feed answers with a redirect; everything else goes to the loopback."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        if request.url.host == "feeds.public.example":
            return httpx.Response(302, headers={"Location": self.location})
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/alerts", "http://[::1]:{port}/alerts"])
async def test_a_public_feed_may_not_redirect_into_loopback(server: FeedServer, target: str) -> None:
    server.route("/alerts", document())
    transport = Redirecting(target.format(port=server.port))
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:  # as open() made it
        feeds = FeedsAdapter(["http://feeds.public.example/feed"], client=client)
        with pytest.raises(Exception, match="loopback or private"):
            await feeds._fetch("http://feeds.public.example/feed", None)
    assert server.routes["/alerts"].requests == []  # the internal address was never asked


async def test_a_feed_configured_on_loopback_may_redirect_within_it(server: FeedServer) -> None:
    server.route("/old", mode="status", status=301, headers={"Location": "/alerts"})
    server.route("/alerts", document())
    async with httpx.AsyncClient(follow_redirects=True) as client:
        feeds = FeedsAdapter([server.url("/old")], client=client)
        fetched = await feeds._fetch(server.url("/old"), None)
    assert fetched.entries is not None and len(fetched.entries) == len(HOSTILE_ENTRIES) + 1


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.1", True),
        ("172.16.0.1", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("93.184.216.34", False),
        ("2606:4700::1", False),
        ("feeds.example", False),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert feeds_redirects.internal_address(address) is internal
