"""Hypothesis drives the Mastodon (REST and stream), Bluesky and webhook parsers with hostile payloads.

Each payload has the platform's real shape with values that are odd, out of range or the wrong type.
Every parser returns a safe mention, nothing (not a mention), or a classified refusal; never a crash.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import safe_id
from bot.platforms.bluesky.parse import parse_notification as parse_bluesky
from bot.platforms.mastodon.parse import notification_items
from bot.platforms.mastodon.parse import parse_notification as parse_mastodon
from bot.platforms.mastodon.stream import SSEEvent, StreamNotice, parse_stream_event
from bot.platforms.webhook.source import parse_webhook
from tests.core.hostile import (
    JSON,
    NOW,
    NUMBERS,
    TIMES,
    assert_safe,
    deep_json,
    field_text,
    hostile_text,
    maybe,
    parsed_or_refused,
    shaped,
)

POISON_STATUS = {
    "id": "109",
    "created_at": "9999-12-31T23:59:59-12:00",
    "content": "<p>a\u0000b\ud800</p>",
    "account": {"id": "1", "acct": "a" * 600, "display_name": "\u202eevil\nname"},
    "url": "https://social.example/@p/1\nfake line",
}
POISON_MASTODON = {"id": "1", "type": "mention", "status": POISON_STATUS}
POISON_BLUESKY = {
    "uri": "at://did:plc:abc/app.bsky.feed.post/1",
    "cid": "c",
    "reason": "mention",
    "author": {"did": "did:plc:abc", "handle": "h\u0000", "displayName": "x" * 700},
    "record": {"text": "\ud800hi", "createdAt": "9999-12-31T23:59:59-12:00", "facets": [{"index": 5}]},
}
POISON_WEBHOOK = {
    "id": "1",
    "text": "a\u0000",
    "created_at": "1970-01-01T00:00:00Z",
    "author": {"name": "x\n"},
}

IDS = st.one_of(st.from_regex(r"\A[0-9]{1,20}\Z"), NUMBERS, field_text())
VISIBILITY = st.sampled_from(["public", "unlisted", "private", "direct", "limited", ""])
URLS = st.one_of(hostile_text().map(lambda s: "https://social.example/@p/" + s), field_text())


def mastodon_account() -> st.SearchStrategy[dict[str, Any]]:
    return shaped(
        {"id": IDS, "acct": field_text(), "username": field_text(), "display_name": field_text(), "url": URLS}
    )


def mastodon_status() -> st.SearchStrategy[dict[str, Any]]:
    return shaped(
        {
            "id": IDS,
            "created_at": TIMES,
            "content": field_text().map(lambda s: f"<p>{s}</p>"),
            "url": URLS,
            "uri": URLS,
            "visibility": VISIBILITY,
            "spoiler_text": field_text(),
            "language": field_text(),
            "account": mastodon_account(),
            "mentions": st.lists(shaped({"id": IDS, "acct": field_text()}), max_size=3),
        }
    )


def mastodon_notification() -> st.SearchStrategy[dict[str, Any]]:
    return shaped(
        {
            "id": IDS,
            "type": st.sampled_from(["mention", "mention", "favourite"]),
            "created_at": TIMES,
            "account": mastodon_account(),
            "status": st.one_of(mastodon_status(), st.none()),
        }
    )


def check(result: Any) -> None:
    if result is not None:
        assert_safe(result)


@settings(max_examples=200, deadline=None)
@given(maybe(mastodon_notification()))
@example(POISON_MASTODON)
def test_mastodon_rest_notifications(data: Any) -> None:
    check(parsed_or_refused(lambda: parse_mastodon(data, local_domain="social.example", now=NOW)))


@settings(max_examples=50, deadline=None)
@given(st.lists(maybe(mastodon_notification()), max_size=5))
@example([POISON_MASTODON, {"id": "2", "type": "mention", "status": {}}])
@example([{"id": "9\ud800\n", "type": "mention", "status": {}}, {"id": "x" * 5000, "type": "mention"}])
def test_mastodon_rest_pages_never_raise(page: list[Any]) -> None:
    for mention, nid in notification_items(page, local_domain="social.example", now=NOW):
        check(mention)
        # the id becomes the stored cursor, the next request's min_id and a log argument
        assert isinstance(nid, str) and nid and safe_id(nid) == nid


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["notification", "status.update", "delete", "update"]),
    st.one_of(
        maybe(mastodon_notification()).map(json.dumps),
        mastodon_status().map(json.dumps),
        hostile_text(),
        st.just(deep_json()),
    ),
)
@example("notification", json.dumps(POISON_MASTODON))
@example("status.update", json.dumps(POISON_STATUS))
@example("notification", deep_json())
def test_mastodon_stream_events_never_raise(kind: str, data: str) -> None:
    notice = parse_stream_event(SSEEvent(kind, data), local_domain="social.example", own_id="", now=NOW)
    assert notice is None or isinstance(notice, StreamNotice)
    if notice is not None:
        check(notice.mention)


def bluesky_notification() -> st.SearchStrategy[dict[str, Any]]:
    facet = shaped(
        {
            "index": shaped({"byteStart": NUMBERS, "byteEnd": NUMBERS}),
            "features": st.lists(
                shaped({"$type": st.just("app.bsky.richtext.facet#link"), "uri": URLS}), max_size=2
            ),
        }
    )
    record = shaped(
        {
            "$type": st.just("app.bsky.feed.post"),
            "text": field_text(),
            "createdAt": TIMES,
            "langs": st.lists(field_text(), max_size=2),
            "facets": st.lists(facet, max_size=3),
            "labels": shaped({"values": st.lists(shaped({"val": field_text()}), max_size=2)}),
            "reply": shaped({"root": shaped({"uri": field_text(), "cid": field_text()})}),
        }
    )
    return shaped(
        {
            "uri": hostile_text().map(lambda s: "at://did:plc:abc/app.bsky.feed.post/" + s),
            "cid": field_text(),
            "author": shaped({"did": field_text(), "handle": field_text(), "displayName": field_text()}),
            "reason": st.sampled_from(["mention", "reply", "quote", "like"]),
            "record": record,
            "indexedAt": TIMES,
            "labels": st.lists(shaped({"val": field_text()}), max_size=2),
        }
    )


@settings(max_examples=200, deadline=None)
@given(maybe(bluesky_notification()))
@example(POISON_BLUESKY)
def test_bluesky_notifications(data: Any) -> None:
    check(parsed_or_refused(lambda: parse_bluesky(data, own_did="did:plc:library", now=NOW)))


def webhook_body() -> st.SearchStrategy[dict[str, Any]]:
    return shaped(
        {
            "id": IDS,
            "text": field_text(),
            "author": shaped({"id": IDS, "handle": field_text(), "name": field_text()}),
            "source_name": st.one_of(st.from_regex(r"\A[A-Za-z0-9_.-]{1,40}\Z"), field_text()),
            "url": URLS,
            "created_at": TIMES,
            "visibility": VISIBILITY,
            "lang": field_text(),
        }
    )


@settings(max_examples=200, deadline=None)
@given(st.one_of(webhook_body(), JSON))
@example(POISON_WEBHOOK)
@example(POISON_WEBHOOK | {"created_at": "9999-12-31T23:59:59-12:00"})
def test_webhook_bodies(payload: Any) -> None:
    check(parsed_or_refused(lambda: parse_webhook(payload, now=NOW)))
