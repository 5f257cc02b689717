"""The Matrix source, desk and sync loop against a real Synapse, with a small fake service around them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, SyncError

from bot.backoff import Backoff, Reconnector
from bot.errors import AdapterConfigError
from bot.models import Mention, StaffAction, Status, Visibility
from bot.platforms.matrix.card_events import DEDUPE_KEY
from bot.platforms.matrix.desk import MatrixDesk
from bot.platforms.matrix.link import MatrixLink, make_client
from bot.platforms.matrix.source import MatrixSource, MentionChange
from bot.views import ActionResult, TicketView
from tests.matrix.matrix_helpers import World, by_sender, cards, wait_for

pytestmark = pytest.mark.synapse


@dataclass
class Pump:
    """Drives ``source.mentions`` like the app does, storing cursors (a fake ingest)."""

    source: MatrixSource
    cursor: str | None = None
    mentions: list[Mention] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with aclosing(self.source.mentions(self.cursor)) as stream:  # type: ignore[type-var]
            async for mention, after in stream:
                if mention is not None:
                    self.mentions.append(mention)
                if after is not None:
                    self.cursor = after

    def start(self) -> Pump:
        self.task = asyncio.create_task(self.run())
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task

    async def synced(self) -> str:
        return await wait_for(lambda: _value(self.cursor), what="a sync token")


async def _value(value: Any) -> Any:
    return value


def link_for_world(world: World, tmp_path: Path, **options: Any) -> MatrixLink:
    settings = world.settings(tmp_path)
    client = make_client(settings).client
    return MatrixLink(client, settings, **options)


@pytest.fixture
async def links() -> AsyncIterator[list[MatrixLink]]:
    made: list[MatrixLink] = []
    yield made
    for link in made:
        await link.aclose()


async def test_gappy_sync_is_backfilled_so_nothing_is_skipped(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    bot = world.users.bot.user_id
    link = link_for_world(world, tmp_path, timeline_limit=3)
    links.append(link)
    pump = Pump(MatrixSource(link)).start()
    cursor = await pump.synced()
    await pump.stop()
    for n in range(9):  # more than the timeline limit arrive while nobody syncs
        await world.patron.mention(world.source_room, bot, f"backlog {n}")
    await world.patron.say(world.source_room, "chatter that does not mention the bot")
    resumed = Pump(MatrixSource(link), cursor=cursor).start()
    await wait_for(lambda: _value(len(resumed.mentions) >= 9), what="nine mentions")
    await resumed.stop()
    assert [m.text for m in resumed.mentions] == [f"Library: backlog {n}" for n in range(9)]
    assert resumed.cursor != cursor


async def test_first_start_ignores_history_and_own_events(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    bot = world.users.bot.user_id
    await world.patron.mention(world.source_room, bot, "posted before the bot ever synced")
    link = link_for_world(world, tmp_path)
    links.append(link)
    pump = Pump(MatrixSource(link)).start()
    await pump.synced()
    await link.send(world.source_room, {"msgtype": "m.text", "body": f"{bot} talking to myself"}, txn="own-1")
    await world.patron.mention(world.source_room, bot, "after the first sync")
    await wait_for(lambda: _value(pump.mentions), what="the new mention")
    await pump.stop()
    assert [m.text for m in pump.mentions] == ["Library: after the first sync"]


async def test_reply_is_threaded_and_sent_once_per_key(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    bot = world.users.bot.user_id
    link = link_for_world(world, tmp_path)
    links.append(link)
    source = MatrixSource(link)
    pump = Pump(source).start()
    await pump.synced()
    root = await world.patron.say(world.source_room, "a thread about opening hours")
    rel = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    asked = await world.patron.say(world.source_room, f"{bot} open on sunday?", **{"m.relates_to": rel})
    [mention] = await wait_for(lambda: _value(pump.mentions), what="the threaded mention")
    await pump.stop()
    first = await source.reply(mention, "Yes, 12-17.", idempotency_key="reply:1:1")
    again = await source.reply(mention, "Yes, 12-17.", idempotency_key="reply:1:1")  # a retry
    assert first == again
    sent = by_sender(await world.patron.messages(world.source_room), bot)
    assert len(sent) == 1
    relates = sent[0]["content"]["m.relates_to"]
    assert relates["rel_type"] == "m.thread" and relates["event_id"] == root
    assert relates["m.in_reply_to"] == {"event_id": asked}
    assert first.url and first.external_id in first.url.replace("%24", "$")


async def test_edits_and_redactions_reach_the_change_hook(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    bot = world.users.bot.user_id
    changes: list[MentionChange] = []

    async def on_change(change: MentionChange) -> None:
        changes.append(change)

    link = link_for_world(world, tmp_path)
    links.append(link)
    pump = Pump(MatrixSource(link, on_change=on_change)).start()
    await pump.synced()
    plain = await world.patron.say(world.source_room, "no mention yet")
    new = {"msgtype": "m.text", "body": f"{bot} now with a mention"}
    await world.patron.say(
        world.source_room,
        f"* {bot} now with a mention",
        **{"m.new_content": new, "m.relates_to": {"rel_type": "m.replace", "event_id": plain}},
    )
    # redacted before the edit is read, the original is no longer there to make a mention of
    await wait_for(lambda: _value(pump.mentions), what="the mention the edit made")
    await world.patron.call("PUT", f"/rooms/{world.source_room}/redact/{plain}/r1", {})
    await wait_for(lambda: _value(len(changes) >= 2), what="the edit and the redaction")
    await pump.stop()
    assert [(c.kind, c.external_id) for c in changes] == [("edit", plain), ("withdraw", plain)]
    [mention] = pump.mentions  # the edit made the original message a mention
    assert mention.external_id == plain and mention.text.endswith("now with a mention")


@dataclass
class FakeService:
    """A tiny on_action: the first claim wins; records every action."""

    actions: list[StaffAction] = field(default_factory=list)
    assignee: str | None = None

    async def handle(self, action: StaffAction) -> ActionResult:
        self.actions.append(action)
        if type(action).__name__ == "Claim":
            if self.assignee is None:
                self.assignee = action.actor.user_id  # type: ignore[union-attr]
                return ActionResult(True, "Claimed.", changed=True)
            return ActionResult(False, f"already claimed by {self.assignee}")
        return ActionResult(True, f"ok {type(action).__name__}")


def ticket(mention_id: int) -> TicketView:
    return TicketView(
        mention_id=mention_id,
        source="matrix",
        author_handle="@patron:localhost",
        author_name="Pat",
        text="hello",
        url=None,
        role="social-media",
        rule="default",
        reason="",
        on_duty=(),
        status=Status.POSTED,
    )


async def test_desk_survives_restart_through_the_card_marker(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    settings = world.settings(tmp_path, MATRIX_SOURCE_ROOMS="")
    first = MatrixLink(make_client(settings).client, settings)
    links.append(first)
    ref = await MatrixDesk(first).post_card(ticket(77), channel="", dedupe_key="post_card:matrix:77")
    # a retry after a crash finds the earlier post instead of posting again
    again = await MatrixDesk(first).post_card(
        ticket(77), channel="", dedupe_key="post_card:matrix:77", retry=True
    )
    assert again == ref
    events = await world.staff1.messages(world.staff_room)
    assert [c["content"][DEDUPE_KEY] for c in cards(events, world.users.bot.user_id)] == [
        "post_card:matrix:77"
    ]

    second = MatrixLink(make_client(settings).client, settings)  # a new process: empty memory
    links.append(second)
    desk, service = MatrixDesk(second), FakeService()
    serving = asyncio.create_task(desk.serve(service.handle))
    try:
        await wait_for(lambda: _value(second.client.next_batch), what="the desk's first sync")
        await world.staff2.react(world.staff_room, ref.message_id, "✋")
        await world.staff1.in_thread(world.staff_room, ref.message_id, "!resolve")
        await wait_for(lambda: _value(len(service.actions) >= 2), what="two actions")
    finally:
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
    kinds = [(type(a).__name__, a.mention_id, a.actor.user_id) for a in service.actions]  # type: ignore[union-attr]
    assert kinds == [("Claim", 77, world.users.staff2.user_id), ("Resolve", 77, world.users.staff1.user_id)]


async def test_invites_to_unconfigured_rooms_are_declined(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    bot = world.users.bot.user_id
    stranger_room = await world.patron.create_room(public=False, invite=(bot,))
    link = link_for_world(world, tmp_path)
    links.append(link)
    pump = Pump(MatrixSource(link)).start()
    await pump.synced()

    async def bot_membership() -> str | None:
        state = await world.patron.call("GET", f"/rooms/{stranger_room}/state/m.room.member/{bot}")
        return str(state["membership"]) if state["membership"] != "invite" else None

    assert await wait_for(bot_membership, what="the invite to be answered") == "leave"
    await pump.stop()
    assert world.source_room in link.client.rooms and stranger_room not in link.client.rooms


async def test_password_login_and_bad_token(world: World, tmp_path: Path, links: list[MatrixLink]) -> None:
    good = world.settings(tmp_path, MATRIX_ACCESS_TOKEN="", MATRIX_PASSWORD=world.users.bot.password)
    link = make_client(good)
    links.append(link)
    await link.ensure_open()
    assert link.client.device_id == "PATRONDESK" and link.display_name == "Library Bot"
    bad = make_client(world.settings(tmp_path, MATRIX_ACCESS_TOKEN="syt_not_a_token"))
    links.append(bad)
    with pytest.raises(AdapterConfigError):
        await bad.ensure_open()
    await MatrixDesk(bad).serve(FakeService().handle)  # the desk turns itself off; the bot keeps running


class RateLimitedClient(AsyncClient):
    """A nio client whose first two syncs are refused with M_LIMIT_EXCEEDED."""

    refusals = 2

    async def sync(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if self.refusals:
            self.refusals -= 1
            return SyncError("Too many requests", "M_LIMIT_EXCEEDED", 1_200_000)
        return await super().sync(*args, **kwargs)


class RecordingReconnector(Reconnector):
    """Records the platform's hints and waits nothing (the policy itself is tested elsewhere)."""

    hints: list[float | None]

    def failed(self, *, retry_after: float | None = None) -> float:
        self.hints.append(retry_after)
        return 0.0


async def test_limit_exceeded_is_honoured_with_a_cap(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    settings = world.settings(tmp_path)
    client = RateLimitedClient(
        settings.MATRIX_HOMESERVER, settings.MATRIX_USER_ID, config=make_client(settings).client.config
    )
    reconnector = RecordingReconnector(policy=Backoff())
    reconnector.hints = []
    link = MatrixLink(client, settings, reconnector=reconnector)
    links.append(link)
    pump = Pump(MatrixSource(link)).start()
    await pump.synced()
    await pump.stop()
    assert reconnector.hints == [900.0, 900.0]  # 20 minutes asked, capped at bot.backoff.MAX_RETRY_AFTER
    assert Backoff().delay(0, retry_after=reconnector.hints[0]) == 900.0


async def test_direct_chats_when_enabled(world: World, tmp_path: Path, links: list[MatrixLink]) -> None:
    bot = world.users.bot.user_id
    link = link_for_world(world, tmp_path, accept_direct=True)
    links.append(link)
    pump = Pump(MatrixSource(link)).start()
    await pump.synced()
    body = {"preset": "trusted_private_chat", "invite": [bot], "is_direct": True}
    dm = str((await world.patron.call("POST", "/createRoom", body))["room_id"])
    await wait_for(lambda: _value(dm in link.direct_rooms), what="the bot to accept the direct chat")
    await world.patron.say(dm, "are you open on bank holidays?")  # no mention needed in a DM
    [mention] = await wait_for(lambda: _value(pump.mentions), what="the direct message")
    await pump.stop()
    assert mention.visibility is Visibility.DIRECT and mention.text == "are you open on bank holidays?"
    later = link_for_world(world, tmp_path, accept_direct=True)  # a restart remembers it via m.direct
    links.append(later)
    await later.ensure_open()
    assert dm in later.direct_rooms


async def test_encrypted_rooms_are_reported(
    world: World, tmp_path: Path, links: list[MatrixLink], caplog: pytest.LogCaptureFixture
) -> None:
    megolm = {"algorithm": "m.megolm.v1.aes-sha2"}
    encryption = {"type": "m.room.encryption", "state_key": "", "content": megolm}
    body = {"preset": "public_chat", "initial_state": [encryption]}
    secret = str((await world.patron.call("POST", "/createRoom", body))["room_id"])
    link = make_client(world.settings(tmp_path, MATRIX_SOURCE_ROOMS=f"{world.source_room},{secret}"))
    links.append(link)
    with caplog.at_level(logging.ERROR, logger="bot.platforms.matrix.session"):
        await link.ensure_open()
    assert [r.getMessage() for r in caplog.records] == [
        f"matrix room {secret} is end-to-end encrypted: the bot cannot read or answer there"
    ]


async def test_staff_events_wait_until_the_batch_token_is_stored(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    link = link_for_world(world, tmp_path)
    links.append(link)
    link.source_attached = link.desk_attached = True
    async with aclosing(link.batches(None)) as batches:
        await anext(batches)  # the first sync: only a token
        card = await world.staff1.say(world.staff_room, "a message to react to")
        await world.staff2.react(world.staff_room, card, "✋")
        batch = await anext(batches)
        while not batch.desk:
            batch = await anext(batches)
        assert link._desk_queue.empty()  # the source has not stored this batch's token yet
        pending = asyncio.create_task(anext(batches))  # the source comes back: its token is stored
        item = await anext(link.desk_events())
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    assert item.event["type"] in ("m.room.message", "m.reaction")


async def test_retention_redacts_the_card_and_every_edit(
    world: World, tmp_path: Path, links: list[MatrixLink]
) -> None:
    settings = world.settings(tmp_path, MATRIX_SOURCE_ROOMS="")
    link = MatrixLink(make_client(settings).client, settings)
    links.append(link)
    desk = MatrixDesk(link, pre_react=False)
    secret = "RETAINED-9c2e patron words"
    card = replace(ticket(91), text=secret)
    ref = await desk.post_card(card, channel="", dedupe_key="post_card:matrix:91")
    await desk.update_card(ref, replace(card, status=Status.CLAIMED))
    await desk.update_card(ref, replace(card, status=Status.RESOLVED))

    def holding_secret(events: list[dict[str, Any]]) -> list[str]:
        return [e["event_id"] for e in events if secret in str(e.get("content", {}))]

    assert len(holding_secret(await world.staff1.messages(world.staff_room))) == 3  # the card and 2 edits
    await desk.redact_card(ref, card)
    assert (
        holding_secret(await world.staff1.messages(world.staff_room)) == []
    )  # redacting the card alone leaves 2
