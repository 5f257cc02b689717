"""Snooze and approval through the Slack emulator with the whole bot: buttons on the card, the card's
status line, the approver's notice, and the reply reaching the patron's thread only after Approve."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import PatronDesk
from bot.models import Status
from bot.platforms.slack.buttons import APPROVE, CLAIM, EDIT, REJECT, REPLY, SNOOZE, WAKE
from bot.platforms.slack.reply_draft import TEXT_BLOCK
from bot.platforms.slack.set_aside_forms import REASON_BLOCK
from tests.fakes.slack import SlackEmulator
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import ALICE, BOB, OTHER, STAFF, make_client, wait_for
from tests.slack.test_slack_e2e import (
    PATRON,
    buttons,
    card_text,
    cards,
    patron_says,
    reply_through_modal,
    settings_for,
    settled,
    thread_replies,
)

APPROVAL = '[roles.tech]\nsla_minutes = 60\napproval = "alice"\n'


def with_approval(rules: Path) -> None:
    """The e2e rules file, with the tech role's replies approved by Alice."""
    rules.write_text(rules.read_text().replace("[roles.tech]\nsla_minutes = 60\n", APPROVAL))


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[PatronDesk]:
    settings = settings_for(tmp_path, emu)
    assert settings.RULES_FILE is not None
    with_approval(Path(settings.RULES_FILE))
    desk = PatronDesk(settings)
    desk.clients["slack"] = make_client(emu, pace=0.02)
    async with desk:
        await emu.connected()
        yield desk


def told(emu: SlackEmulator, user: str, needle: str) -> list[str]:
    return [e["text"] for e in emu.ephemerals if e["user"] == user and needle in e["text"]]


async def test_snooze_button_then_wake(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "Where are the flood records?", "1700000500.000100")
    await emu.click(BOB, STAFF, card["ts"], CLAIM)
    card = await settled(app, emu, card["ts"], "Claimed by")
    await emu.click(ALICE, STAFF, card["ts"], "pd_snooze")  # not hers: refused, nothing changes
    await wait_for(lambda: told(emu, ALICE, "only they can snooze"))
    await asyncio.gather(  # two snooze buttons pressed at once (two tabs): one outcome, the other told
        emu.click(BOB, STAFF, card["ts"], "pd_snooze"), emu.click(BOB, STAFF, card["ts"], "pd_snooze_2h")
    )
    await wait_for(lambda: told(emu, BOB, "Cannot snooze"))
    card = await settled(app, emu, card["ts"], "Snoozed until")
    assert buttons(card)[:2] == [WAKE, REPLY]
    assert len(told(emu, BOB, "Snoozed until")) == 1
    await emu.click(BOB, STAFF, card["ts"], WAKE)
    card = await settled(app, emu, card["ts"], "Claimed by")
    assert (await app.service.view(int(card_id(card)))).status is Status.CLAIMED


def card_id(card: dict[str, object]) -> str:
    payload = (card.get("metadata") or {}).get("event_payload") or {}  # type: ignore[union-attr]
    return str(payload["dedupe_key"]).rsplit(":", 1)[1]  # type: ignore[index]


async def test_reply_needing_approval_is_published_only_after_approve(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    parent = "1700000600.000100"
    card = await patron_says(emu, "The wifi is down again", parent)
    await emu.click(BOB, STAFF, card["ts"], CLAIM)
    card = await settled(app, emu, card["ts"], "Claimed by")
    await reply_through_modal(emu, BOB, card["ts"], "Restarting the router now.")
    card = await settled(app, emu, card["ts"], "Awaiting approval")
    assert buttons(card)[:3] == [APPROVE, EDIT, REJECT] and "Restarting the router now." in card_text(card)
    await wait_for(lambda: told(emu, ALICE, "waits for your approval"))
    assert thread_replies(emu, parent) == []  # held: the patron sees nothing
    await asyncio.gather(  # two clicks at once (a double click, or two tabs): published once
        emu.click(ALICE, STAFF, card["ts"], APPROVE), emu.click(ALICE, STAFF, card["ts"], APPROVE)
    )
    await wait_for(lambda: len(thread_replies(emu, parent)) == 1)
    await settled(app, emu, card["ts"], "see the published reply")
    await wait_for(lambda: told(emu, BOB, "was approved by Alice"))
    # the second click's refusal is its own task: it may land after Bob hears of the approval
    await wait_for(lambda: told(emu, ALICE, "Someone else decided") + told(emu, ALICE, "Cannot approve"))
    await app.wait_idle()
    assert len(told(emu, ALICE, "Someone else decided") + told(emu, ALICE, "Cannot approve")) == 1
    assert [m["text"] for m in thread_replies(emu, parent)] == ["Restarting the router now."]


async def test_rejected_reply_never_reaches_the_patron(app: PatronDesk, emu: SlackEmulator) -> None:
    parent = "1700000700.000100"
    card = await patron_says(emu, "wifi password?", parent)
    await emu.click(BOB, STAFF, card["ts"], CLAIM)
    await settled(app, emu, card["ts"], "Claimed by")
    await reply_through_modal(emu, BOB, card["ts"], "It is hunter2.")
    card = await settled(app, emu, card["ts"], "Awaiting approval")
    await emu.click(BOB, STAFF, card["ts"], APPROVE)  # the writer cannot approve their own reply
    await wait_for(lambda: told(emu, BOB, "Only alice or a manager"))
    before = set(emu.views)
    for button in (REJECT, EDIT):  # nor open the reason form or the editor: told at the click
        await emu.click(BOB, STAFF, card["ts"], button)
    await wait_for(lambda: len(told(emu, BOB, "Only alice or a manager")) == 3)
    await app.wait_idle()
    assert set(emu.views) == before and emu.count("views.open") == 1  # only Bob's own Reply form
    await emu.click(ALICE, STAFF, card["ts"], REJECT)  # a form: the reason Bob is told
    await wait_for(lambda: set(emu.views) - before)
    form = emu.views[(set(emu.views) - before).pop()]
    reason = {REASON_BLOCK: {"reason": {"type": "plain_text_input", "value": "Never share the password."}}}
    assert (await emu.submit(ALICE, form, reason))["payload"] == {"response_action": "clear"}
    card = await settled(app, emu, card["ts"], "Claimed by")
    await wait_for(lambda: told(emu, BOB, "was not approved by Alice Archer: Never share the password."))
    await app.wait_idle()
    assert thread_replies(emu, parent) == []


async def test_the_approver_edits_and_publishes_their_version(app: PatronDesk, emu: SlackEmulator) -> None:
    parent = "1700000800.000100"
    card = await patron_says(emu, "wifi in the annex?", parent)
    await emu.click(BOB, STAFF, card["ts"], CLAIM)
    await settled(app, emu, card["ts"], "Claimed by")
    await reply_through_modal(emu, BOB, card["ts"], "ya it works")
    card = await settled(app, emu, card["ts"], "Awaiting approval")
    before = set(emu.views)
    await emu.click(ALICE, STAFF, card["ts"], EDIT)
    await wait_for(lambda: set(emu.views) - before)
    editor = emu.views[(set(emu.views) - before).pop()]
    assert "ya it works" in str(editor["blocks"]) and "approves your version" in str(editor["blocks"])
    typed = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "Yes, the annex has wifi."}}}
    ack = await emu.submit(ALICE, editor, typed)
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: len(thread_replies(emu, parent)) == 1)
    await wait_for(lambda: told(emu, BOB, "was approved by Alice"))
    await app.wait_idle()
    assert [m["text"] for m in thread_replies(emu, parent)] == ["Yes, the annex has wifi."]


async def test_an_unmentioned_thread_reply_outside_the_community_channels_only_joins(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    asked = "1700000600.000100"
    mention = message_event(OTHER, PATRON, "<@U0BOTUSER1> where are the flood records?", ts=asked)
    await emu.post_event({**mention, "type": "app_mention"})
    await wait_for(lambda: any(asked.replace(".", "") in card_text(c) for c in cards(emu)))
    card = next(c for c in cards(emu) if asked.replace(".", "") in card_text(c))
    await emu.click(BOB, STAFF, card["ts"], CLAIM)
    await settled(app, emu, card["ts"], "Claimed by")
    await emu.click(BOB, STAFF, card["ts"], SNOOZE)  # wait for the patron
    card = await settled(app, emu, card["ts"], "Snoozed")
    mention_id = int(card_id(card))

    # the listener stores (or drops) before Slack is acked: each event is done when post_event returns
    await emu.post_event(
        message_event(OTHER, ALICE, "send it to me", ts="1700000600.000200", thread_ts=asked)
    )
    await emu.post_event(message_event(OTHER, PATRON, "nice weather", ts="1700000600.000300"))
    await emu.post_event(
        message_event(OTHER, PATRON, "sunny", ts="1700000600.000400", thread_ts="1700000600.000300")
    )
    await app.wait_idle()
    view = await app.service.view(mention_id)
    assert view.status is Status.SNOOZED and "send it to me" not in view.text and len(cards(emu)) == 1
    follow_up = message_event(OTHER, PATRON, "the 1953 flood", ts="1700000600.000500", thread_ts=asked)
    await emu.post_event(follow_up)
    await emu.post_event(follow_up, event_id="Ev0AGAIN")  # delivered again: joined once
    await app.wait_idle()
    view = await app.service.view(mention_id)
    assert view.status is Status.CLAIMED and view.snoozed_until is None
    assert view.text.count("the 1953 flood") == 1 and "sunny" not in view.text and len(cards(emu)) == 1
