"""The pure feed parser: Google Alerts and RSS shapes, text and link clean-up, hostile XML refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.feeds.parse import (
    MAX_TEXT,
    MalformedFeed,
    UnsafeFeed,
    check_xml,
    parse_feed,
    unwrap_redirect,
)
from tests.fakes.feeds import Item, atom, rss

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ALERT_URL = "https://www.google.com/alerts/feeds/0000/1111"
FORUM_URL = "https://forum.example.org/feed.rss"
REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference-payloads" / "google_alerts_atom_feed.xml"
)

ALERTS = [
    Item(
        id="tag:google.com,2013:googlealerts/feed:1001",
        title="Why I love the <b>Riverside Public Library</b>'s new maker space",
        summary="The <b>Riverside Public Library</b> opened its maker space on Saturday &amp; the 3D printer"
        " was booked&nbsp;...",
        link="https://www.google.com/url?rct=j&sa=t&url=https://blog.example.com/2025/03/maker-space/"
        "&ct=ga&cd=CAIyHGU4ZTJk&usg=AOvVaw0abc",
        published=datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
    ),
    Item(
        id="tag:google.com,2013:googlealerts/feed:1002",
        title="La <b>bibliothèque</b> de Riverside prolonge ses horaires",
        summary="Bonne nouvelle pour les étudiants&nbsp;...",
        link="https://www.google.com/url?rct=j&sa=t&url=https://www.news.example.net/fr/horaires&ct=ga",
        published=datetime(2025, 3, 1, 9, 15, tzinfo=UTC),
        lang="fr-CA",
    ),
]


def test_google_alerts_atom_gives_clean_read_only_mentions() -> None:
    first, second = parse_feed(atom(ALERTS), feed_url=ALERT_URL, now=NOW)
    assert first.source == "feeds"
    assert first.external_id == "tag:google.com,2013:googlealerts/feed:1001"
    assert first.text == (
        "Why I love the Riverside Public Library's new maker space\n"
        "The Riverside Public Library opened its maker space on Saturday & the 3D printer was booked ..."
    )
    assert first.url == "https://blog.example.com/2025/03/maker-space/"
    assert (first.author_handle, first.author_name) == ("blog.example.com", "blog.example.com")
    assert first.created_at == datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    assert first.created_at.tzinfo is not None
    assert first.can_reply is False
    assert first.reply_ref == ""
    assert first.lang is None
    assert second.lang == "fr"
    assert second.url == "https://www.news.example.net/fr/horaires"
    assert second.author_handle == "news.example.net"


@pytest.mark.skipif(not REFERENCE.is_file(), reason="reference payloads not available")
def test_real_google_alerts_feed_is_unwrapped_and_has_no_markup() -> None:
    mentions = parse_feed(REFERENCE.read_bytes(), feed_url=ALERT_URL, now=NOW)
    assert len(mentions) == 20
    for mention in mentions:
        assert mention.url is not None
        assert mention.url.startswith(("https://", "http://"))
        assert "google.com/url" not in mention.url
        assert "<b>" not in mention.text
        assert "</b>" not in mention.text
        assert "&nbsp;" not in mention.text
        assert "&#39;" not in mention.text
        assert mention.external_id.startswith("tag:google.com,2013:googlealerts/feed:")
        assert mention.created_at.year == 2019
        assert mention.author_handle
        assert "google" not in mention.author_handle
    assert len({m.external_id for m in mentions}) == 20
    assert any("Company's decision" in m.text for m in mentions)


def test_rss_two_items_with_guid_language_and_html() -> None:
    items = [
        Item(
            id="https://forum.example.org/t/wifi-down/881",
            title="Library wifi down again?",
            summary="<p>Can't log in to the <em>RiversideGuest</em> network &mdash; anyone else?</p>"
            "<script>alert(1)</script><p>Tried twice.</p>",
            link="https://forum.example.org/t/wifi-down/881",
            published=datetime(2025, 3, 2, 14, 5, tzinfo=UTC),
        ),
        Item(id="post-42", title="Storytime", summary="Storytime", link=""),
    ]
    wifi, storytime = parse_feed(rss(items, language="en-gb"), feed_url=FORUM_URL, now=NOW)
    assert wifi.external_id == "https://forum.example.org/t/wifi-down/881"
    assert wifi.text == (
        "Library wifi down again?\nCan't log in to the RiversideGuest network — anyone else? Tried twice."
    )
    assert wifi.created_at == datetime(2025, 3, 2, 14, 5, tzinfo=UTC)
    assert wifi.lang == "en"
    assert wifi.author_handle == "forum.example.org"
    # a guid without a scheme is only unique inside its feed: qualified with the feed URL
    assert storytime.external_id == f"{FORUM_URL}#post-42"
    assert storytime.text == "Storytime"  # a summary repeating the title is not doubled
    assert storytime.url is None


def test_only_web_links_reach_the_card() -> None:
    doc = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><id>tag:example.org,2025:1</id><title>a</title><link href="javascript:alert(1)"/></entry>'
        b'<entry><id>tag:example.org,2025:2</id><title>b</title><link href="data:text/html,hi"/></entry>'
        b"</feed>"
    )
    assert [m.url for m in parse_feed(doc, feed_url="file:///tmp/feed.xml", now=NOW)] == [None, None]


def test_ids_fall_back_to_link_then_to_a_content_hash() -> None:
    items = [
        Item(id="", title="Hours on Sunday", link="https://blog.example.com/sunday"),
        Item(id="", title="No link here", summary="Just words"),
    ]
    linked, bare = parse_feed(rss(items), feed_url=FORUM_URL, now=NOW)
    assert linked.external_id == "https://blog.example.com/sunday"
    assert bare.external_id.startswith("sha256:")
    again = parse_feed(rss(items), feed_url=FORUM_URL, now=NOW)[1]
    assert again.external_id == bare.external_id


def test_entry_without_date_gets_the_given_time_and_long_text_is_capped() -> None:
    doc = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>https://example.com/1</guid><title>Long</title><description>{'word ' * 5000}"
        "</description></item></channel></rss>"
    ).encode()
    (mention,) = parse_feed(doc, feed_url=FORUM_URL, now=NOW)
    assert mention.created_at == NOW
    assert len(mention.text) <= MAX_TEXT
    assert mention.text.endswith("…")


@pytest.mark.parametrize(
    ("link", "real"),
    [
        (
            "https://www.google.com/url?rct=j&sa=t&url=https://example.com/a%3Fb%3D1&ct=ga",
            "https://example.com/a?b=1",
        ),
        ("https://www.google.com/url?q=https://example.org/page&sa=U&ved=abc", "https://example.org/page"),
        ("https://google.co.uk/url?url=http://example.net/x", "http://example.net/x"),
        (
            "https://www.google.com/url?url=javascript:alert(1)",
            "https://www.google.com/url?url=javascript:alert(1)",
        ),
        (
            "https://evil.example/url?url=https://example.com/",
            "https://evil.example/url?url=https://example.com/",
        ),
        (
            "https://www.google.com/search?q=https://example.com/",
            "https://www.google.com/search?q=https://example.com/",
        ),
        (
            "https://google.com.evil.example/url?url=https://x.example/",
            "https://google.com.evil.example/url?url=https://x.example/",
        ),
    ],
)
def test_unwrap_redirect(link: str, real: str) -> None:
    assert unwrap_redirect(link) == real


@given(st.text())
def test_unwrap_redirect_never_invents_a_url(link: str) -> None:
    result = unwrap_redirect(link)
    assert result == link or result.startswith(("http://", "https://"))


# --- hostile and broken documents -----------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><item><guid>https://example.com/1</guid>
<title>&lol9;</title></item></channel></rss>"""


def external_entity(secret: Path) -> bytes:
    """An RSS document whose title is an external entity pointing at ``secret``."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><title>t</title><item><guid>https://example.com/1</guid>'
        "<title>&xxe;</title></item></channel></rss>"
    ).encode()


def test_billion_laughs_is_refused_before_expansion() -> None:
    with pytest.raises(UnsafeFeed):
        parse_feed(BILLION_LAUGHS, feed_url=FORUM_URL, now=NOW)
    with pytest.raises(UnsafeFeed):  # the same attack in UTF-16, which a byte scan would miss
        parse_feed(
            BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', "").encode("utf-16"),
            feed_url=FORUM_URL,
            now=NOW,
        )


def test_external_entity_does_not_read_the_planted_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LIBRARY-KEY")
    with pytest.raises(UnsafeFeed) as caught:
        parse_feed(external_entity(secret), feed_url=FORUM_URL, now=NOW)
    assert "TOP-SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd"><rss version="2.0"/>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><rss/>',
        # broken before the DTD, so expat never reaches it: the byte scan must still refuse it
        b'<?xml version="1.0"?><junk attr=></junk><!DOCTYPE r [<!ENTITY a "b">]><rss/>',
    ],
    ids=["external-dtd", "parameter-entity", "dtd-after-garbage"],
)
def test_any_dtd_is_refused(doc: bytes) -> None:
    with pytest.raises(UnsafeFeed):
        parse_feed(doc, feed_url=FORUM_URL, now=NOW)


@pytest.mark.parametrize(
    "doc",
    [
        b"<html><body><h1>Service temporarily unavailable</h1></body></html>",
        b"\xff\xfe\xfa not xml at all \xc3\x28",
        b"",
    ],
    ids=["html-page", "binary", "empty"],
)
def test_broken_documents_are_malformed(doc: bytes) -> None:
    with pytest.raises(MalformedFeed):
        parse_feed(doc, feed_url=FORUM_URL, now=NOW)


def test_slightly_broken_rss_is_still_read_by_the_loose_parser() -> None:
    doc = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<guid>https://example.com/nbsp</guid><title>Open&nbsp;late on Friday</title></item></channel></rss>"
    )
    assert check_xml(doc) is False  # &nbsp; is not an XML entity
    (mention,) = parse_feed(doc, feed_url=FORUM_URL, now=NOW)
    assert mention.text == "Open late on Friday"


def test_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    planted = tmp_path / "feed.xml"
    planted.write_bytes(atom(ALERTS))
    with pytest.raises(MalformedFeed):
        parse_feed(str(planted).encode(), feed_url=FORUM_URL, now=NOW)


def test_ids_longer_than_a_column_are_hashed() -> None:
    long_id = "https://example.com/" + "a" * 400
    (mention,) = parse_feed(rss([Item(id=long_id, title="x")]), feed_url=FORUM_URL, now=NOW)
    assert mention.external_id == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
