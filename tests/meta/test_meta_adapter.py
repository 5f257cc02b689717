"""The Facebook and Instagram sources against the loopback Graph API: polling with cursor paging and
catch-up after downtime (nothing lost, nothing twice), replies on the right endpoint and parent,
private replies once, Instagram's top-level rule and mentions, and ``check --connect``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import PermanentError, TransientError
from bot.models import Mention, MentionChange, Visibility
from bot.platforms.facebook.source import FacebookSource
from bot.platforms.instagram.parse import NESTED
from bot.platforms.instagram.source import InstagramSource
from bot.platforms.meta.poll import load_cursor
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph, signed_post
from tests.social.conftest import MemoryStore, Pump, wait_until

MakeFacebook = Callable[..., Awaitable[FacebookSource]]
MakeInstagram = Callable[..., Awaitable[InstagramSource]]


async def test_first_start_records_now_and_skips_older_comments(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    post = graph.add_post()
    graph.add_comment(
        post["id"], "from before the first start", created=datetime.now(UTC) - timedelta(hours=1)
    )
    store = MemoryStore()
    pump = Pump(await make_facebook(), store)
    try:
        await wait_until(lambda: store.cursor is not None and len(graph.hits_for("comments")) >= 1)
        graph.add_comment(post["id"], "Are you open on Monday?")
        await wait_until(lambda: store.texts())
    finally:
        await pump.kill()
    assert store.texts() == ["Are you open on Monday?"]
    assert load_cursor(store.cursor)[0]


async def test_backfill_takes_the_comments_already_there(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    post = graph.add_post()
    for n in range(3):
        graph.add_comment(post["id"], f"old {n}", created=datetime.now(UTC) - timedelta(days=2, minutes=n))
    store = MemoryStore()
    pump = Pump(await make_facebook(backfill=True), store)
    try:
        await wait_until(lambda: len(store.texts()) == 3)
    finally:
        await pump.kill()
    assert store.order[0] != store.order[-1] and sorted(store.texts()) == ["old 0", "old 1", "old 2"]


async def test_catch_up_after_downtime_pages_and_delivers_each_comment_once(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    posts = [graph.add_post(f"post {n}") for n in range(3)]
    store = MemoryStore()
    pump = Pump(await make_facebook(page_limit=4), store)
    await wait_until(lambda: store.cursor is not None and graph.hits_for("comments"))
    graph.add_comment(posts[0]["id"], "while up")
    await wait_until(lambda: "while up" in store.texts())
    await pump.kill()  # the bot is down
    expected = {"while up"}
    for n in range(15):  # more than a page on each post, replies among them
        post = posts[n % 3]["id"]
        parent = next(
            (c["id"] for c in graph.state.comments.values() if c["post_id"] == post and not c["parent_id"]),
            None,
        )
        graph.add_comment(post, f"down {n}", parent_id=parent if n % 4 == 0 else None)
        expected.add(f"down {n}")
    crashing = Pump(await make_facebook(page_limit=4), store, stop_after=5)  # dies after five commits
    await wait_until(lambda: crashing.task.done())
    pump = Pump(await make_facebook(page_limit=4), store)  # and starts again from the stored cursor
    try:
        await wait_until(lambda: set(store.texts()) == expected)
    finally:
        await pump.kill()
    assert sorted(store.texts()) == sorted(expected)  # each once: the store keeps one per id
    assert len(store.order) == len(expected)
    assert any("after" in hit.query for hit in graph.hits_for("comments"))  # followed cursor paging
    assert all(hit.query.get("filter") == ["stream"] for hit in graph.hits_for("comments"))


async def test_an_outage_delays_polling_and_loses_nothing(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    post = graph.add_post()
    store = MemoryStore()
    pump = Pump(await make_facebook(), store)
    try:
        await wait_until(lambda: graph.hits_for("comments"))
        graph.inject("comments", 500, body=fake.error_body(2, "Service temporarily unavailable"), times=3)
        graph.inject("posts", 200, body="<html>not json</html>")
        graph.add_comment(post["id"], "during the outage")
        await wait_until(lambda: "during the outage" in store.texts())
    finally:
        await pump.kill()
    assert store.texts().count("during the outage") == 1


async def test_a_server_repeating_its_after_cursor_cannot_loop_the_poll(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    post = graph.add_post()
    stuck = {
        "data": [{"id": "1_2", "message": "same page", "created_time": "2026-01-01T00:00:00+0000"}],
        "paging": {
            "cursors": {"after": "QVFIU"},
            "next": f"{graph.base}/{fake.VERSION}/{post['id']}/comments?after=QVFIU",
        },
    }
    graph.inject("comments", 200, body=json.dumps(stuck), times=50)
    source = await make_facebook(backfill=True)
    found = await source.poll_once(None)
    assert len(graph.hits_for("comments")) == 2  # the first page, then the repeated cursor: stop
    assert [m.external_id for m in found] == ["1_2", "1_2"]  # a repeat is a no-op in ingest


async def test_public_reply_goes_under_the_thread(graph: FakeGraph, make_facebook: MakeFacebook) -> None:
    source = await make_facebook(backfill=True)
    post = graph.add_post()
    top = graph.add_comment(post["id"], "top-level question")
    nested = graph.add_comment(post["id"], "a reply in the thread", parent_id=top["id"])
    found = {m.text: m for m in await source.poll_once(None)}
    ref = await source.reply(found["a reply in the thread"], "Yes, we are open.", idempotency_key="k1")
    await source.reply(found["top-level question"], "From 9 to 5.", idempotency_key="k2")
    assert [(c["parent"], c["message"]) for c in graph.state.created] == [
        (top["id"], "Yes, we are open."),  # the thread's top comment, not the nested one
        (top["id"], "From 9 to 5."),
    ]
    assert ref.external_id == graph.state.created[0]["id"]
    assert nested["id"] != top["id"]


async def test_a_lost_reply_response_is_reconciled_not_posted_twice(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    source = await make_facebook(backfill=True)
    post = graph.add_post()
    graph.add_comment(post["id"], "question")
    [mention] = await source.poll_once(None)
    graph.lose_create_response = 1
    with pytest.raises(TransientError):
        await source.reply(mention, "Answer", idempotency_key="same")
    await source.reply(mention, "Answer", idempotency_key="same")  # the relay's retry
    assert len(graph.state.created) == 1


async def test_a_reply_published_before_a_crash_is_not_published_again(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    before = await make_facebook(backfill=True)
    post = graph.add_post()
    graph.add_comment(post["id"], "question")
    [mention] = await before.poll_once(None)
    graph.lose_create_response = 1
    with pytest.raises(TransientError):
        await before.reply(mention, "Answer", idempotency_key="row-7")
    after = await make_facebook()  # a new process: it never saw the first attempt
    ref = await after.reply(mention, "Answer", idempotency_key="row-7")
    assert len(graph.state.created) == 1 and ref.external_id == graph.state.created[0]["id"]


async def test_private_reply_reaches_messenger_once(graph: FakeGraph, make_facebook: MakeFacebook) -> None:
    source = await make_facebook(backfill=True)
    post = graph.add_post()
    comment = graph.add_comment(post["id"], "My library card PIN does not work")
    [mention] = await source.poll_once(None)
    private = Mention(**{**_fields(mention), "visibility": Visibility.DIRECT})
    graph.lose_create_response = 1
    with pytest.raises(TransientError):
        await source.reply(private, "We sent you a message.", idempotency_key="p1")
    ref = await source.reply(private, "We sent you a message.", idempotency_key="p1")  # retried
    assert graph.state.messages == [
        {"recipient": {"comment_id": comment["id"]}, "message": {"text": "We sent you a message."}}
    ]
    assert graph.state.created == [] and ref.external_id
    with pytest.raises(PermanentError):  # another key: Meta refuses a second private reply
        await source.reply(private, "Again", idempotency_key="p2")


async def test_webhook_comment_edit_and_hide_reach_ingest_and_changes(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    store, changes = MemoryStore(), []

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        return await store.ingest("facebook", mention, cursor)

    async def on_change(change: MentionChange) -> None:
        changes.append(change)

    source = await make_facebook(webhook=True, ingest=ingest, on_change=on_change)
    post = graph.add_post()
    comment = graph.add_comment(post["id"], "Is the makerspace open?")
    await source.deliver(graph.feed_webhook(comment))
    comment["message"] = "Is the makerspace open today?"
    await source.deliver(graph.feed_webhook(comment, "edited"))
    await source.deliver(graph.feed_webhook(comment, "hide"))
    own = graph.add_comment(post["id"], "our answer", author={"id": fake.PAGE_ID, "name": fake.PAGE_NAME})
    await source.deliver(graph.feed_webhook(own))
    assert store.texts() == ["Is the makerspace open?"]
    assert [(c.kind, c.text) for c in changes] == [
        ("edit", "Is the makerspace open today?"),
        ("withdraw", ""),
    ]


async def test_check_names_the_page_and_missing_permissions(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    graph.scopes = ["pages_read_engagement"]
    line = await (await make_facebook()).check()
    assert fake.PAGE_NAME in line
    assert "missing permissions: pages_manage_engagement, pages_manage_metadata, pages_messaging" in line


# --- Instagram ---------------------------------------------------------------------------------


async def test_instagram_polls_comments_and_replies_but_not_its_own(
    graph: FakeGraph, make_instagram: MakeInstagram
) -> None:
    media = graph.add_media()
    store = MemoryStore()
    pump = Pump(await make_instagram(), store)
    try:
        await wait_until(lambda: store.cursor is not None and graph.hits_for("ig_comments"))
        top = graph.add_ig_comment(media["id"], "Large print?")
        graph.add_ig_comment(media["id"], "me too", parent_id=top["id"])
        graph.add_ig_comment(media["id"], "our own", username=fake.IG_USERNAME)
        await wait_until(lambda: len(store.texts()) == 2)
    finally:
        await pump.kill()
    assert sorted(store.texts()) == ["Large print?", "me too"]


async def test_instagram_replies_to_top_level_comments_only(
    graph: FakeGraph, make_instagram: MakeInstagram
) -> None:
    source = await make_instagram(backfill=True)
    media = graph.add_media()
    top = graph.add_ig_comment(media["id"], "Large print?")
    graph.add_ig_comment(media["id"], "nested one", parent_id=top["id"])
    found = {m.text: m for m in await source.poll_once(None)}
    with pytest.raises(PermanentError) as refused:
        source.validate_reply(found["nested one"], "Yes")
    assert str(refused.value) == NESTED
    await source.reply(found["Large print?"], "Yes, shelf 3.", idempotency_key="i1")
    assert graph.state.created == [
        {
            "id": graph.state.created[0]["id"],
            "edge": "replies",
            "parent": top["id"],
            "message": "Yes, shelf 3.",
        }
    ]


async def test_instagram_mentions_are_looked_up_and_answered_on_the_mentions_edge(
    graph: FakeGraph, make_instagram: MakeInstagram
) -> None:
    store = MemoryStore()

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        return await store.ingest("instagram", mention, cursor)

    source = await make_instagram(webhook=True, ingest=ingest)
    in_comment = graph.add_elsewhere("@riverside_library do you have Dune?")
    in_caption = graph.add_elsewhere("Reading at @riverside_library", caption=True)
    await source.deliver(graph.mentions_webhook(in_comment))
    await source.deliver(graph.mentions_webhook(in_caption))
    assert sorted(store.texts()) == ["@riverside_library do you have Dune?", "Reading at @riverside_library"]
    assert len(graph.hits_for("lookup")) == 2
    mention = store.mentions[("instagram", in_comment["comment_id"])]
    await source.reply(mention, "Yes, two copies.", idempotency_key="m1")
    [made] = graph.state.created
    assert made["edge"] == "mentions" and made["comment_id"] == in_comment["comment_id"]
    assert made["media_id"] == in_comment["media_id"] and made["message"] == "Yes, two copies."


async def test_instagram_webhook_through_the_signed_endpoint(
    graph: FakeGraph, make_instagram: MakeInstagram
) -> None:
    from tests.meta.test_meta_webhook import Host

    store = MemoryStore()

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        return await store.ingest("instagram", mention, cursor)

    source = await make_instagram(webhook=True, ingest=ingest)
    assert source.endpoint is not None
    media = graph.add_media()
    comment = graph.add_ig_comment(media["id"], "When is story time?")
    async with Host(source.endpoint) as host:
        url = f"{host.origin}{source.webhook_path}"
        wrong = await signed_post(url, graph.ig_webhook(comment), secret="not-the-secret")
        right = await signed_post(url, graph.ig_webhook(comment))
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert store.texts() == ["When is story time?"]


def _fields(mention: Mention) -> dict[str, object]:
    return {name: getattr(mention, name) for name, f in Mention.__dataclass_fields__.items() if f.init}


async def test_polling_also_finds_posts_that_tag_the_page(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    graph.add_tagged("old tag", author={"id": "7", "name": "Old"})["created_time"] = (
        "2020-01-01T00:00:00+0000"
    )
    store = MemoryStore()
    pump = Pump(await make_facebook(), store)
    try:
        await wait_until(lambda: store.cursor is not None and graph.hits_for("tagged"))
        post = graph.add_tagged("Story time at @Riverside Public Library was great")
        await wait_until(lambda: store.texts())
    finally:
        await pump.kill()
    assert store.texts() == ["Story time at @Riverside Public Library was great"]
    source = await make_facebook()
    [mention] = [m for m in await source.poll_once(None) if m.external_id == post["id"]]
    await source.reply(mention, "Thank you!", idempotency_key="t1")
    assert [(c["parent"], c["message"]) for c in graph.state.created] == [(post["id"], "Thank you!")]


async def test_no_permission_for_tagged_posts_leaves_comments_working(
    graph: FakeGraph, make_facebook: MakeFacebook
) -> None:
    graph.inject("tagged", 400, body=fake.error_body(10, "(#10) Requires pages_read_engagement"), times=1)
    post = graph.add_post()
    source = await make_facebook(backfill=True)
    graph.add_comment(post["id"], "still polled")
    assert [m.text for m in await source.poll_once(None)] == ["still polled"]
    assert [m.text for m in await source.poll_once(None)] == ["still polled"]
    assert len(graph.hits_for("tagged")) == 1  # not asked again
