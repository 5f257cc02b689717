"""The Slack source over Socket Mode: events become mentions once; replies land in the thread once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.errors import RateLimited, TransientError
from bot.models import Mention, Visibility
from bot.platforms.slack.client import BotIdentity, SlackClient
from bot.platforms.slack.source import REPLY_EVENT, SlackSource, markup_to_text, parse_event
from tests.fakes.slack import Fault, SlackEmulator
from tests.fakes.slack_payloads import BOT_ID, BOT_USER, message_event
from tests.slack.slack_helpers import ALICE, BOB, COMMUNITY, OTHER, STAFF, wait_for

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-payloads"
ME = BotIdentity(BOT_USER, BOT_ID, "T1", "https://team.slack.com/")


@dataclass
class Store:
    """Ingest like the service: unique on (source, external_id)."""

    mentions: dict[str, Mention] = field(default_factory=dict)
    calls: int = 0

    async def ingest(self, mention: Mention | None, cursor: str | None) -> bool:
        self.calls += 1
        assert mention is not None and cursor is None
        if mention.external_id in self.mentions:
            return False
        self.mentions[mention.external_id] = mention
        return True


Src = tuple[SlackSource, Store]


@pytest.fixture
async def source(client: SlackClient, emu: SlackEmulator) -> AsyncIterator[tuple[SlackSource, Store]]:
    store = Store()
    adapter = SlackSource(client, ingest=store.ingest, channels=(COMMUNITY,), staff=(STAFF,))
    await adapter.open()
    await emu.connected()
    pump = asyncio.create_task(anext(adapter.mentions(None)))  # a push source yields nothing
    try:
        yield adapter, store
    finally:
        assert not pump.done()
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await adapter.aclose()


async def test_message_becomes_a_mention_with_names(source: Src, emu: SlackEmulator) -> None:
    _, store = source
    text = "Hi <@U0BOTUSER1|patron-desk>, is <https://evil.example|https://library.example> yours? &lt;3"
    ack = await emu.post_event(message_event(COMMUNITY, ALICE, text, ts="1700000000.000200"))
    assert ack.keys() == {"envelope_id"}  # acked only after ingest returned
    mention = store.mentions[f"{COMMUNITY}:1700000000.000200"]
    assert mention.text == "Hi @patron-desk, is https://library.example (https://evil.example) yours? <3"
    assert (mention.author_handle, mention.author_name, mention.author_id) == (
        "@alice",
        "Alice Archer",
        ALICE,
    )
    assert mention.url == f"https://patron-desk-test.slack.com/archives/{COMMUNITY}/p1700000000000200"
    assert json.loads(mention.reply_ref) == {
        "channel": COMMUNITY,
        "thread_ts": "1700000000.000200",
        "ts": "1700000000.000200",
    }


async def test_same_message_twice_is_one_mention(source: Src, emu: SlackEmulator) -> None:
    _, store = source
    event = message_event(COMMUNITY, ALICE, "hello <@U0BOTUSER1>", ts="1700000000.000300")
    await emu.post_event(event, event_id="Ev0SAME")
    await emu.post_event(event, event_id="Ev0SAME", retry_attempt=1)  # Slack's redelivery
    mention = message_event(
        COMMUNITY, ALICE, "hello <@U0BOTUSER1>", ts="1700000000.000300", kind="app_mention"
    )
    await emu.post_event(mention, event_id="Ev0OTHER")  # the same message as app_mention
    assert list(store.mentions) == [f"{COMMUNITY}:1700000000.000300"]
    assert store.calls == 2  # the redelivery was dropped by event id before ingest


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (message_event(COMMUNITY, BOT_USER, "our own reply", ts="1.1"), "the bot itself"),
        (message_event(COMMUNITY, BOB, "bot message", ts="1.2", bot_id=BOT_ID), "a bot_id"),
        (message_event(COMMUNITY, BOB, "joined", ts="1.3", subtype="channel_join"), "a join"),
        (message_event(COMMUNITY, BOB, "edited", ts="1.4", subtype="message_changed"), "an edit"),
        (message_event(STAFF, BOB, "staff chat about a card", ts="1.5", thread_ts="1.0"), "staff thread"),
        (message_event(STAFF, BOB, "<@U0BOTUSER1> hi", ts="1.6", kind="app_mention"), "staff mention"),
        (message_event(OTHER, BOB, "not a community channel", ts="1.7"), "other channel"),
    ],
)
async def test_ignored(source: Src, emu: SlackEmulator, event: dict[str, object], why: str) -> None:
    _, store = source
    await emu.post_event(event)
    assert store.mentions == {}, why


async def test_app_mention_elsewhere_counts(source: Src, emu: SlackEmulator) -> None:
    _, store = source
    await emu.post_event(
        message_event(OTHER, BOB, "<@U0BOTUSER1> help!", ts="1700000000.000400", kind="app_mention")
    )
    assert list(store.mentions) == [f"{OTHER}:1700000000.000400"]


async def test_reply_in_thread_once_per_key(source: Src, emu: SlackEmulator) -> None:
    adapter, store = source
    await emu.post_event(message_event(COMMUNITY, ALICE, "opening hours?", ts="1700000000.000500"))
    mention = next(iter(store.mentions.values()))
    first = await adapter.reply(mention, "9 to 5 <!channel>", idempotency_key="reply:1:1")
    again = await adapter.reply(mention, "9 to 5 <!channel>", idempotency_key="reply:1:1")
    assert first == again
    replies = [
        m
        for m in emu.channels[COMMUNITY]
        if m.get("thread_ts") == "1700000000.000500" and m["ts"] != "1700000000.000500"
    ]
    assert len(replies) == 1
    assert replies[0]["text"] == "9 to 5 &lt;!channel&gt;"
    assert replies[0]["metadata"] == {"event_type": REPLY_EVENT, "event_payload": {"key": "reply:1:1"}}
    assert first.url and "thread_ts=1700000000.000500" in first.url


async def test_reply_dropped_after_commit_not_sent_twice(source: Src, emu: SlackEmulator) -> None:
    adapter, store = source
    await emu.post_event(message_event(COMMUNITY, ALICE, "question", ts="1700000000.000600"))
    mention = next(iter(store.mentions.values()))
    emu.fail("chat.postMessage", Fault("drop"))
    with pytest.raises(TransientError):
        await adapter.reply(mention, "answer", idempotency_key="reply:2:1")
    ref = await adapter.reply(mention, "answer", idempotency_key="reply:2:1")
    thread = [m for m in emu.channels[COMMUNITY] if m.get("thread_ts") == "1700000000.000600"]
    assert len(thread) == 1 and ref.external_id == f"{COMMUNITY}:{thread[0]['ts']}"


async def test_reply_rate_limited(source: Src, emu: SlackEmulator) -> None:
    adapter, store = source
    await emu.post_event(message_event(COMMUNITY, ALICE, "q", ts="1700000000.000700"))
    mention = next(iter(store.mentions.values()))
    emu.fail("chat.postMessage", Fault("ratelimit", retry_after="7"))
    with pytest.raises(RateLimited) as caught:
        await adapter.reply(mention, "a", idempotency_key="reply:3:1")
    assert caught.value.retry_after == 7.0


def test_parse_reference_event() -> None:
    path = REFERENCE / "slack_event_callback_message.json"
    if not path.exists():
        pytest.skip("reference payloads not present")
    body = json.loads(path.read_text())
    event = body["event"]
    mention = parse_event(event, me=ME, sources=frozenset({event["channel"]}), staff=frozenset())
    assert mention is not None
    assert (mention.external_id, mention.text, mention.author_id) == (
        "C01N9PM1D53:1613563664.001200",
        "this is a test message",
        "U01NK1K9L68",
    )
    assert mention.visibility is Visibility.PUBLIC and mention.created_at.year == 2021
    edited = json.loads((REFERENCE / "slack_event_callback_message_changed.json").read_text())["event"]
    assert parse_event(edited, me=ME, sources=frozenset({edited["channel"]}), staff=frozenset()) is None


def test_a_thread_reply_follows_the_threads_first_post() -> None:
    def parsed(**extra: str) -> Mention:
        event = message_event(COMMUNITY, "U0PAT", "more", ts="1700000000.000900", **extra)
        found = parse_event(event, me=ME, sources=frozenset({COMMUNITY}), staff=frozenset())
        assert found is not None
        return found

    assert parsed(thread_ts="1700000000.000100").follows == (f"{COMMUNITY}:1700000000.000100",)
    assert parsed().follows == () and parsed(thread_ts="1700000000.000900").follows == ()


def test_an_unmentioned_thread_reply_outside_the_community_channels_may_only_join() -> None:
    def parsed(kind: str = "message", **extra: str) -> Mention | None:
        event = message_event(OTHER, "U0PAT", "more", ts="1700000000.000900", **extra)
        return parse_event({**event, "type": kind}, me=ME, sources=frozenset({COMMUNITY}), staff=frozenset())

    reply = parsed(thread_ts="1700000000.000100")
    assert reply is not None and reply.join_only and reply.follows == (f"{OTHER}:1700000000.000100",)
    assert parsed() is None  # a plain message there did not address the library
    mentioned = parsed("app_mention", thread_ts="1700000000.000100")
    assert mentioned is not None and not mentioned.join_only
    community = parse_event(
        message_event(COMMUNITY, "U0PAT", "more", ts="1700000000.000900", thread_ts="1700000000.000100"),
        me=ME,
        sources=frozenset({COMMUNITY}),
        staff=frozenset(),
    )
    assert community is not None and not community.join_only


def test_markup_to_text() -> None:
    assert markup_to_text("<!here> <!subteam^S1|@staff> <#C1|general> <@U1>") == "@here @staff #general @U1"
    assert markup_to_text("<https://a.example>") == "https://a.example"
    assert markup_to_text("a &amp; b &lt;c&gt;") == "a & b <c>"


async def test_mentions_in_a_card_channel_stay_internal(
    source: Src, emu: SlackEmulator, client: SlackClient
) -> None:
    from bot.platforms.slack.desk import SlackDesk
    from tests.slack.slack_helpers import view

    _, store = source
    await SlackDesk(client, staff_channel=STAFF).post_card(view(1), channel=OTHER, dedupe_key="k1")
    event = message_event(
        OTHER, BOB, "<@U0BOTUSER1> who takes this one?", ts="1700000000.000800", kind="app_mention"
    )
    await emu.post_event(event)
    assert store.mentions == {}  # a role's card channel is staff-only, like the staff channel


async def test_reconnects_when_slack_asks(source: Src, emu: SlackEmulator) -> None:
    _, store = source
    await emu.refresh()
    await wait_for(lambda: emu.connections == 2 and len(emu.sockets) == 1)
    await emu.post_event(message_event(COMMUNITY, ALICE, "still there?", ts="1700000000.000900"))
    assert list(store.mentions) == [f"{COMMUNITY}:1700000000.000900"]
    assert emu.count("apps.connections.open") == 2


async def test_people_named_by_id_are_shown_by_name(source: Src, emu: SlackEmulator) -> None:
    """Slack sends ``<@U…>`` without a label: the card greets the bot and names people, not ids."""
    _, store = source
    text = "Hi <@U0BOTUSER1>! Can <@U0BOB0001> help? <@U0NOBODY99> said so."
    await emu.post_event(message_event(COMMUNITY, ALICE, text, ts="1700000000.000900"))
    mention = store.mentions[f"{COMMUNITY}:1700000000.000900"]
    assert mention.text == "Hi @patron-desk! Can @bob help? @U0NOBODY99 said so."  # unknown: the id stays
