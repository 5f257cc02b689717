"""Regression tests for issue 10's findings 1 and 2 (data), written against interfaces the code had
before the fix, so each was seen to fail there (OverflowError, DataError, UnicodeEncodeError).
Finding 9's webhook part is in test_webhook.py, its card part in tests/core/test_card_fields.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from bot.models import MentionChange
from bot.platforms.bluesky.parse import parse_notification as parse_bluesky
from bot.platforms.feeds.parse import parse_feed
from bot.platforms.mastodon.parse import parse_notification as parse_mastodon
from bot.platforms.mastodon.stream import NoticeKind, SSEEvent, parse_stream_event
from bot.platforms.matrix.source import parse_mention
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from tests.core.helpers import make_service, mention

FAR = "9999-12-31T23:59:59-12:00"
STATUS = {"id": "9", "created_at": FAR, "content": "<p>hi</p>", "account": {"id": "1", "acct": "pat"}}


def test_finding_1_bluesky_far_future_created_at() -> None:
    data = {
        "uri": "at://did:plc:a/app.bsky.feed.post/1",
        "cid": "c",
        "reason": "mention",
        "author": {"did": "did:plc:a", "handle": "pat.example"},
        "record": {"text": "hi", "createdAt": FAR},
        "indexedAt": FAR,
    }
    found = parse_bluesky(data)  # raised OverflowError and ended the TaskGroup
    assert found is not None and found.created_at.tzinfo is not None


def test_finding_1_mastodon_rest_and_stream_far_future_created_at() -> None:
    found = parse_mastodon({"id": "1", "type": "mention", "status": STATUS})
    assert found is not None and found.text == "hi"
    notice = parse_stream_event(
        SSEEvent("notification", json.dumps({"id": "1", "type": "mention", "status": STATUS}))
    )
    assert notice is not None and notice.kind is NoticeKind.MENTION


def test_finding_1_matrix_origin_server_ts_out_of_range() -> None:
    event = {
        "type": "m.room.message",
        "event_id": "$e",
        "sender": "@p:hs",
        "origin_server_ts": 2**70,
        "content": {"msgtype": "m.text", "body": "@library hi"},
    }
    found = parse_mention(event, room_id="!r:hs", user_id="@library:hs", direct=False)
    assert found is not None and found.created_at.tzinfo is not None


async def test_finding_2_nul_and_a_600_character_author_are_stored(database: Database) -> None:
    service = await make_service(database)
    dirty = replace(mention(1), text="nul \x00 here", author_name="A" * 600, author_handle="@" + "h" * 600)
    assert await service.ingest("fake", dirty, None)  # PostgreSQL refused it: DataError, for ever
    assert await service.ingest("fake", mention(2), None)  # and the item after it is stored too


def test_finding_2_a_surrogate_reference_does_not_fail_the_whole_feed() -> None:
    doc = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>https://b.example/1</guid><title>bad &#xD800; entry</title></item>"
        b"<item><guid>https://b.example/2</guid><title>good entry</title></item></channel></rss>"
    )
    found = parse_feed(doc, feed_url="https://b.example/feed", now=datetime(2026, 11, 1, tzinfo=UTC))
    assert [m.external_id for m in found] == ["https://b.example/1", "https://b.example/2"]
    for item in found:
        item.text.encode("utf-8")


async def test_an_edit_with_nul_and_a_long_id_is_applied_not_fatal(database: Database) -> None:
    service = await make_service(database)
    long_id = "x" * 600
    original = replace(mention(1), external_id=long_id)
    assert await service.ingest("fake", original, None)
    await service.apply_change(
        MentionChange("fake", long_id, "edit", "", "edited \x00 words", author_only=True)
    )
    async with database.transaction() as session:
        row = (await session.execute(select(MentionRow))).scalar_one()
    assert row.text == "edited  words"  # found under its stored (hashed) id; NUL gone
