"""The authorization matrix on Slack (DESIGN.md §6.10): who may do what, over real Socket Mode envelopes.

Every cell is a real interaction with the whole bot (service, store, relay) through the emulator: a
button press, a modal submission, a slash command or an edit event. A refused cell must answer the
actor privately and leave the mentions, staff, shifts, audit and outbox rows exactly as they were.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import PatronDesk
from bot.config import Settings
from bot.core.authz import NOT_STAFF, NOT_STAFF_COMMAND, Place, is_staff
from bot.models import Claim, Reply, StaffRef
from bot.platforms.slack.buttons import (
    APPROVE,
    CLAIM,
    IGNORE,
    REASSIGN,
    RELEASE,
    REPLY,
    RESOLVE,
    SNOOZE,
    button_value,
)
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.modal import preview_view, reply_view
from bot.platforms.slack.reassign_form import ROLE_BLOCK, reassign_view
from bot.platforms.slack.reply_draft import TEXT_BLOCK, ReplyDraft
from bot.platforms.slack.roster import TTL, SlackRoster
from bot.store.mention_tables import MentionRow
from tests.core.state import snapshot
from tests.fakes import slack_payloads as P
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, Fault, SlackEmulator
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import ALICE, BOB, CAROL, COMMUNITY, STAFF, make_client, wait_for

PATRON, PATRON2 = "U0PATRON1", "U0PATRON2"
DM = "D0CAROLDM1"
RULES = f"""
default_role = "reference"

[roles.reference]
sla_minutes = 60
approval = "director"  # nobody holds it: only managers approve
[roles.director]
[roles.tech]
sla_minutes = 60

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "{ALICE}"

[[staff]]
key = "bob"
name = "Bob Binder"
slack_user_id = "{BOB}"
"""
ACTORS = {"staff": BOB, "manager": ALICE, "non-staff member": CAROL, "patron": PATRON}
CARD_ACTIONS = (
    "claim",
    "reply button",
    "reply submit",
    "resolve",
    "release",
    "reassign",
    "ignore",
    "snooze",
    "approve",
)
CHANGING = set(CARD_ACTIONS) - {"reply button"} | {"/rota change"}  # allowed: rows change
ACTIONS = (*CARD_ACTIONS, "/desk", "/rota read", "/rota change", "edit other's mention")
EXPECTED = {
    "staff": set(ACTIONS) - {"/rota change", "edit other's mention", "approve"},
    "manager": set(ACTIONS) - {"edit other's mention"},
    "non-staff member": set(),
    "patron": set(),
}
REFUSALS = (NOT_STAFF, NOT_STAFF_COMMAND, "Only rota managers", "direct message with Patron Desk")
_ts = itertools.count(1)


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[PatronDesk]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    emu.add_user(PATRON, "pat", "Pat Ron")
    emu.add_user(PATRON2, "pia", "Pia Patron")
    emu.members[STAFF] = [ALICE, BOB, CAROL]  # Carol is in the channel, but the rules file names the staff
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/authz.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        SLACK_SOURCE_CHANNELS=COMMUNITY,  # type: ignore[arg-type]
    )
    desk = PatronDesk(settings)
    desk.clients["slack"] = make_client(emu, pace=0.01)
    async with desk:
        await emu.connected()
        yield desk


async def new_mention(app: PatronDesk, emu: SlackEmulator, author: str = PATRON) -> tuple[int, str]:
    """A patron's post in the community channel, carded; returns (mention id, the post's ts)."""
    ts = f"17000{next(_ts):05d}.000100"
    await emu.post_event(message_event(COMMUNITY, author, f"question {ts}", ts=ts))
    async with app.db.transaction() as session:
        found = select(MentionRow.id).where(MentionRow.external_id == f"{COMMUNITY}:{ts}")
        mention_id = (await session.execute(found)).scalar_one()
    await wait_for(lambda: card_of(emu, mention_id))
    await app.wait_idle()
    return mention_id, ts


def card_of(emu: SlackEmulator, mention_id: int) -> dict[str, Any] | None:
    key = f"post_card:slack:{mention_id}"
    for message in emu.top_level(STAFF):
        if ((message.get("metadata") or {}).get("event_payload") or {}).get("dedupe_key") == key:
            return message
    return None


def told(emu: SlackEmulator, user: str) -> list[str]:
    return [e["text"] for e in emu.ephemerals if e["user"] == user]


async def press(emu: SlackEmulator, user: str, channel: str, action_id: str, mention_id: int) -> None:
    """A button press on the card of ``mention_id`` (the payload Slack sends for it)."""
    card = card_of(emu, mention_id)
    assert card is not None
    element = {"action_id": action_id, "value": button_value(mention_id), "type": "button"}
    url = emu.response_url()
    payload = P.block_actions(
        user=user, message=card, channel=channel, action=element, block_id="b", response_url=url
    )
    await emu.send("interactive", payload)


async def answered(emu: SlackEmulator, user: str, before: int) -> str:
    await wait_for(lambda: len(told(emu, user)) > before)
    return told(emu, user)[-1]


async def form_button(emu: SlackEmulator, user: str, where: str, action_id: str, mention_id: int) -> bool:
    """Press Reply or Reassign: True when the form opened, False when the actor was told no."""
    views, seen = len(emu.views), len(told(emu, user))
    await press(emu, user, where, action_id, mention_id)
    await wait_for(lambda: len(emu.views) > views or len(told(emu, user)) > seen)
    if len(emu.views) > views:
        return True
    assert told(emu, user)[-1] == NOT_STAFF
    return False


async def card_action(emu: SlackEmulator, user: str, action: str, mention_id: int, where: str) -> bool:
    """Run one card action; True when it was let through (buttons and forms both)."""
    seen = len(told(emu, user))
    simple = {"claim": CLAIM, "resolve": RESOLVE, "release": RELEASE, "ignore": IGNORE, "snooze": SNOOZE}
    if action == "approve":
        await press(emu, user, where, APPROVE, mention_id)
        return (await answered(emu, user, seen)).startswith("Approved")
    if action in simple:
        await press(emu, user, where, simple[action], mention_id)
        return not (await answered(emu, user, seen)).startswith(REFUSALS)
    if action == "reply button":
        return await form_button(emu, user, where, REPLY, mention_id)
    if action == "reassign":
        opened = await form_button(emu, user, where, REASSIGN, mention_id)
        form = emu.store_view(reassign_view(mention_id, channel=where))  # submitted even if it never opened
        seen = len(told(emu, user))
        await emu.submit(user, form, {ROLE_BLOCK: {"role": {"type": "plain_text_input", "value": "tech"}}})
        done = (await answered(emu, user, seen)).startswith("Reassigned")
        assert opened == done
        return done
    assert action == "reply submit"
    return await reply_submit(emu, user, mention_id, where)


async def reply_submit(emu: SlackEmulator, user: str, mention_id: int, where: str) -> bool:
    """Submit the editor, then the preview (forged if the editor was refused): both must say no."""
    seen, text = len(told(emu, user)), "We open at nine."
    editor = emu.store_view(reply_view(ReplyDraft(mention_id, "slack", "public", where)))
    typed = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}}
    first = (await emu.submit(user, editor, typed))["payload"]
    preview = emu.store_view(preview_view(ReplyDraft(mention_id, "slack", "public", where, text)))
    assert (await emu.submit(user, preview, {}))["payload"] == {"response_action": "clear"}
    result = await answered(emu, user, seen)
    if first["response_action"] == "errors":
        assert first["errors"][TEXT_BLOCK] == NOT_STAFF and result == NOT_STAFF
        return False
    return result.startswith("Reply to")


async def command(emu: SlackEmulator, user: str, action: str, channel: str) -> bool:
    name, text = {
        "/desk": ("/desk", ""),
        "/rota read": ("/rota", "now"),
        "/rota change": ("/rota", "add @bob tech mon 09:00-10:00"),
    }[action]
    seen = len(emu.responses)
    await emu.command(user, name, text, channel)
    await wait_for(lambda: len(emu.responses) > seen)
    answer = emu.responses[-1]
    assert answer["response_type"] == "ephemeral"
    return not any(refusal in answer["text"] for refusal in REFUSALS)


async def edit_other(app: PatronDesk, emu: SlackEmulator, user: str) -> bool:
    """``user`` sends an edit of another patron's message (Slack would refuse; a forged event must too)."""
    mention_id, ts = await new_mention(app, emu, author=PATRON2)
    event = message_event(COMMUNITY, user, "", ts=f"{ts[:-3]}900", subtype="message_changed")
    edited = {"type": "message", "user": user, "text": "rewritten", "ts": ts, "edited": {"user": user}}
    event["message"] = edited
    await emu.post_event(event)
    return (await app.service.view(mention_id)).text != f"question {ts}"


async def prepare(app: PatronDesk, emu: SlackEmulator, who: str, action: str) -> int:
    """A fresh card for the cell; Release and Snooze need it claimed (by the actor when they are staff),
    Approve a reply held for approval (written by staff)."""
    mention_id, _ = await new_mention(app, emu)
    if action == "approve":
        held = await app.service.handle(Reply(mention_id, StaffRef("slack", BOB, "staff"), "Held answer"))
        assert held.ok and "held for approval" in held.message
        await app.wait_idle()
    if action in ("release", "snooze"):
        holder = who if who in ("staff", "manager") else "staff"
        await app.service.handle(Claim(mention_id, StaffRef("slack", ACTORS[holder], holder)))
        await app.wait_idle()
    return mention_id


async def test_authorization_matrix(app: PatronDesk, emu: SlackEmulator) -> None:
    observed: dict[tuple[str, str], bool] = {}
    for who, action in itertools.product(ACTORS, ACTIONS):
        user = ACTORS[who]
        where = COMMUNITY if who == "patron" else STAFF
        mention_id = await prepare(app, emu, who, action) if action in CARD_ACTIONS else 0
        await app.wait_idle()
        before = await snapshot(app.db)
        if action in CARD_ACTIONS:
            allowed = await card_action(emu, user, action, mention_id, where)
        elif action == "edit other's mention":
            before = None
            allowed = await edit_other(app, emu, user)
        else:
            allowed = await command(emu, user, action, where)
        await app.wait_idle()
        observed[who, action] = allowed
        if before is not None:
            changed = await snapshot(app.db) != before
            assert changed is (allowed and action in CHANGING), f"{who} {action}: allowed={allowed}"
    expected = {(who, a): a in EXPECTED[who] for who, a in itertools.product(ACTORS, ACTIONS)}
    wrong = {cell: got for cell, got in observed.items() if got != expected[cell]}
    assert not wrong, f"{len(wrong)} of {len(expected)} cells differ: {wrong}"
    staff_ids = {row[3] for row in (await snapshot(app.db))["staff"]}
    assert CAROL not in staff_ids and PATRON not in staff_ids  # strangers never become staff


async def test_stranger_claim_is_refused_and_adds_no_staff_row(app: PatronDesk, emu: SlackEmulator) -> None:
    """Finding 4: a click from someone who is neither in [[staff]] nor a manager made them staff."""
    mention_id, _ = await new_mention(app, emu)
    before = await snapshot(app.db)
    await press(emu, CAROL, STAFF, CLAIM, mention_id)
    assert await answered(emu, CAROL, 0) == NOT_STAFF
    await app.wait_idle()
    assert await snapshot(app.db) == before
    assert (await app.service.view(mention_id)).assignee is None


async def test_commands_answer_only_in_the_staff_channel_or_a_dm(app: PatronDesk, emu: SlackEmulator) -> None:
    """Finding 4: /desk and /rota answered in community channels; now they say where to use them."""
    await emu.command(BOB, "/desk", "", COMMUNITY)
    await wait_for(lambda: len(emu.responses) == 1)
    assert emu.responses[0]["text"].startswith("Use /desk in the staff channel or in a direct message")
    await emu.command(BOB, "/desk", "", DM)  # staff in a direct message: answered
    await wait_for(lambda: len(emu.responses) == 2)
    assert "desk is clear" in emu.responses[1]["text"]
    await emu.command(CAROL, "/rota", "now", DM)  # a stranger's direct message: refused
    await wait_for(lambda: len(emu.responses) == 3)
    assert emu.responses[2]["text"] == NOT_STAFF_COMMAND


async def test_staff_group_and_channel_fallback(tmp_path: Path, emu: SlackEmulator) -> None:
    """SLACK_STAFF_GROUP members are staff; with no [[staff]] and no group, staff-channel members are."""
    emu.members[STAFF] = [CAROL]
    emu.usergroups["S0STAFF"] = [BOB]
    for group, insider, outsider in (("S0STAFF", BOB, CAROL), ("", CAROL, BOB)):
        settings = Settings(
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/g{group or 'none'}.db",
            CONSOLE_DESK="off",
            HTTP_PORT=0,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=emu.api_url,
            SLACK_STAFF_CHANNEL=STAFF,
            SLACK_STAFF_GROUP=group,
        )
        desk = PatronDesk(settings)
        desk.clients["slack"] = make_client(emu, pace=0.01)
        async with desk:
            await emu.connected()
            for user, refused in ((insider, False), (outsider, True)):
                seen = len(emu.responses)
                await emu.command(user, "/desk", "", STAFF)
                await wait_for(lambda n=seen: len(emu.responses) > n)
                assert (emu.responses[-1]["text"] == NOT_STAFF_COMMAND) is refused, (group, user)
    assert emu.count("conversations.members") >= 1 and emu.count("usergroups.users.list") >= 1


async def test_roster_lookups_are_cached_briefly_and_a_failure_lets_nobody_in(
    client: SlackClient, emu: SlackEmulator
) -> None:
    """Members come from Slack (paged), are kept for a minute, and a failed lookup means "unknown"."""
    now = [0.0]
    roster = SlackRoster(client, staff_channel=STAFF, role_channels=("C0ROLE01",), clock=lambda: now[0])
    emu.members[STAFF] = [f"U0M{n:06d}" for n in range(450)] + [CAROL]  # three pages of 200
    assert (await roster.facts(CAROL, need_room=True)).in_room is True
    assert emu.count("conversations.members") == 3
    emu.members[STAFF] = []  # Carol leaves the channel: still known for the cache's minute
    assert (await roster.facts(CAROL, need_room=True)).in_room is True
    now[0] += TTL + 1
    assert (await roster.facts(CAROL, need_room=True)).in_room is False
    now[0] += TTL + 1
    emu.fail("conversations.members", Fault("error", error="fetch_members_failed"))
    unknown = await roster.facts(CAROL, need_room=True)
    assert unknown.in_room is None and not is_staff(CAROL, unknown, listed=frozenset())
    places = [roster.place(c) for c in (STAFF, "C0ROLE01", "D0123", COMMUNITY, "", "G0MPIM")]
    assert places == [
        Place.STAFF,
        Place.STAFF,
        Place.DIRECT,
        Place.ELSEWHERE,
        Place.ELSEWHERE,
        Place.ELSEWHERE,
    ]
