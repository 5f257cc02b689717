"""The Bluesky source against the loopback XRPC server: session, paging, resume, failures, replies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.models import Mention
from bot.platforms.bluesky.facets import TID_PATTERN
from bot.platforms.bluesky.source import BlueskySource
from tests.fakes.bluesky import DID, FakeBluesky, did_for
from tests.fakes.loopback import BAD_BYTES

from .conftest import MemoryStore, Pump, wait_until

Make = Callable[..., Awaitable[BlueskySource]]
Pumps = Callable[..., Pump]


def position(store: MemoryStore) -> str | None:
    assert store.cursor is not None
    return json.loads(store.cursor)["uri"]


async def started(make_bluesky: Make, pumps: Pumps, store: MemoryStore, **options: object) -> Pump:
    pump = pumps(await make_bluesky(**options), store)
    await wait_until(lambda: store.cursor is not None)
    return pump


async def test_first_start_without_backfill_then_new_posts(
    bluesky: FakeBluesky, make_bluesky: Make, pumps: Pumps
) -> None:
    old = [bluesky.add_post(f"old {n}") for n in range(3)]
    store = MemoryStore()
    await started(make_bluesky, pumps, store)
    assert store.mentions == {} and position(store) == old[-1]["uri"]
    bluesky.add_post("new", reason="reply")
    bluesky.add_post("liked", reason="like")
    bluesky.add_post("quoted", reason="quote")
    await wait_until(lambda: len(store.mentions) == 2)
    assert store.texts() == ["new", "quoted"]


async def test_short_pages_with_a_cursor_are_followed_to_the_last_item(
    bluesky: FakeBluesky, make_bluesky: Make, pumps: Pumps
) -> None:
    bluesky.add_post("before")
    store = MemoryStore()
    first = await started(make_bluesky, pumps, store)
    await first.kill()
    posts = [bluesky.add_post(f"p{n}") for n in range(8)]
    bluesky.short_pages = True  # pages of 0, 1 or 2 items while a cursor remains
    pumps(await make_bluesky(), store)
    await wait_until(lambda: len(store.mentions) == 8 and position(store) == posts[-1]["uri"])
    assert store.texts() == [f"p{n}" for n in range(8)]  # oldest first, none skipped
    assert any(not h.query.get("cursor") for h in bluesky.hits_for("listNotifications"))
    assert {h.query["priority"][0] for h in bluesky.hits_for("listNotifications")} == {"false"}
    assert bluesky.hits_for("listNotifications")[-1].query["reasons"] == ["mention", "reply", "quote"]


@pytest.mark.parametrize("stop_after", [1, 3, 6])
async def test_kill_mid_catch_up_and_resume(
    bluesky: FakeBluesky, make_bluesky: Make, pumps: Pumps, stop_after: int
) -> None:
    store = MemoryStore()
    await (await started(make_bluesky, pumps, store)).kill()
    bluesky.filter_reasons = False  # an AppView that ignores `reasons`: the client filters
    for n in range(7):
        bluesky.add_post(f"p{n}", reason="like" if n == 2 else "mention")
    await pumps(await make_bluesky(page_limit=2), store, stop_after=stop_after).task
    pumps(await make_bluesky(page_limit=2), store)
    await wait_until(lambda: len(store.mentions) == 6)
    await wait_until(lambda: position(store) == bluesky.state.notifications[-1]["uri"])
    assert store.texts() == ["p0", "p1", "p3", "p4", "p5", "p6"]


async def test_one_session_across_polls_refreshed_on_expiry(
    bluesky: FakeBluesky, make_bluesky: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    adapter = await make_bluesky()
    pumps(adapter, store)
    await wait_until(lambda: len(bluesky.hits_for("listNotifications")) >= 10)
    assert bluesky.state.sessions == 1 and bluesky.state.refreshes == 0
    bluesky.expire_access()
    bluesky.add_post("after expiry")
    await wait_until(lambda: store.mentions)
    assert (bluesky.state.sessions, bluesky.state.refreshes) == (1, 1)
    bluesky.expire_refresh()  # a dead refresh token: only then log in again
    bluesky.add_post("after refresh expiry")
    await wait_until(lambda: len(store.mentions) == 2)
    assert bluesky.state.sessions == 2 and adapter.session.logins == 2


async def test_wrong_app_password_is_a_config_error(bluesky: FakeBluesky, make_bluesky: Make) -> None:
    with pytest.raises(AdapterConfigError):
        await make_bluesky(password="wrong")
    assert bluesky.state.sessions == 0


async def test_revoked_app_password_stops_the_source(bluesky: FakeBluesky, make_bluesky: Make) -> None:
    adapter = await make_bluesky()
    items = adapter.mentions(None)
    await anext(items)
    bluesky.password = "revoked"
    bluesky.expire_refresh()
    with pytest.raises(AdapterConfigError):  # the app logs it and stops this source only
        await anext(items)
    assert bluesky.state.sessions == 1


async def test_rate_limits_outages_and_bad_bodies_are_survived(
    bluesky: FakeBluesky, make_bluesky: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    await started(make_bluesky, pumps, store)
    reset = str(int(datetime.now(UTC).timestamp()) + 2)  # 1 to 2 s from now
    bluesky.inject("listNotifications", 429, body='{"error":"RateLimitExceeded"}', RateLimit_Reset=reset)
    bluesky.inject("listNotifications", 502, times=2)
    bluesky.inject("listNotifications", 200, body=b'{"notifications": [')
    bluesky.add_post("one")
    bluesky.add_post(f"two {BAD_BYTES}")
    bluesky.add_post(
        "three", facets=[{"index": {"byteStart": 3, "byteEnd": 999}, "features": [{"$type": 1}]}]
    )
    broken = bluesky.add_post("four")
    broken["author"] = {"handle": "no-did"}  # malformed: skipped, cursor still moves past it
    bluesky.add_post("five")
    await wait_until(lambda: len(store.mentions) == 4, seconds=15)
    assert store.texts() == ["one", "two \ufffd\ufffd", "three", "five"]
    hits = bluesky.hits_for("listNotifications")
    limited = next(n for n, hit in enumerate(hits) if hit.fault == 429)
    assert [hit.fault for hit in hits[limited : limited + 4]] == [429, 502, 502, 200]
    assert hits[limited + 1].at - hits[limited].at >= 0.9  # waited for RateLimit-Reset


async def test_reply_threads_with_strong_refs_and_byte_facets(
    bluesky: FakeBluesky, make_bluesky: Make
) -> None:
    adapter = await make_bluesky()
    root = {"uri": f"at://{did_for('op.example')}/app.bsky.feed.post/3kroot", "cid": "bafyreiroot"}
    bluesky.add_post("@library.example.org hello 👋🏽", reply={"root": root, "parent": root})
    bluesky.state.handles["helper.example.org"] = "did:plc:helper"
    mention = await _only_mention(adapter)
    text = "Ça va 👋🏽 @helper.example.org can help: https://library.example/hours. Ask @nobody.example.org"
    ref = await adapter.reply(mention, text, idempotency_key="reply:1:2")
    [created] = bluesky.state.creates
    record = created["record"]
    assert record["reply"] == {
        "root": root,
        "parent": {"uri": mention.external_id, "cid": bluesky.state.notifications[0]["cid"]},
    }
    raw = record["text"].encode()
    assert [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ] == [
        ("@helper.example.org", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:helper"}),
        (
            "https://library.example/hours",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://library.example/hours"},
        ),
    ]  # the unresolvable handle stays plain text
    assert TID_PATTERN.match(created["rkey"]) and created["repo"] == DID
    assert ref.external_id == f"at://{DID}/app.bsky.feed.post/{created['rkey']}"
    assert ref.url == f"https://bsky.app/profile/library.example.org/post/{created['rkey']}"


async def test_reply_is_published_exactly_once_across_retries(
    bluesky: FakeBluesky, make_bluesky: Make
) -> None:
    adapter = await make_bluesky()
    bluesky.add_post("question")
    mention = await _only_mention(adapter)
    bluesky.lose_create_response = 1  # created, but the answer is lost: the retry must find it
    first = await adapter.reply(mention, "answer", idempotency_key="reply:4:1")
    again = await adapter.reply(mention, "answer", idempotency_key="reply:4:1")  # e.g. after a crash
    assert len(bluesky.state.records) == 1 and first == again
    assert len(bluesky.state.creates) == 2  # the second create collided (HTTP 500) and was looked up
    other = await adapter.reply(mention, "another answer", idempotency_key="reply:4:2")
    assert len(bluesky.state.records) == 2 and other != first


async def test_reply_limits_and_errors(bluesky: FakeBluesky, make_bluesky: Make) -> None:
    adapter = await make_bluesky()
    bluesky.add_post("question")
    mention = await _only_mention(adapter)
    assert adapter.reply_limit(mention) == 300
    with pytest.raises(PermanentError, match="301"):
        await adapter.reply(mention, "a" * 301, idempotency_key="k1")
    with pytest.raises(PermanentError, match="bytes"):
        await adapter.reply(mention, "👩‍👩‍👧‍👦" * 150, idempotency_key="k2")  # 150 graphemes, 3,750 bytes
    assert bluesky.state.creates == []
    await adapter.reply(mention, "👋🏽" * 300, idempotency_key="k3")  # 300 graphemes (600 code points)
    bluesky.inject("createRecord", 502)
    with pytest.raises(TransientError):
        await adapter.reply(mention, "ok", idempotency_key="k5")  # not created: the lookup finds nothing
    bluesky.inject("createRecord", 400, body='{"error":"InvalidRequest","message":"nope"}')
    with pytest.raises(PermanentError):
        await adapter.reply(mention, "ok", idempotency_key="k6")
    bluesky.inject("createRecord", 429, body='{"error":"RateLimitExceeded"}', Retry_After="30")
    with pytest.raises(RateLimited) as limited:
        await adapter.reply(mention, "ok", idempotency_key="k4")
    assert limited.value.retry_after == 30
    creates = len(bluesky.hits_for("createRecord"))
    with pytest.raises(RateLimited):  # the next reply waits out the 30 s too, without a request
        await adapter.reply(mention, "ok", idempotency_key="k7")
    assert len(bluesky.hits_for("createRecord")) == creates
    assert len(bluesky.state.records) == 1


async def _only_mention(adapter: BlueskySource) -> Mention:
    items = adapter.mentions(json.dumps({"uri": None, "indexed_at": None}))
    mention, _ = await anext(items)
    await items.aclose()
    assert mention is not None
    return mention
