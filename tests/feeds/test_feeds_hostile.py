"""Hypothesis drives the feed parser with hostile entries in RSS and Atom: every readable entry comes out
safe, and one bad entry never hides the normal one after it."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import TIME_NOTE
from bot.errors import PermanentError
from bot.platforms.feeds.parse import parse_feed
from tests.core.hostile import NOW, assert_safe, field_text

FEED = "https://alerts.example/feed"
RAW = (
    b"&#xD800;", b"&#0;", b"&#x1;", b"\xc3\x28", b"\xff", b"\x00", b"&#x202E;", b"&#xFFFE;", b"\n", b"&#10;",
    b"&#x10FFFF;", b"&#99999999;", b"<b>", b"&nbsp;",
)  # fmt: skip
DATES = (
    "Fri, 31 Dec 9999 23:59:59 -1200", "Thu, 01 Jan 1970 00:00:00 GMT", "Mon, 32 Foo 2026 99:99:99 +9999",
    "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "Sun, 22 Nov 2026 10:00:00 GMT", "",
)  # fmt: skip


def pieces() -> st.SearchStrategy[bytes]:
    """Element text: escaped hostile text with raw bytes and character references mixed in."""
    text = field_text().map(lambda s: escape(s).encode("utf-8", "surrogatepass"))
    return st.lists(st.one_of(text, st.sampled_from(RAW)), max_size=6).map(b"".join)


@st.composite
def rss_item(draw: st.DrawFn, n: int) -> bytes:
    return (
        b"<item><guid>"
        + draw(st.one_of(pieces(), st.just(f"https://blog.example/{n}".encode())))
        + b"</guid>"
        b"<title>" + draw(pieces()) + b"</title><link>https://blog.example/" + draw(pieces()) + b"</link>"
        b"<author>" + draw(pieces()) + b"</author><description>" + draw(pieces()) + b"</description>"
        b"<pubDate>" + draw(st.sampled_from(DATES)).encode() + b"</pubDate></item>"
    )


NORMAL = (
    b"<item><guid>https://blog.example/normal</guid><title>Riverside Library opens late</title>"
    b"<pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate></item>"
)


def document(items: list[bytes]) -> bytes:
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Alerts</title>'
    return head + b"".join(items) + NORMAL + b"</channel></rss>"


@pytest.mark.slow  # over 10 s: 200 generated documents through feedparser
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 99).flatmap(rss_item), max_size=3))
@example([b"<item><guid>x</guid><title>&#xD800;</title><author>" + b"A" * 600 + b"</author></item>"])
@example([b"<item><guid>y</guid><title>bad \xff byte</title></item>"])
@example([b"<item><guid>z</guid><title>t</title><pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate></item>"])
def test_hostile_entries_come_out_safe_and_never_hide_the_normal_one(items: list[bytes]) -> None:
    try:
        mentions = parse_feed(document(items), feed_url=FEED, now=NOW)
    except PermanentError:  # UnsafeFeed / MalformedFeed: the classified refusal of a whole document
        raise AssertionError("a document with a readable entry was refused") from None
    for mention in mentions:
        assert_safe(mention)
    assert mentions[-1].external_id == "https://blog.example/normal"


def test_one_entry_with_a_surrogate_reference_and_a_long_author_is_carded_with_the_rest() -> None:
    bad = b"<item><guid>https://blog.example/bad</guid><title>a&#xD800;b\x00c</title>"
    bad += b"<author>" + b"A" * 600 + b"</author><pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate></item>"
    first, normal = parse_feed(document([bad]), feed_url=FEED, now=NOW)
    assert first.text == "a\ufffdbc" and len(first.author_name) == 512
    assert first.created_at == NOW and first.note == TIME_NOTE
    assert normal.text == "Riverside Library opens late" and normal.note == ""


def test_an_invalid_utf8_byte_in_one_entry_does_not_hide_the_document() -> None:
    bad = b"<item><guid>https://blog.example/bad</guid><title>caf\xe9 \xff</title></item>"
    first, normal = parse_feed(document([bad]), feed_url=FEED, now=NOW)
    assert first.text == "caf\ufffd \ufffd"
    assert normal.external_id == "https://blog.example/normal"
