"""The whole bot on a real Synapse: mention, card, claim race, !reply seen by the patron; rota; restart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.core.relay import LEASE
from bot.models import Status
from bot.platforms.matrix.card_events import HISTORY_KEY, MENTION_KEY
from tests.matrix.matrix_helpers import World, by_sender, cards, latest_body, wait_for

pytestmark = pytest.mark.synapse


async def started(app: PatronDesk) -> None:
    """Wait for the bot's first sync (its token is stored): later posts are the ones it handles."""
    await wait_for(lambda: app.service.cursor("matrix"), what="the first sync token")


async def staff_cards(world: World, count: int, *, within: float = 30.0) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        found = cards(await world.staff1.messages(world.staff_room), world.users.bot.user_id)
        return found if len(found) >= count else None

    return await wait_for(probe, within=within, what=f"{count} card(s) in the staff room")


async def notices_in_thread(world: World, card_id: str) -> list[dict[str, Any]]:
    events = await world.staff1.messages(world.staff_room)
    return [
        e
        for e in by_sender(events, world.users.bot.user_id)
        if e["content"].get("msgtype") == "m.notice"
        and (e["content"].get("m.relates_to") or {}).get("event_id") == card_id
        and not e["content"].get(HISTORY_KEY)  # answers to the person who acted, not history lines
    ]


async def history_in_thread(world: World, card_id: str) -> list[str]:
    events = await world.staff1.messages(world.staff_room)
    return [
        e["content"]["body"]
        for e in by_sender(events, world.users.bot.user_id)
        if e["content"].get(HISTORY_KEY)
        and (e["content"].get("m.relates_to") or {}).get("event_id") == card_id
    ]


async def test_mention_claim_race_reply_and_card(world: World, tmp_path: Path) -> None:
    bot = world.users.bot.user_id
    async with PatronDesk(world.settings(tmp_path)) as app:
        await started(app)
        asked = await world.patron.mention(
            world.source_room, bot, "Can I renew <b>my</b> books online? @room"
        )
        [card] = await staff_cards(world, 1)
        content = card["content"]
        assert content["format"] == "org.matrix.custom.html"
        assert "renew &lt;b&gt;my&lt;/b&gt; books" in content["formatted_body"]
        assert "@room" not in content["body"] and "Sam Staff" in content["body"]
        assert content["m.mentions"] == {"user_ids": ["@staff1:localhost"]}  # only the person on duty
        mention_id = content[MENTION_KEY]

        # two staff react ✋ at once: exactly one wins, the other is told who has it
        await asyncio.gather(
            world.staff1.react(world.staff_room, card["event_id"], "✋"),
            world.staff2.react(world.staff_room, card["event_id"], "✋"),
        )
        notices = await wait_for(
            lambda: _at_least(notices_in_thread(world, card["event_id"]), 2), what="two claim notices"
        )
        view = await app.service.view(mention_id)
        assert view.status is Status.CLAIMED
        winner = world.staff1 if view.assignee == "Sam Staff" else world.staff2
        loser = world.staff2 if winner is world.staff1 else world.staff1
        told = {n["content"]["m.mentions"]["user_ids"][0]: n["content"]["body"] for n in notices}
        assert "Claimed" in told[winner.user_id]
        assert "already claimed by" in told[loser.user_id]

        # the winner answers in the card's thread; the patron sees it once, threaded on their message
        await winner.in_thread(
            world.staff_room, card["event_id"], "!reply Yes: sign in at library.example/renew"
        )

        async def patron_sees() -> list[dict[str, Any]]:
            return [
                e
                for e in by_sender(await world.patron.messages(world.source_room), bot)
                if (e["content"].get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == asked
            ]

        await wait_for(patron_sees, what="the reply in the patron's room")
        await app.wait_idle()

        async def card_shows_reply() -> bool:
            html = latest_body(await world.staff1.messages(world.staff_room), card["event_id"], bot)
            return "sign in at library.example/renew" in html and ">sent</a>" in html

        await wait_for(card_shows_reply, what="the card to show the sent reply")
        replies = await patron_sees()
        assert len(replies) == 1 and replies[0]["content"]["body"] == "Yes: sign in at library.example/renew"
        edits = [
            e
            for e in by_sender(await world.staff1.messages(world.staff_room), bot)
            if (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.replace"
            and "Claimed" in e["content"]["m.new_content"]["body"]
        ]
        assert len(edits) == 1  # the race changed the card once


async def test_notes_tags_read_and_history_in_the_thread(world: World, tmp_path: Path) -> None:
    """Issue 16 on Synapse: `!note` and a plain thread message become notes, `!tag`, `!resolve read=N`;
    one history line per event in the card's m.thread, pinging nobody; the patron's room gets nothing."""
    bot = world.users.bot.user_id
    async with PatronDesk(world.settings(tmp_path)) as app:
        await started(app)
        await world.patron.mention(world.source_room, bot, "Where is the quiet study room?")
        [card] = await staff_cards(world, 1)
        card_id, mention_id = card["event_id"], card["content"][MENTION_KEY]
        await world.staff1.in_thread(world.staff_room, card_id, "!note Asked at the desk too")
        await wait_for(lambda: _view_has(app, mention_id, notes=1), what="the first note")
        await world.staff1.in_thread(world.staff_room, card_id, "Second floor, east wing")  # plain: a note
        await wait_for(lambda: _view_has(app, mention_id, notes=2), what="the thread message as a note")
        await world.staff1.in_thread(world.staff_room, card_id, "!tag gossip")
        await world.staff1.in_thread(world.staff_room, card_id, "!tag question")
        await world.staff1.in_thread(world.staff_room, card_id, "!resolve read=9")
        await world.staff1.in_thread(world.staff_room, card_id, "!claim")
        await wait_for(lambda: _view_has(app, mention_id, status=Status.CLAIMED), what="the claim")
        await world.staff1.in_thread(world.staff_room, card_id, "!resolve read=2 directional")
        await wait_for(lambda: _view_has(app, mention_id, status=Status.RESOLVED), what="the resolve")
        await app.wait_idle()
        view = await app.service.view(mention_id)
        assert (view.tags, view.read_level, view.directional, view.note_count) == (("question",), 2, True, 2)
        lines = await wait_for(lambda: _at_least(history_in_thread(world, card_id), 5), what="history")
        assert lines == [
            "📝 Note by Sam Staff.",
            "📝 Note by Sam Staff.",
            "🏷️ Tagged question by Sam Staff.",
            "✋ Claimed by Sam Staff.",
            "✅ Resolved by Sam Staff. READ 2. Directional.",
        ]
        answers = [n["content"]["body"] for n in await notices_in_thread(world, card_id)]
        assert any("Unknown tag 'gossip'" in a for a in answers) and any("1 to 6" in a for a in answers)
        events = await world.staff1.messages(world.staff_room)
        history = [e for e in by_sender(events, bot) if e["content"].get(HISTORY_KEY)]
        assert all(e["content"]["m.mentions"] == {} for e in history)  # nobody pinged
        patron_side = by_sender(await world.patron.messages(world.source_room), bot)
        assert patron_side == []  # no note, tag or line ever reached the patron's room


async def _view_has(
    app: PatronDesk, mention_id: int, *, notes: int = 0, status: Status | None = None
) -> bool:
    view = await app.service.view(mention_id)
    return view.note_count >= notes and (status is None or view.status is status)


async def _at_least(probe: Any, count: int) -> Any:
    found = await probe
    return found if len(found) >= count else None


async def test_rota_edits_need_power_level(world: World, tmp_path: Path) -> None:
    async with PatronDesk(world.settings(tmp_path)) as app:
        await started(app)
        before = len(app.service.rota.shifts)
        command = "!rota add @staff2:localhost circulation mon-fri 09:00-17:00"
        denied = await world.staff2.say(world.staff_room, command)

        async def answer_to(event_id: str) -> str | None:
            for e in by_sender(await world.staff1.messages(world.staff_room), world.users.bot.user_id):
                rel = e["content"].get("m.relates_to") or {}
                if rel.get("m.in_reply_to", {}).get("event_id") == event_id:
                    return str(e["content"]["body"])
            return None

        refusal = await wait_for(lambda: answer_to(denied), what="the refusal")
        assert "Only rota managers" in refusal
        assert len(app.service.rota.shifts) == before

        allowed = await world.staff1.say(world.staff_room, command)  # staff1 created the room: level 100
        accepted = await wait_for(lambda: answer_to(allowed), what="the manager's answer")
        assert "Only rota managers" not in accepted, accepted
        assert len(app.service.rota.shifts) == before + 1


async def test_restart_while_patron_keeps_posting_cards_each_once(world: World, tmp_path: Path) -> None:
    bot = world.users.bot.user_id
    total = 12
    settings = world.settings(tmp_path)
    first_batch = asyncio.Event()

    async def patron() -> None:
        for n in range(total):
            await world.patron.mention(world.source_room, bot, f"question number {n}")
            if n == 3:
                await first_batch.wait()  # keep posting only once the bot is being stopped

    async with PatronDesk(settings) as app:
        await started(app)
        poster = asyncio.create_task(patron())
        await staff_cards(world, 2)
        first_batch.set()
    await poster  # the rest arrives while the bot is down (and while it stops)
    async with PatronDesk(settings) as app:
        # outbox rows the first process had leased wait out their lease (bot.core.relay.LEASE)
        found = await staff_cards(world, total, within=LEASE.total_seconds() + 60)
        await app.wait_idle()
        await world.patron.mention(world.source_room, bot, "sentinel")  # everything before it is synced
        found = await staff_cards(world, total + 1)
        await app.wait_idle()
    bodies = [card["content"]["body"] for card in found]
    numbers = sorted(int(n) for body in bodies for n in re.findall(r"question number (\d+)", body))
    assert numbers == list(range(total))  # every mention carded exactly once
    assert len({card["content"][MENTION_KEY] for card in found}) == len(found) == total + 1
