"""Join-only follow-ups on a real Synapse: the patron writing again in their thread (or replying to their
post) without mentioning the bot wakes their snoozed mention on the same card; a stranger's unmentioned
message in that thread, an unmentioned thread with no open mention, an edit and a redaction of the
follow-up store nothing and start no card."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bot.app import PatronDesk
from bot.models import Status
from bot.platforms.matrix.card_events import MENTION_KEY
from bot.store.mention_tables import MentionRow, MessageRow
from tests.matrix.matrix_helpers import World, by_sender, wait_for
from tests.matrix.test_matrix_synapse import staff_cards, started
from tests.matrix.test_matrix_synapse_snooze_approval import status_is

pytestmark = pytest.mark.synapse


async def count(app: PatronDesk, table: type) -> int:
    async with app.service.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def texts(app: PatronDesk) -> list[str]:
    async with app.service.db.transaction() as session:
        return list((await session.execute(select(MentionRow.text).order_by(MentionRow.id))).scalars())


def in_thread(root: str, body: str) -> dict[str, object]:
    """An unmentioned message in the thread of ``root`` (no pill, no ``m.mentions``, no bot name)."""
    rel = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    return {"msgtype": "m.text", "body": body, "m.mentions": {}, "m.relates_to": rel}


async def test_an_unmentioned_follow_up_in_the_patrons_thread_wakes_their_snoozed_mention(
    world: World, tmp_path: Path
) -> None:
    bot = world.users.bot.user_id
    async with PatronDesk(world.settings(tmp_path)) as app:
        await started(app)
        asked = await world.patron.mention(world.source_room, bot, "Where are the flood records?")
        [card] = await staff_cards(world, 1)
        mention_id = card["content"][MENTION_KEY]
        await world.staff1.react(world.staff_room, card["event_id"], "✋")
        await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the claim")
        await world.staff1.in_thread(world.staff_room, card["event_id"], "!snooze")  # until the patron
        await wait_for(lambda: status_is(app, mention_id, Status.SNOOZED), what="the snooze")

        await world.staff2.join(world.source_room)  # a stranger in the public room
        await world.staff2.send(world.source_room, in_thread(asked, "Send the answer to me instead"))
        chat = await world.patron.say(world.source_room, "Nice weather today")  # no mention: no card
        await world.patron.send(world.source_room, in_thread(chat, "Sunny all week"))  # nothing open there
        # the same room's events are taken in order: once the patron's own follow-up woke the card,
        # the stranger's message and the chat before it were seen too
        follow_up = await world.patron.send(
            world.source_room, in_thread(asked, "the 1953 flood, if that helps")
        )
        await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the wake on the follow-up")
        view = await app.service.view(mention_id)
        assert view.snoozed_until is None and view.assignee == "Sam Staff"
        assert await texts(app) == [view.text] and "the 1953 flood" in view.text  # the same card
        assert "instead" not in view.text and "Sunny" not in view.text
        assert await count(app, MessageRow) == 1  # the dropped messages left nothing behind

        # the follow-up edited into a mention of the bot, redacted, edited again: still joined once, and
        # no card of its own
        edit = {
            "msgtype": "m.text",
            "body": "* Library Bot: the 1953 flood",
            "m.new_content": {"msgtype": "m.text", "body": "Library Bot: the 1953 flood"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": follow_up},
        }
        await world.patron.send(world.source_room, edit)
        path = f"/rooms/{quote(world.source_room)}/redact/{quote(follow_up)}/{uuid.uuid4().hex}"
        await world.patron.call("PUT", path, {})
        await world.patron.send(world.source_room, edit)  # an edit of the redacted message: read redacted
        await world.patron.mention(world.source_room, bot, "And are you open on Sunday?")  # after them
        await staff_cards(world, 2)
        await app.wait_idle()
        first, second = await texts(app)
        assert first.count("the 1953 flood") == 1 and second.endswith("And are you open on Sunday?")
        assert await count(app, MessageRow) == 1 and len(await staff_cards(world, 2)) == 2


async def test_the_patron_answering_our_reply_in_the_main_timeline_joins_their_mention(
    world: World, tmp_path: Path
) -> None:
    """The bot answers in the main timeline (a reply to the patron's message, no thread); the patron
    replying to that answer without mentioning the bot joins their mention; a stranger's reply to it
    does not, and starts no card."""
    bot = world.users.bot.user_id
    async with PatronDesk(world.settings(tmp_path)) as app:
        await started(app)
        asked = await world.patron.mention(world.source_room, bot, "Can I bring my dog to the reading room?")
        [card] = await staff_cards(world, 1)
        mention_id = card["content"][MENTION_KEY]
        await world.staff1.react(world.staff_room, card["event_id"], "✋")
        await wait_for(lambda: status_is(app, mention_id, Status.CLAIMED), what="the claim")
        await world.staff1.in_thread(world.staff_room, card["event_id"], "!reply Guide dogs only, sorry")

        async def our_answer() -> str | None:
            for event in by_sender(await world.patron.messages(world.source_room), bot):
                rel = event["content"].get("m.relates_to") or {}
                if rel.get("m.in_reply_to", {}).get("event_id") == asked:
                    return str(event["event_id"])
            return None

        answer = await wait_for(our_answer, what="the answer in the patron's room")
        await wait_for(lambda: status_is(app, mention_id, Status.REPLIED), what="the reply recorded")

        def replying(body: str) -> dict[str, object]:  # a plain reply to our answer: no thread, no mention
            return {
                "msgtype": "m.text",
                "body": body,
                "m.mentions": {},
                "m.relates_to": {"m.in_reply_to": {"event_id": answer}},
            }

        await world.staff2.join(world.source_room)
        await world.staff2.send(world.source_room, replying("What about cats?"))  # a stranger
        await world.patron.send(world.source_room, replying("Thanks! What about a cat in a carrier?"))

        async def joined() -> bool:
            return "a cat in a carrier" in (await app.service.view(mention_id)).text

        await wait_for(joined, what="the patron's answer joined to their mention")
        view = await app.service.view(mention_id)
        assert view.status is Status.CLAIMED  # back with whoever holds it: the patron wrote again
        assert "What about cats" not in view.text
        assert await count(app, MentionRow) == 1  # no card for either reply
        assert len(await staff_cards(world, 1)) == 1
