"""Snooze and approval on a real Synapse: a snoozed mention is neither reminded nor escalated and
wakes on the patron's follow-up in their thread; a reply needing approval reaches the patron only
after `!approve`, and never after `!reject` (its writer is told the reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import PatronDesk
from bot.models import Status
from bot.platforms.matrix.card_events import MENTION_KEY
from tests.matrix.matrix_helpers import World, by_sender, wait_for
from tests.matrix.test_matrix_synapse import staff_cards, started

pytestmark = pytest.mark.synapse


class Clock:
    """The wall clock plus a shift the test moves forward (the homeserver's times stay real)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


async def pings(world: World, needle: str) -> list[str]:
    """The bot's notices in the staff room (answers, pings, history lines) containing ``needle``."""
    events = by_sender(await world.staff1.messages(world.staff_room), world.users.bot.user_id)
    return [
        e["content"]["body"]
        for e in events
        if e["content"].get("msgtype") == "m.notice"
        and needle.lower() in e["content"].get("body", "").lower()
    ]


async def replies_to(world: World, asked: str) -> list[str]:
    """What the bot said to the patron in answer to ``asked``."""
    events = by_sender(await world.patron.messages(world.source_room), world.users.bot.user_id)
    return [
        e["content"]["body"]
        for e in events
        if (e["content"].get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == asked
    ]


async def status_is(app: PatronDesk, mention_id: int, status: Status) -> bool:
    return (await app.service.view(mention_id)).status is status


async def test_a_snoozed_mention_is_not_chased_and_wakes_on_the_patrons_follow_up(
    world: World, tmp_path: Path
) -> None:
    bot = world.users.bot.user_id
    clock = Clock()
    config = world.settings(tmp_path, TIMER_SECONDS=3600)  # the test runs the timers itself
    async with PatronDesk(config, clock=clock) as app:
        await started(app)
        asked = await world.patron.mention(world.source_room, bot, "Where are the flood records?")
        [card] = await staff_cards(world, 1)
        root, mention_id = card["event_id"], card["content"][MENTION_KEY]
        await world.staff1.react(world.staff_room, root, "✋")
        await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the claim")
        await world.staff1.in_thread(world.staff_room, root, "!snooze")  # until the patron answers
        await wait_for(lambda: status_is(app, mention_id, Status.SNOOZED), what="the snooze")

        clock.ahead = timedelta(hours=5)  # far past the reminder (60 min) and every SLA
        await app.timers.tick()
        await app.wait_idle()
        assert await status_is(app, mention_id, Status.SNOOZED)
        assert await pings(world, "Reminder") == [] and await pings(world, "escalated") == []

        follow_up = {
            "msgtype": "m.text",
            "body": "Library: the 1953 flood, if that helps",
            "m.mentions": {"user_ids": [bot]},
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": asked,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": asked},
            },
        }
        await world.patron.send(world.source_room, follow_up)
        await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the wake on the follow-up")
        await app.wait_idle()
        view = await app.service.view(mention_id)
        assert view.assignee == "Sam Staff" and view.snoozed_until is None
        assert "the 1953 flood" in view.text  # joined onto the same card, no second one
        assert len(await staff_cards(world, 1)) == 1
        assert await replies_to(world, asked) == []


APPROVAL = '[roles.circulation]\nsla_minutes = 20\napproval = "kim"\n'


def with_approval(rules: Path) -> None:
    """The Matrix test rules, with circulation's replies approved by Kim (staff2)."""
    rules.write_text(rules.read_text().replace("[roles.circulation]\nsla_minutes = 20\n", APPROVAL))


async def test_a_reply_needing_approval_is_published_after_approve_only(world: World, tmp_path: Path) -> None:
    bot = world.users.bot.user_id
    config = world.settings(tmp_path)
    assert config.RULES_FILE is not None
    with_approval(Path(config.RULES_FILE))
    async with PatronDesk(config) as app:
        await started(app)
        kept = await world.patron.mention(world.source_room, bot, "Can I renew my books online?")
        [card] = await staff_cards(world, 1)
        dropped = await world.patron.mention(world.source_room, bot, "Why are overdue fines so high?")
        _, second = await staff_cards(world, 2)
        for each in (card, second):
            await world.staff1.react(world.staff_room, each["event_id"], "✋")
            mention_id = each["content"][MENTION_KEY]
            await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the claim")  # noqa: B023
            await world.staff1.in_thread(world.staff_room, each["event_id"], "!reply Yes, sign in online.")
            await wait_for(lambda: status_is(app, mention_id, Status.APPROVAL), what="the hold")  # noqa: B023
        await wait_for(lambda: pings(world, "waits for your approval"), what="the approver's notice")
        await app.wait_idle()
        assert await replies_to(world, kept) == [] and await replies_to(world, dropped) == []

        await world.staff1.in_thread(world.staff_room, card["event_id"], "!approve")  # not the approver
        await wait_for(lambda: pings(world, "Only kim or a manager"), what="the writer's refusal")
        await world.staff2.in_thread(world.staff_room, second["event_id"], "!reject too curt")
        await wait_for(lambda: pings(world, "was not approved by Kim Keeper: too curt"), what="the reason")
        await world.staff2.in_thread(world.staff_room, card["event_id"], "!approve")
        await wait_for(lambda: replies_to(world, kept), what="the approved reply")
        await wait_for(lambda: pings(world, "was approved by Kim Keeper"), what="the writer told")
        await world.staff2.in_thread(world.staff_room, card["event_id"], "!approve")  # again: refused
        await wait_for(lambda: pings(world, "there is no reply waiting"), what="the second approve refused")
        await app.wait_idle()
        assert await replies_to(world, kept) == ["Yes, sign in online."]
        assert await replies_to(world, dropped) == []
        assert await status_is(app, second["content"][MENTION_KEY], Status.CLAIMED)
