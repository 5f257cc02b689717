"""Bluesky parsers and facets against the recorded payloads (../shared/reference-payloads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.bluesky.facets import (
    LINK,
    MENTION,
    TAG,
    TID_PATTERN,
    Facet,
    detect_spans,
    expand_links,
    facet_records,
    tid_for,
    valid_facets,
)
from bot.platforms.bluesky.parse import (
    Position,
    dump_cursor,
    load_cursor,
    parse_notification,
    parse_reply_ref,
    reached,
    reply_record,
)

from .conftest import REFERENCE

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reference(name: str) -> Any:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip("reference payloads not available")
    return json.loads(path.read_text())


def test_list_notifications_extract() -> None:
    [item] = reference("bluesky_listNotifications_mention.json")["notifications"]
    mention = parse_notification(item)
    assert mention is not None
    assert mention.external_id == "at://did:plc:n5o2wksggcs653t3seg5eu6b/app.bsky.feed.post/3kaqpcklzqg2x"
    assert mention.url == "https://bsky.app/profile/user/post/3kaqpcklzqg2x"
    assert mention.author_id == "did:plc:n5o2wksggcs653t3seg5eu6b" and mention.author_name == "User"
    assert mention.lang == "en" and mention.created_at == datetime(2023, 10, 2, 5, 47, 58, 2000, tzinfo=UTC)
    [facet] = valid_facets(item["record"]["text"], item["record"]["facets"])
    assert facet == Facet(54, 76, MENTION, "did:plc:dww4ffboffsw3gk7ph4fizpc")
    assert item["record"]["text"].encode()[54:76] == b"@metricbot.bsky.social"
    target = parse_reply_ref(mention.reply_ref)
    assert (
        target.root == target.parent and target.parent.cid == item["cid"]
    )  # a top-level post is its own root


def test_mention_in_a_thread_keeps_the_thread_root() -> None:
    item = reference("bluesky_notification_mention_in_reply_thread.json")
    mention = parse_notification(item)
    assert mention is not None and mention.text == "@metricbot.bsky.social convert please!"
    target = parse_reply_ref(mention.reply_ref)
    assert target.parent.uri == item["uri"] and target.parent.cid == item["cid"]
    assert target.root.uri == item["record"]["reply"]["root"]["uri"]
    assert target.root.cid == item["record"]["reply"]["root"]["cid"]


def test_indigo_records_with_invalid_facet_ranges_never_crash() -> None:
    fixtures = reference("bluesky_post_records_facets_selflabels_reply_quote.json")
    for n, fixture in enumerate(fixtures):
        item = {
            "uri": f"at://{fixture['did']}/app.bsky.feed.post/{fixture['rkey']}",
            "cid": fixture["cid"],
            "author": {"did": fixture["did"], "handle": fixture["handle"]},
            "reason": "mention",
            "record": fixture["PostRecord"],
            "indexedAt": "2023-08-07T05:46:14.423Z",
        }
        mention = parse_notification(item)
        assert mention is not None, n
        assert mention.text == fixture["PostRecord"]["text"]  # nothing spliced in from a bad facet
    record = fixtures[1]["PostRecord"]
    # byteStart 23..35 is "me #hashtags" (no @), 74..108 runs past the 77-byte text, 21..25 lacks the '#'
    assert valid_facets(record["text"], record["facets"]) == []
    labelled = parse_notification({**item, "record": record})
    assert labelled is not None and labelled.content_warning == "nudity"  # self-label shown as a warning
    assert parse_reply_ref(labelled.reply_ref).root.uri.endswith("/3k43tv4rft22g")


def test_facets_cutting_a_character_or_overlapping_are_dropped() -> None:
    text = "é @a.bsky.social https://x.org"
    raw = text.encode()
    at = raw.index(b"@")
    link = raw.index(b"https")
    facets = [
        {
            "index": {"byteStart": 1, "byteEnd": 4},
            "features": [{"$type": MENTION, "did": "did:plc:x"}],
        },  # mid-é
        {
            "index": {"byteStart": at, "byteEnd": at + 15},
            "features": [{"$type": MENTION, "did": "did:plc:a"}],
        },
        {
            "index": {"byteStart": at, "byteEnd": at + 2},
            "features": [{"$type": MENTION, "did": "did:plc:b"}],
        },  # overlap
        {
            "index": {"byteStart": link, "byteEnd": len(raw)},
            "features": [{"$type": LINK, "uri": "javascript:x"}],
        },
        {"index": {"byteStart": "0", "byteEnd": 3}, "features": [{"$type": TAG, "tag": "x"}]},
        {"index": {"byteStart": True, "byteEnd": 3}, "features": [{"$type": TAG, "tag": "x"}]},
        "garbage",
    ]
    assert valid_facets(text, facets) == [Facet(at, at + 15, MENTION, "did:plc:a")]
    assert valid_facets(text, "not a list") == []


def test_shortened_links_show_their_real_address() -> None:
    text = "read bsky.app/profile/x/po... or this"
    start = text.encode().index(b"bsky")
    end = start + len("bsky.app/profile/x/po...")
    uri = "https://bsky.app/profile/x/post/3k"
    facets = [{"index": {"byteStart": start, "byteEnd": end}, "features": [{"$type": LINK, "uri": uri}]}]
    assert expand_links(text, valid_facets(text, facets)) == f"read {uri} or this"
    tail = text.encode().index(b"this")
    other = [
        {
            "index": {"byteStart": tail, "byteEnd": tail + 4},
            "features": [{"$type": LINK, "uri": "https://e.x/"}],
        }
    ]
    assert expand_links(text, valid_facets(text, other)).endswith("this (https://e.x/)")


@given(st.text(max_size=40), st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60)), max_size=6))
def test_valid_facets_never_raise_and_stay_in_bounds(text: str, ranges: list[tuple[int, int]]) -> None:
    facets = [
        {"index": {"byteStart": a, "byteEnd": b}, "features": [{"$type": LINK, "uri": "https://x.org"}]}
        for a, b in ranges
    ]
    raw = text.encode()
    for facet in valid_facets(text, facets):
        assert 0 <= facet.byte_start < facet.byte_end <= len(raw)
        raw[facet.byte_start : facet.byte_end].decode()
    expand_links(text, valid_facets(text, facets))


def test_outgoing_facets_use_utf8_byte_offsets() -> None:
    text = "Hi 👋🏽 @reader.example.net, see https://library.example/hours. Thanks (@x.y.z)"
    spans = detect_spans(text)
    raw = text.encode()
    assert [(s.kind, raw[s.byte_start : s.byte_end].decode()) for s in spans] == [
        (MENTION, "@reader.example.net"),
        (LINK, "https://library.example/hours"),
        (MENTION, "@x.y.z"),
    ]
    records = facet_records(spans, {"reader.example.net": "did:plc:reader"})
    assert [r["features"][0] for r in records] == [
        {"$type": MENTION, "did": "did:plc:reader"},
        {"$type": LINK, "uri": "https://library.example/hours"},
    ]  # @x.y.z did not resolve: plain text, no facet


@given(st.text(max_size=60))
def test_detected_spans_always_slice_cleanly(text: str) -> None:
    raw = text.encode()
    for span in detect_spans(text):
        piece = raw[span.byte_start : span.byte_end].decode()
        assert piece.startswith("@") if span.kind == MENTION else piece == span.value


def test_tid_keys_are_valid_and_deterministic() -> None:
    first = tid_for("reply:7:3", anchor=NOW)
    assert TID_PATTERN.match(first)
    assert first == tid_for("reply:7:3", anchor=NOW)
    assert first == tid_for("reply:7:3", anchor=NOW.replace(tzinfo=None))  # naive times are UTC
    assert first != tid_for("reply:7:4", anchor=NOW)


def test_reply_record_shape() -> None:
    item = reference("bluesky_notification_mention_in_reply_thread.json")
    mention = parse_notification(item)
    assert mention is not None
    record = reply_record(parse_reply_ref(mention.reply_ref), "Done!", [], now=NOW)
    assert record == {
        "$type": "app.bsky.feed.post",
        "text": "Done!",
        "createdAt": "2026-03-01T12:00:00.000Z",
        "reply": {
            "root": item["record"]["reply"]["root"],
            "parent": {"uri": item["uri"], "cid": item["cid"]},
        },
    }


def test_notifications_we_do_not_want() -> None:
    base = reference("bluesky_notification_mention_in_reply_thread.json")
    assert parse_notification({**base, "reason": "like"}) is None
    assert parse_notification(base, own_did=base["author"]["did"]) is None  # our own post
    assert parse_notification({**base, "record": {**base["record"], "$type": "app.bsky.feed.like"}}) is None
    with pytest.raises(ValueError, match="uri"):
        parse_notification({**base, "cid": None})
    with pytest.raises(ValueError, match="record"):
        parse_notification({**base, "record": None})


def test_position_and_cursor() -> None:
    position = Position("at://a/app.bsky.feed.post/2", "2026-03-01T12:00:07.000Z")
    assert load_cursor(dump_cursor(position)) == (True, position)
    assert load_cursor("{}") == (False, Position())
    assert reached({"uri": position.uri, "indexedAt": "2030-01-01T00:00:00Z"}, position)
    assert reached({"uri": "at://other", "indexedAt": "2026-03-01T12:00:00Z"}, position)  # older
    assert not reached(
        {"uri": "at://other", "indexedAt": "2026-03-01T12:00:07.000Z"}, position
    )  # same instant
    assert not reached({"uri": "at://x", "indexedAt": "2026-03-01T12:00:00Z"}, Position())
