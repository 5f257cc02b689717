"""The Slack desk over Socket Mode against the emulator, with a fake service behind ``on_action``."""

from __future__ import annotations

import asyncio
import json

from bot.models import (
    Claim,
    DeskQuery,
    Ignore,
    OpenForm,
    Reassign,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    Status,
)
from bot.platforms.slack.buttons import CARD_EVENT, CLAIM, IGNORE, NOTE, REASSIGN, RELEASE, REPLY, RESOLVE
from bot.platforms.slack.reassign_form import PERSON_BLOCK, ROLE_BLOCK
from bot.platforms.slack.reply_draft import TEXT_BLOCK, VIS_BLOCK
from tests.fakes.slack import SlackEmulator
from tests.slack.slack_helpers import ALICE, BOB, CAROL, STAFF, Served, view, wait_for


async def test_card_posted_with_metadata_and_buttons(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(7), channel="", dedupe_key="post_card:slack:7")
    message = emu.message(STAFF, ref.message_id)
    assert ref.channel == STAFF
    assert message["metadata"] == {
        "event_type": CARD_EVENT,
        "event_payload": {"dedupe_key": "post_card:slack:7"},
    }
    ids = [el["action_id"] for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert ids == [CLAIM, REPLY, REASSIGN, IGNORE, NOTE]
    assert "renew" not in message["text"]  # the notification text carries no patron words


async def test_each_click_is_acked_and_becomes_an_action(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(3), channel=STAFF, dedupe_key="k3")
    for action_id, kind in ((CLAIM, Claim), (RESOLVE, Resolve), (RELEASE, Release), (IGNORE, Ignore)):
        card = (
            view(3, status=Status.CLAIMED, assignee="Alice") if action_id in (RESOLVE, RELEASE) else view(3)
        )
        await served.desk.update_card(ref, card)
        want = len(served.service.actions) + 1
        ack = await emu.click(ALICE, STAFF, ref.message_id, action_id)
        assert ack.keys() == {"envelope_id"}  # a plain ack, sent before the service runs
        await wait_for(lambda n=want: len(served.service.actions) == n)
        action = served.service.actions[-1]
        assert isinstance(action, kind)
        assert (action.mention_id, action.actor.user_id) == (3, ALICE)
    await served.desk.idle()
    assert len([e for e in emu.ephemerals if e["user"] == ALICE]) == 4  # every click answered


async def test_claim_race_one_winner_losers_told_privately(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(5), channel=STAFF, dedupe_key="k5")
    users = [f"U0RACER{n:02d}" for n in range(10)]
    acks = await asyncio.gather(*(emu.click(u, STAFF, ref.message_id, CLAIM) for u in users))
    assert len(acks) == 10
    await wait_for(lambda: len(emu.ephemerals) == 10)
    winner = served.service.owner[5]
    lost = [e for e in emu.ephemerals if "already claimed" in e["text"]]
    assert len(lost) == 9 and winner not in {e["user"] for e in lost}
    assert all("<@" not in e["text"] and "@\u200bhere" in e["text"] for e in lost)  # answers cannot ping


async def test_reply_modal_preview_then_publish(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(9), channel=STAFF, dedupe_key="k9")
    await emu.click(BOB, STAFF, ref.message_id, REPLY)
    await wait_for(lambda: emu.views)
    editor = next(iter(emu.views.values()))
    assert "500" in json.dumps(editor["blocks"])  # Mastodon's limit is shown
    # only the gate's check (changes nothing) came before views.open
    assert [type(a) for a in served.service.actions] == [OpenForm]

    too_long = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "x" * 501}}}
    ack = await emu.submit(BOB, editor, too_long)
    assert ack["payload"]["response_action"] == "errors"
    assert "allows 500" in ack["payload"]["errors"][TEXT_BLOCK]

    text = "Yes: sign in at <https://library.example|the catalogue> & renew."
    ok = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}}
    if VIS_BLOCK in json.dumps(editor["blocks"]):
        ok[VIS_BLOCK] = {"visibility": {"type": "radio_buttons", "selected_option": {"value": "public"}}}
    ack = await emu.submit(BOB, editor, ok)
    assert ack["payload"]["response_action"] == "push"
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert "&lt;https" in json.dumps(preview["blocks"])  # shown escaped, exactly as typed
    ack = await emu.submit(BOB, preview, {})
    assert ack["payload"] == {"response_action": "clear"}
    await wait_for(lambda: isinstance(served.service.actions[-1], Reply))
    reply = served.service.actions[-1]
    assert isinstance(reply, Reply) and (reply.mention_id, reply.text, reply.actor.user_id) == (9, text, BOB)


async def test_feed_card_has_open_link_and_mark_handled(served: Served, emu: SlackEmulator) -> None:
    feed = view(11, source="feeds", can_reply=False, url="https://news.example/story?a=1&b=2")
    ref = await served.desk.post_card(feed, channel=STAFF, dedupe_key="k11")
    buttons = [
        el
        for b in emu.message(STAFF, ref.message_id)["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
    ]
    assert [b["text"]["text"] for b in buttons] == [
        "Claim",
        "Open link",
        "Mark handled",
        "Resolve with READ…",
        "Reassign",
        "Ignore",
        "Note & tags",
    ]
    assert buttons[1]["url"] == "https://news.example/story?a=1&b=2"
    await emu.click(ALICE, STAFF, ref.message_id, RESOLVE)
    await wait_for(lambda: served.service.actions)
    assert isinstance(served.service.actions[0], Resolve)


async def test_reassign_modal_to_a_person(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(4), channel=STAFF, dedupe_key="k4")
    await emu.click(ALICE, STAFF, ref.message_id, REASSIGN)
    await wait_for(lambda: emu.views)
    form = next(iter(emu.views.values()))
    both = {ROLE_BLOCK: {"role": {"value": "tech"}}, PERSON_BLOCK: {"person": {"selected_user": BOB}}}
    ack = await emu.submit(ALICE, form, both)
    assert ack["payload"]["response_action"] == "errors"
    ack = await emu.submit(ALICE, form, {PERSON_BLOCK: {"person": {"selected_user": BOB}}})
    assert ack["payload"]["response_action"] == "clear"
    await wait_for(lambda: isinstance(served.service.actions[-1], Reassign))
    assert [type(a) for a in served.service.actions] == [OpenForm, Reassign]  # the gate's check first
    assert served.service.actions[1] == Reassign(4, served.service.actions[1].actor, None, f"<@{BOB}>")


async def test_rota_manager_flag_from_list_and_group(served: Served, emu: SlackEmulator) -> None:
    for user in (ALICE, CAROL, BOB):
        ack = await emu.command(user, "/rota", "swap tue @bob", STAFF)
        assert ack.keys() == {"envelope_id"}
    await wait_for(lambda: len(served.service.actions) == 3 and len(emu.responses) == 3)
    flags = {a.actor.user_id: a.is_manager for a in served.service.actions if isinstance(a, RotaCommand)}
    assert flags == {ALICE: True, CAROL: True, BOB: None}  # Bob: the staff table decides
    assert all(r["response_type"] == "ephemeral" for r in emu.responses)
    await emu.command(BOB, "/desk", "", STAFF)
    await wait_for(lambda: isinstance(served.service.actions[-1], DeskQuery))


async def test_expired_trigger_is_answered(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(2), channel=STAFF, dedupe_key="k2")
    payload = emu.click_payload(ALICE, STAFF, ref.message_id, REPLY)
    await emu.send("interactive", payload)
    await wait_for(lambda: emu.views)
    await emu.send("interactive", payload)  # the same trigger id again: Slack refuses it
    await wait_for(lambda: any("press the button again" in e["text"] for e in emu.ephemerals))
