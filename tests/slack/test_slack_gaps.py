"""Issue 16's Slack gaps on the emulator with the whole bot: tags edited on a resolved card, a
Reject with a reason, a snooze to a time the staff member picks."""

from __future__ import annotations

from typing import Any

from bot.app import PatronDesk
from bot.models import Status
from bot.platforms.slack.cards import CLAIM, NOTE, RESOLVE
from bot.platforms.slack.modal import TAGS_BLOCK
from tests.fakes.slack import SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, wait_for
from tests.slack.test_slack_e2e import app, card_text, open_form, patron_says, settled, thread_replies

__all__ = ["app"]  # the fixture: the whole bot on the emulator


def tags(*chosen: str) -> dict[str, Any]:
    options = [{"value": tag} for tag in chosen]
    return {TAGS_BLOCK: {"tags": {"type": "multi_static_select", "selected_options": options}}}


async def test_tags_are_edited_on_a_resolved_card(app: PatronDesk, emu: SlackEmulator) -> None:
    parent = "1700001000.000100"
    card = await patron_says(emu, "Thanks for the great storytime!", parent)
    ts = card["ts"]
    await emu.click(ALICE, STAFF, ts, CLAIM)
    await settled(app, emu, ts, "Claimed by")
    await emu.click(ALICE, STAFF, ts, RESOLVE)
    await settled(app, emu, ts, "Resolved by")
    form = await open_form(emu, ALICE, ts, NOTE)  # the closed card still has Note & tags
    assert (await emu.submit(ALICE, form, tags("praise", "event")))["payload"] == {"response_action": "clear"}
    card = await settled(app, emu, ts, "`praise`")
    assert "`event`" in card_text(card) and "Resolved by" in card_text(card)
    form = await open_form(emu, ALICE, ts, NOTE)  # and tags come off again
    await emu.submit(ALICE, form, tags("praise"))
    await wait_for(lambda: "`event`" not in card_text(emu.message(STAFF, ts)))
    await app.wait_idle()
    view = await app.service.view(1)
    assert view.tags == ("praise",) and view.status is Status.RESOLVED
    assert thread_replies(emu, parent) == []
