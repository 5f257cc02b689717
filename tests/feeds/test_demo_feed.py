"""The demo feed file and its server: progressive reveal on an injected clock, ETag/304, routing spread."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.demo import DemoFeed, DemoFeedServer, default_feed_path
from bot.platforms.feeds.parse import parse_feed
from bot.platforms.feeds.source import FeedsAdapter
from tests.fakes.feeds import Item, Pump, atom, eventually

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-feed.xml"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ids(body: bytes) -> list[str]:
    """The entry ids of a served document, in document order."""
    return [m.external_id.rsplit(":", 1)[1] for m in parse_feed(body, feed_url="http://demo/", now=T0)]


def test_reveal_schedule_follows_the_clock() -> None:
    feed = DemoFeed(DEMO.read_bytes(), started=100.0, started_at=T0, initial=5, interval=8.0)
    assert feed.total == 36
    assert feed.visible(50.0) == 5  # a clock before the start still shows the first batch
    assert feed.visible(100.0) == 5
    assert feed.visible(107.99) == 5
    assert feed.visible(108.0) == 6
    assert feed.visible(100.0 + 8 * 31) == 36
    assert feed.visible(1e9) == 36


def test_snapshot_shows_the_oldest_entries_newest_first_with_reveal_times() -> None:
    feed = DemoFeed(DEMO.read_bytes(), started=0.0, started_at=T0, initial=5, interval=8.0)
    first = feed.snapshot(0.0)
    assert ids(first.body) == ["1005", "1004", "1003", "1002", "1001"]
    later = feed.snapshot(8.0)
    assert ids(later.body) == ["1006", "1005", "1004", "1003", "1002", "1001"]
    assert first.etag != later.etag
    assert feed.snapshot(7.0).etag == first.etag  # same content, same validator
    newest = parse_feed(later.body, feed_url="http://demo/", now=T0)[0]
    assert newest.created_at == T0 + timedelta(seconds=8)
    assert later.last_modified == T0 + timedelta(seconds=8)
    oldest = parse_feed(first.body, feed_url="http://demo/", now=T0)[-1]
    assert oldest.created_at == T0 - timedelta(minutes=5)


async def test_server_reveals_over_time_and_answers_304() -> None:
    clock = FakeClock()
    async with (
        DemoFeedServer(interval=8.0, clock=clock, now=lambda: T0) as server,
        httpx.AsyncClient() as client,
    ):
        assert urlsplit(server.url).hostname == "127.0.0.1"
        first = await client.get(server.url)
        assert first.status_code == 200
        assert first.headers["Content-Type"].startswith("application/atom+xml")
        assert len(ids(first.content)) == 5
        etag = first.headers["ETag"]
        again = await client.get(server.url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        since = await client.get(server.url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 304
        clock.advance(8.0)
        moved = await client.get(server.url, headers={"If-None-Match": etag})
        assert moved.status_code == 200
        assert len(ids(moved.content)) == 6
        stale = format_datetime(T0 - timedelta(hours=1), usegmt=True)
        assert (await client.get(server.url, headers={"If-Modified-Since": stale})).status_code == 200


async def test_server_path_is_overridable(tmp_path: Path) -> None:
    path = tmp_path / "mine.xml"
    path.write_bytes(atom([Item(id=f"tag:example.org,2025:x:{n}", title=f"t{n}") for n in (3, 2, 1)]))
    clock = FakeClock()
    server = DemoFeedServer(path, initial=1, interval=2.0, clock=clock, now=lambda: T0)
    async with server, httpx.AsyncClient() as client:
        assert ids((await client.get(server.url)).content) == ["1"]
        clock.advance(4.0)
        assert ids((await client.get(server.url)).content) == ["3", "2", "1"]
    with pytest.raises(RuntimeError):
        _ = server.url  # stopped


async def test_adapter_follows_the_demo_server() -> None:
    clock = FakeClock()
    async with DemoFeedServer(clock=clock, now=lambda: T0) as server:
        adapter = FeedsAdapter([server.url], poll_seconds=0.02, backfill=True)
        await adapter.open()
        pump = Pump(adapter)
        try:
            await eventually(lambda: len(pump.mentions) >= 5)
            clock.advance(8.0)
            await eventually(lambda: len(pump.mentions) >= 6)
            before = server.requests
            await eventually(lambda: server.requests >= before + 2)  # polled on, with 304s
            assert len(pump.mentions) == 6
        finally:
            await pump.stop()
            await adapter.aclose()
    assert [m.external_id.rsplit(":", 1)[1] for m in pump.mentions] == [str(1001 + n) for n in range(6)]


def test_default_path_is_the_repository_example() -> None:
    assert default_feed_path() == DEMO


def test_demo_feed_is_varied_fictional_and_clean() -> None:
    raw = DEMO.read_text(encoding="utf-8")
    mentions = parse_feed(DEMO.read_bytes(), feed_url="http://demo/", now=T0)
    assert 30 <= len(mentions) <= 40
    assert len({m.external_id for m in mentions}) == len(mentions)
    assert "google.com/url?" in raw
    assert "&lt;b&gt;" in raw  # Google's bold highlights, unwrapped by the parser
    assert "&amp;amp;" in raw  # an entity inside html content
    for mention in mentions:
        assert mention.url is not None
        host = urlsplit(mention.url).hostname or ""
        assert host.endswith(("example.org", "example.com", "example.net")), host
        assert "<b>" not in mention.text
        assert "&amp;" not in mention.text
    assert Counter(m.lang for m in mentions if m.lang) == {"fr": 2, "es": 2}
    assert any("Fines & fees: Riverside's auto-renewal" in m.text for m in mentions)


def test_demo_feed_reaches_every_role_of_the_example_rules() -> None:
    from bot.setup import load_rules_file

    rules = load_rules_file(DEMO.parent / "rules.toml")
    mentions = parse_feed(DEMO.read_bytes(), feed_url="http://demo/", now=T0)
    roles = Counter(rules.match(m)[0] for m in mentions)
    assert set(roles) == {"circulation", "reference", "tech", "social-media", "director"}
    assert min(roles.values()) >= 4
    first_five = {rules.match(m)[0] for m in mentions[-5:]}
    assert len(first_five) == 5  # the first batch the demo shows has one card per role
