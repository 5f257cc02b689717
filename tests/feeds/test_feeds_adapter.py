"""The feeds adapter against a loopback server: sync rules, conditional GET, failures, restarts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import __version__
from bot.config import Settings
from bot.errors import AdapterConfigError, ReplyNotSupported
from bot.models import Mention
from bot.platforms.base import AdapterDeps
from bot.platforms.feeds.source import FeedsAdapter, build
from tests.fakes.feeds import FeedServer, Item, Pump, atom, eventually, rss

MakeAdapter = Callable[..., Awaitable[FeedsAdapter]]
StartPump = Callable[..., Pump]


def alert(number: int) -> Item:
    """A Google-Alerts-like entry; a higher number is newer."""
    return Item(
        id=f"tag:google.com,2013:googlealerts/feed:{number}",
        title=f"<b>Riverside Public Library</b> post {number}",
        summary=f"Patron words {number}",
        link=f"https://www.google.com/url?rct=j&sa=t&url=https://blog.example.com/{number}&ct=ga",
        published=datetime(2025, 3, 1, 9, number, tzinfo=UTC),
    )


def doc(*numbers: int) -> bytes:
    """An Atom document holding ``numbers``, newest first as Google Alerts orders them."""
    return atom([alert(n) for n in sorted(numbers, reverse=True)])


def numbers(mentions: list[Mention]) -> list[int]:
    """The post numbers of ``mentions``, in yield order."""
    return [int(m.external_id.rsplit(":", 1)[1]) for m in mentions]


async def test_first_sync_records_entries_then_yields_only_new_ones(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    route = server.route("/alerts", doc(1, 2, 3))
    pump = pumps(await make_adapter([server.url("/alerts")]))
    await eventually(lambda: len(pump.items) >= 1)
    assert pump.items[0][0] is None  # a cursor-only update: old entries are not backfilled
    assert pump.items[0][1] is not None
    route.publish(doc(1, 2, 3, 4, 5))
    await eventually(lambda: len(pump.mentions) >= 2)
    await eventually(lambda: route.not_modified >= 1)  # polled again after the new entries
    assert numbers(pump.mentions) == [4, 5]
    assert pump.mentions[0].url == "https://blog.example.com/4"
    assert pump.mentions[0].can_reply is False


async def test_backfill_yields_every_entry_oldest_first(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    server.route("/alerts", doc(1, 2, 3))
    pump = pumps(await make_adapter([server.url("/alerts")], backfill=True))
    await eventually(lambda: len(pump.mentions) >= 3)
    assert numbers(pump.mentions) == [1, 2, 3]
    assert all(cursor is not None for _, cursor in pump.items)


async def test_etag_is_sent_and_304_yields_nothing(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    route = server.route("/alerts", doc(1), use_last_modified=False)
    pump = pumps(await make_adapter([server.url("/alerts")]))
    await eventually(lambda: route.not_modified >= 3)
    assert "if-none-match" not in {k.lower() for k in route.requests[0]}
    assert route.requests[1]["If-None-Match"] == route.etag
    assert len(pump.items) == 1  # the first sync only; the 304s yielded nothing
    assert route.requests[0]["User-Agent"] == f"PatronDesk/{__version__}"


async def test_last_modified_is_sent_when_there_is_no_etag(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    route = server.route("/rss", rss([Item(id="https://forum.example.org/t/1", title="Hi")]), use_etag=False)
    pump = pumps(await make_adapter([server.url("/rss")]))
    await eventually(lambda: route.not_modified >= 2)
    assert route.requests[1]["If-Modified-Since"] == route.last_modified
    assert len(pump.items) == 1


HOSTILE_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<rss version="2.0"><channel><title>&lol2;</title></channel></rss>'
)


async def test_one_broken_feed_never_stops_the_healthy_one(
    server: FeedServer,
    make_adapter: MakeAdapter,
    pumps: StartPump,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LIBRARY-KEY")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><title>t</title><item><guid>https://example.com/1</guid>'
        "<title>&xxe;</title></item></channel></rss>"
    ).encode()
    broken: dict[str, tuple[str, dict[str, Any]]] = {
        "/s/500": ("HTTP 500", {"mode": "status", "status": 500}),
        "/s/429": ("HTTP 429", {"mode": "status", "status": 429, "headers": {"Retry-After": "3600"}}),
        "/s/stall": ("timed out", {"mode": "stall"}),
        "/s/endless": ("more than 65536 bytes", {"mode": "stream"}),
        "/s/declared": ("declared", {"body": b"<rss>" + b" " * 70_000 + b"</rss>"}),
        "/s/html": ("not an RSS or Atom feed", {"body": b"<html><body>Login to the wifi</body></html>"}),
        "/s/laughs": ("refused XML", {"body": HOSTILE_DTD}),
        "/s/xxe": ("refused XML", {"body": xxe}),
    }
    for path, (_, options) in broken.items():
        server.route(path, **options)
    healthy = server.route("/alerts", doc(1))
    urls = [server.url(path) for path in broken] + [server.url("/alerts")]
    caplog.set_level(logging.INFO, logger="bot.platforms.feeds.source")
    adapter = await make_adapter(urls, backfill=True, deadline=0.5, max_bytes=65_536)
    pump = pumps(adapter)

    def logged(index: int, reason: str) -> bool:
        return any(
            isinstance(r.args, tuple) and r.args[:1] == (index,) and reason in r.getMessage()
            for r in caplog.records
        )

    await eventually(lambda: numbers(pump.mentions) == [1])
    healthy.publish(doc(1, 2))
    await eventually(lambda: numbers(pump.mentions) == [1, 2])
    for index, (reason, _) in enumerate(broken.values(), start=1):
        await eventually(partial(logged, index, reason))
    await eventually(lambda: len(server.routes["/s/500"].requests) >= 2)  # retried after a backoff
    assert len(server.routes["/s/429"].requests) == 1  # Retry-After: 3600 is honoured
    assert server.routes["/s/endless"].streamed < 64 * 1024 * 1024
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/s/" not in text  # feeds are named by index and host, never by path
    assert "TOP-SECRET" not in text
    assert "Patron words" not in text
    assert all("TOP-SECRET" not in m.text for m in pump.mentions)


async def test_nothing_is_lost_across_a_restart(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    route = server.route("/alerts", doc(1))
    first = pumps(await make_adapter([server.url("/alerts")]))
    await eventually(lambda: len(first.items) >= 1)
    route.publish(doc(1, 2, 3, 4))
    await eventually(lambda: len(first.mentions) >= 3)
    await first.stop()
    # the process died after storing only the first new mention and its cursor
    crashed_at = next(cursor for mention, cursor in first.items if mention is not None)
    second = pumps(await make_adapter([server.url("/alerts")]), cursor=crashed_at)
    await eventually(lambda: len(second.mentions) >= 2)
    assert numbers(second.mentions) == [3, 4]
    await second.stop()
    # a clean restart from the last cursor yields only what is published afterwards
    third = pumps(await make_adapter([server.url("/alerts")]), cursor=second.cursor)
    route.publish(doc(1, 2, 3, 4, 5))
    await eventually(lambda: len(third.mentions) >= 1)
    await eventually(lambda: route.not_modified >= 1)
    assert numbers(third.mentions) == [5]


async def test_unreadable_cursor_rereads_everything(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    server.route("/alerts", doc(1, 2))
    pump = pumps(await make_adapter([server.url("/alerts")]), cursor="{garbage")
    await eventually(lambda: len(pump.mentions) >= 2)
    assert numbers(pump.mentions) == [1, 2]


async def test_redirects_are_followed(
    server: FeedServer, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    server.route("/old", mode="status", status=301, headers={"Location": "/alerts"})
    server.route("/alerts", doc(7))
    pump = pumps(await make_adapter([server.url("/old")], backfill=True))
    await eventually(lambda: len(pump.mentions) >= 1)
    assert numbers(pump.mentions) == [7]


async def test_file_urls_are_read_from_disk(
    tmp_path: Path, make_adapter: MakeAdapter, pumps: StartPump
) -> None:
    path = tmp_path / "alerts.xml"
    path.write_bytes(doc(1, 2))
    pump = pumps(await make_adapter([path.as_uri()], backfill=True))
    await eventually(lambda: len(pump.mentions) >= 2)
    path.write_bytes(doc(1, 2, 3))
    await eventually(lambda: len(pump.mentions) >= 3)
    assert numbers(pump.mentions) == [1, 2, 3]


async def test_reply_is_not_supported(make_adapter: MakeAdapter) -> None:
    adapter = await make_adapter(["https://feeds.example.org/a"])
    mention = Mention(
        source="feeds", external_id="x", text="t", created_at=datetime.now(UTC), can_reply=False
    )
    with pytest.raises(ReplyNotSupported):
        await adapter.reply(mention, "thanks!", idempotency_key="k")


async def test_open_refuses_unknown_schemes() -> None:
    adapter = FeedsAdapter(["ftp://feeds.example.org/a"])
    with pytest.raises(AdapterConfigError):
        await adapter.open()


async def test_an_injected_client_is_used_and_left_open(server: FeedServer, pumps: StartPump) -> None:
    server.route("/alerts", doc(1))
    async with httpx.AsyncClient(headers={"User-Agent": "injected"}) as client:
        adapter = FeedsAdapter([server.url("/alerts")], poll_seconds=0.02, backfill=True, client=client)
        await adapter.open()
        pump = pumps(adapter)
        await eventually(lambda: len(pump.mentions) >= 1)
        await pump.stop()
        await adapter.aclose()
        assert not client.is_closed
    assert server.routes["/alerts"].requests[0]["User-Agent"] == "injected"


def test_build_is_off_without_feeds_and_reads_the_settings() -> None:
    assert build(Settings(), AdapterDeps()) is None
    adapter = build(
        Settings(FEEDS="https://a.example/f, https://b.example/f", FEED_BACKFILL=True),
        AdapterDeps(),
    )
    assert isinstance(adapter, FeedsAdapter)
    assert adapter.source == "feeds"
