"""The Mastodon source against the loopback server: paging, streaming, resume, failures, replies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.models import Mention, MentionChange, Visibility
from bot.platforms.mastodon.source import MastodonOptions, MastodonSource
from tests.fakes.loopback import BAD_BYTES
from tests.fakes.mastodon import TOKEN, FakeMastodon

from .conftest import MemoryStore, Pump, fast_backoff, wait_until

Make = Callable[..., Awaitable[MastodonSource]]
Pumps = Callable[..., Pump]


async def streaming_and_idle(mastodon: FakeMastodon) -> None:
    """The stream is up and the catch-up it triggered is done: first start, first catch-up, after-connect."""
    await wait_until(lambda: mastodon.live_streams == 1 and len(mastodon.hits_for("notifications")) >= 3)


def min_id(store: MemoryStore) -> str | None:
    assert store.cursor is not None
    return json.loads(store.cursor)["min_id"]


async def test_first_start_records_position_without_backfill(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    for n in range(3):
        mastodon.add_mention(f"old {n}")
    store = MemoryStore()
    pumps(await make_mastodon(streaming=False), store)
    await wait_until(lambda: store.cursor is not None)
    assert store.mentions == {} and min_id(store) == mastodon.newest_id
    mastodon.add_mention("new one")
    await wait_until(lambda: store.mentions)
    assert store.texts() == ["@library new one"]


async def test_backfill_setting_imports_what_is_there(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    for n in range(5):
        mastodon.add_mention(f"old {n}")
    store = MemoryStore()
    pumps(await make_mastodon(streaming=False, backfill=True, page_limit=2), store)
    await wait_until(lambda: len(store.mentions) == 5)
    assert [t.split()[-1] for t in store.texts()] == ["0", "1", "2", "3", "4"]  # oldest first across pages


async def test_pages_oldest_first_and_resume_after_kill(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    mastodon.add_mention("before the first start")
    store = MemoryStore()
    first = pumps(await make_mastodon(streaming=False, page_limit=3), store)
    await wait_until(lambda: store.cursor is not None)
    made = [mastodon.add_mention(f"m{n}", deleted=n == 4) for n in range(10)]  # ids 99..108: crosses "100"
    await wait_until(lambda: len(store.mentions) >= 4)
    await first.kill()  # killed between two polls (or mid-page): resume must not skip
    more = [mastodon.add_mention(f"m{n}") for n in range(10, 14)]
    second = pumps(await make_mastodon(streaming=False, page_limit=3), store)
    await wait_until(lambda: len(store.mentions) == 13)
    await wait_until(lambda: min_id(store) == mastodon.newest_id)
    expected = [n["status"]["id"] for n in made + more if n["status"]]
    assert store.order == expected  # every mention once, oldest first, nothing from before the start
    assert second.delivered >= 4


@pytest.mark.parametrize("stop_after", [1, 2, 5])
async def test_crash_right_after_any_commit_loses_nothing(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps, stop_after: int
) -> None:
    store = MemoryStore()
    await pumps(await make_mastodon(streaming=False), store, stop_after=1).task  # first start: position only
    for n in range(7):
        mastodon.add_mention(f"m{n}", deleted=n == 3)
    await pumps(await make_mastodon(streaming=False, page_limit=2), store, stop_after=stop_after).task
    pumps(await make_mastodon(streaming=False, page_limit=2), store)
    await wait_until(lambda: len(store.mentions) == 6 and min_id(store) == mastodon.newest_id)
    assert [t.split()[-1] for t in store.texts()] == ["m0", "m1", "m2", "m4", "m5", "m6"]


async def test_stream_delivers_at_once_and_rest_confirms_the_cursor(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    pumps(await make_mastodon(poll_seconds=30.0), store)  # polling alone would take 30 s
    await streaming_and_idle(mastodon)
    note = mastodon.add_mention("streamed", visibility="direct", spoiler_text="private question")
    await wait_until(lambda: store.mentions, seconds=5)
    [mention] = store.mentions.values()
    assert mention.visibility is Visibility.DIRECT and mention.content_warning == "private question"
    await wait_until(lambda: min_id(store) == note["id"], seconds=5)  # REST catch-up advanced the cursor
    assert len(mastodon.hits_for("stream")) == 1  # one connection served it all


async def test_dropped_stream_reconnects_and_catches_up(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    pumps(await make_mastodon(poll_seconds=30.0), store)
    await streaming_and_idle(mastodon)
    mastodon.inject("stream", 503)  # the first reconnect attempt fails too
    mastodon.drop_streams()
    mastodon.add_mention("while the stream was down", push=False)  # only a catch-up can find it
    await wait_until(lambda: store.mentions, seconds=5)
    assert mastodon.stream_connects >= 2 and store.repeats == 0


async def test_stalled_stream_is_detected_and_replaced(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    pumps(await make_mastodon(poll_seconds=30.0, stall_timeout=0.3), store)
    await streaming_and_idle(mastodon)
    mastodon.stall = True  # no heartbeats, no events, connection left open
    mastodon.add_mention("sent into a stalled stream")
    await wait_until(lambda: mastodon.stream_connects >= 2, seconds=5)  # read timeout -> reconnect
    mastodon.stall = False
    await wait_until(lambda: store.mentions, seconds=5)  # catch-up after the reconnect found it


async def test_stream_edits_and_deletions_reach_the_change_hook(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    changes: list[MentionChange] = []

    async def on_change(change: MentionChange) -> None:
        changes.append(change)

    store = MemoryStore()
    pumps(await make_mastodon(poll_seconds=30.0, on_change=on_change), store)
    await streaming_and_idle(mastodon)
    note = mastodon.add_mention("first words")
    await wait_until(lambda: store.mentions and min_id(store) == note["id"])
    rest_calls = len(mastodon.hits_for("notifications"))
    status = note["status"]
    mastodon.push("update", b'{"id":"1","content":"a followed account posts"}')  # home timeline noise
    edited = {**status, "content": "<p>second thoughts</p>"}
    mastodon.push("status.update", json.dumps(edited).encode())
    mastodon.push("status.update", json.dumps({**edited, "id": "5", "mentions": []}).encode())  # not about us
    mastodon.push("delete", status["id"].encode())
    await wait_until(lambda: len(changes) == 2)
    assert changes == [
        MentionChange("mastodon", status["id"], "edit", status["account"]["id"], "second thoughts"),
        MentionChange("mastodon", status["id"], "withdraw", author_only=True),
    ]
    assert len(mastodon.hits_for("notifications")) == rest_calls  # none of these needed a REST catch-up
    assert mastodon.hits_for("stream")[0].path == "/api/v1/streaming/user"  # SSE: the stream is in the path


async def test_kill_while_streaming_then_resume(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    first = pumps(await make_mastodon(poll_seconds=30.0), store)
    await wait_until(lambda: mastodon.live_streams == 1 and store.cursor is not None)
    for n in range(3):
        mastodon.add_mention(f"s{n}")
    await wait_until(lambda: len(store.mentions) >= 1)
    await first.kill()
    for n in range(3, 6):
        mastodon.add_mention(f"s{n}", push=False)
    pumps(await make_mastodon(poll_seconds=30.0), store)
    await wait_until(lambda: len(store.mentions) == 6 and min_id(store) == mastodon.newest_id)
    assert [t.split()[-1] for t in store.texts()][3:] == ["s3", "s4", "s5"]


async def test_stream_unsupported_falls_back_to_polling(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    mastodon.streaming = False
    store = MemoryStore()
    pumps(await make_mastodon(), store)
    await wait_until(lambda: store.cursor is not None)
    mastodon.add_mention("polled")
    await wait_until(lambda: store.mentions)
    assert len(mastodon.hits_for("stream")) == 1  # tried once, then polling only


async def test_429_5xx_malformed_and_invalid_utf8_are_survived(
    mastodon: FakeMastodon, make_mastodon: Make, pumps: Pumps
) -> None:
    store = MemoryStore()
    pumps(await make_mastodon(streaming=False), store)
    await wait_until(lambda: store.cursor is not None)
    mastodon.inject("notifications", 429, Retry_After="1")
    mastodon.inject("notifications", 503, times=2)
    mastodon.inject("notifications", 200, body=b"{not json")
    mastodon.add_mention("first")
    mastodon.add_mention(f"bad {BAD_BYTES}")
    mastodon.add_mention("broken")["status"]["account"] = {"acct": ""}  # malformed: skipped, logged by id
    mastodon.add_mention("last")
    await wait_until(lambda: len(store.mentions) == 3, seconds=15)
    assert store.texts() == ["@library first", "@library bad \ufffd\ufffd", "@library last"]
    await wait_until(lambda: min_id(store) == mastodon.newest_id)  # past the malformed one
    hits = mastodon.hits_for("notifications")
    limited = next(n for n, hit in enumerate(hits) if hit.fault == 429)
    assert [hit.fault for hit in hits[limited : limited + 4]] == [429, 503, 503, 200]
    assert hits[limited + 1].at - hits[limited].at >= 0.95  # Retry-After: 1 was honoured


async def test_low_rate_limit_budget_slows_requests(mastodon: FakeMastodon, make_mastodon: Make) -> None:
    adapter = await make_mastodon(streaming=False)
    mastodon.ratelimit_remaining = 2
    mastodon.ratelimit_reset_in = 0.9
    items = adapter.mentions(None)
    await anext(items)  # first start: one request, which reports 2 left until the reset
    await items.aclose()
    before = len(mastodon.hits_for("notifications"))
    items = adapter.mentions(json.dumps({"min_id": "1"}))
    mastodon.add_mention("x")
    await anext(items)
    await items.aclose()
    hits = mastodon.hits_for("notifications")
    assert hits[before].at - hits[before - 1].at >= 0.2  # spread: about 0.9 s / 3 requests left


async def test_instance_down_at_start_is_opened_later(mastodon: FakeMastodon, pumps: Pumps) -> None:
    mastodon.max_characters = 1000
    mastodon.inject("verify", 503)
    options = MastodonOptions(streaming=False, poll_seconds=0.05, backoff=fast_backoff())
    adapter = MastodonSource(mastodon.url, TOKEN, options=options)
    with pytest.raises(TransientError):
        await adapter.open()  # the app keeps the source and lets the pump retry
    store = MemoryStore()
    pump = pumps(adapter, store)
    await wait_until(lambda: store.cursor is not None)
    mastodon.add_mention("hello")
    await wait_until(lambda: store.mentions)
    assert adapter.reply_limit() == 1000
    await pump.kill()
    await adapter.aclose()


async def test_open_checks_the_token(mastodon: FakeMastodon, make_mastodon: Make) -> None:
    with pytest.raises(AdapterConfigError):
        await make_mastodon(token="wrong")
    adapter = await make_mastodon()
    assert await adapter.check() == "token OK for @library@127.0.0.1"  # the handle, not the account id
    assert adapter.reply_limit() == 500


async def test_reply_threads_with_prefix_visibility_cw_and_key(
    mastodon: FakeMastodon, make_mastodon: Make
) -> None:
    adapter = await make_mastodon(streaming=False)
    mastodon.add_mention("hours?", acct="reader@social.example", visibility="direct", spoiler_text="cw")
    mention = await _only_mention(adapter)
    ref = await adapter.reply(mention, "We open at 10.", idempotency_key="reply:1:1")
    [posted] = mastodon.state.posted
    assert posted.body == {
        "status": "@reader@social.example We open at 10.",
        "in_reply_to_id": mention.external_id,
        "visibility": "direct",
        "spoiler_text": "cw",
    }
    assert posted.idempotency_key == "reply:1:1"
    assert ref.external_id == posted.status["id"] and ref.url == posted.status["url"]


async def test_reply_retry_after_lost_response_publishes_once(
    mastodon: FakeMastodon, make_mastodon: Make
) -> None:
    adapter = await make_mastodon(streaming=False)
    mastodon.add_mention("question")
    mention = await _only_mention(adapter)
    mastodon.lose_reply_response = 1
    with pytest.raises(TransientError):
        await adapter.reply(mention, "answer", idempotency_key="reply:9:1")
    ref = await adapter.reply(mention, "answer", idempotency_key="reply:9:1")
    assert len(mastodon.state.posted) == 1 and ref.external_id == mastodon.state.posted[0].status["id"]


async def test_reply_limits_and_errors(mastodon: FakeMastodon, make_mastodon: Make) -> None:
    mastodon.max_characters = 60
    adapter = await make_mastodon(streaming=False)
    mastodon.add_mention("question", acct="reader@social.example")
    mention = await _only_mention(adapter)
    assert adapter.reply_limit(mention) == 60 - len("@reader ")  # remote domains do not count
    with pytest.raises(PermanentError, match="61 characters"):
        await adapter.reply(mention, "x" * 53, idempotency_key="k1")
    assert mastodon.state.posted == []
    mastodon.inject("statuses", 500)
    with pytest.raises(TransientError):
        await adapter.reply(mention, "ok", idempotency_key="k3")
    mastodon.inject("statuses", 422, body='{"error":"Validation failed"}')
    with pytest.raises(PermanentError):
        await adapter.reply(mention, "ok", idempotency_key="k4")
    mastodon.inject("statuses", 429, Retry_After="7")
    with pytest.raises(RateLimited) as limited:
        await adapter.reply(mention, "ok", idempotency_key="k2")
    assert limited.value.retry_after == 7
    with pytest.raises(RateLimited):  # the next reply waits out the 7 s too, without a request
        await adapter.reply(mention, "ok", idempotency_key="k5")
    assert len(mastodon.hits_for("statuses")) == 3
    assert mastodon.state.posted == []


async def _only_mention(adapter: MastodonSource) -> Mention:
    items = adapter.mentions(json.dumps({"min_id": None}))
    mention, _ = await anext(items)
    await items.aclose()
    assert mention is not None
    return mention
