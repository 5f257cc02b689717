"""Saved answers and the privacy guard through the Slack Reply form (emulated Slack, the real app).

Choosing a saved answer fills the text box (a ``block_actions`` from the modal, then ``views.update``);
the reply stays editable and is published once. A reply with a card number and a phone number gets a
warning in the preview and is published only from there; the card shows 🔒 for a post with a phone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.platforms.slack.buttons import REPLY
from bot.platforms.slack.reply_draft import ANSWER_BLOCK, ANSWER_SELECT, TEXT_BLOCK
from tests.fakes.slack import SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, make_client, wait_for
from tests.slack.test_slack_e2e import card_text, patron_says, settings_for, thread_replies

ANSWERS = """
[constants]
renew_url = "https://catalogue.example.org/account"

[answers.renewals]
text = "Hi {patron}, renew at {renew_url}. Open today {today_hours}."

[answers.private]
text = "Thanks {patron}, please send us a direct message so we can check your account."
"""
MONDAY = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[PatronDesk]:
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS)
    config = settings_for(tmp_path, emu).replace(
        ANSWERS_FILE=answers, CARD_NUMBER_PATTERN=r"\b2\d{13}\b", OPENING_HOURS="mon-fri 09:00-19:00"
    )
    desk = PatronDesk(config, clock=lambda: MONDAY)
    desk.clients["slack"] = make_client(emu, pace=0.02)
    async with desk:
        await emu.connected()
        yield desk


async def open_editor(emu: SlackEmulator, card_ts: str) -> dict[str, Any]:
    before = set(emu.views)
    await emu.click(ALICE, STAFF, card_ts, REPLY)
    await wait_for(lambda: set(emu.views) - before)
    return emu.views[(set(emu.views) - before).pop()]


def text_box(view: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b["type"] == "input" and b["block_id"].startswith(TEXT_BLOCK))


async def test_a_saved_answer_fills_the_form_and_is_published_once(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    card = await patron_says(emu, "Can I renew online?", "1700000100.000100")
    editor = await open_editor(emu, card["ts"])
    [select] = [b for b in editor["blocks"] if b.get("block_id") == ANSWER_BLOCK]
    assert [o["value"] for o in select["elements"][0]["options"]] == ["private", "renewals"]
    hash_before = editor["hash"]

    await emu.choose(ALICE, editor, ANSWER_BLOCK, ANSWER_SELECT, "renewals")
    await wait_for(lambda: emu.views[editor["id"]]["hash"] != hash_before)
    filled = emu.views[editor["id"]]
    box = text_box(filled)
    expected = "Hi Pat Ron, renew at https://catalogue.example.org/account. Open today 09:00-19:00."
    assert box["element"]["initial_value"] == expected and box["block_id"] != TEXT_BLOCK  # a fresh box
    assert thread_replies(emu) == []  # choosing sends nothing

    edited = expected + " See you!"  # still editable
    values = {box["block_id"]: {"text": {"type": "plain_text_input", "value": edited}}}
    ack = await emu.submit(ALICE, filled, values)
    assert ack["payload"]["response_action"] == "push"
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert "Private data" not in json.dumps(preview["blocks"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: len(thread_replies(emu)) == 1)
    await app.wait_idle()
    [reply] = thread_replies(emu)
    assert reply["text"] == edited
    assert emu.count("views.update") == 1


async def test_the_preview_warns_of_a_card_and_a_phone_number_and_publish_confirms(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    card = await patron_says(emu, "Is my card still valid?", "1700000100.000100")
    assert "🔒" not in card_text(card)
    editor = await open_editor(emu, card["ts"])
    risky = "Card 21234567890123 is fine; call 020 7946 0958."
    typed = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": risky}}}
    ack = await emu.submit(ALICE, editor, typed)
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    shown = json.dumps(preview["blocks"], ensure_ascii=False)
    assert "the reply contains a library card number and a phone number" in shown
    assert preview["submit"]["text"] == "Publish anyway"  # Slack threads have no private reply
    await app.wait_idle()
    assert thread_replies(emu) == []
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: len(thread_replies(emu)) == 1)
    await app.wait_idle()
    assert len(thread_replies(emu)) == 1


async def test_the_card_shows_a_lock_when_the_post_has_a_phone_number(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    card = await patron_says(emu, "Please call me on 07700 900123 about my hold", "1700000100.000100")
    assert "🔒 The post contains a phone number" in card_text(card)
    editor = await open_editor(emu, card["ts"])
    ack = await emu.submit(
        ALICE, editor, {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "We will call you."}}}
    )
    preview = json.dumps(ack["payload"]["view"]["blocks"], ensure_ascii=False)
    assert "the patron's post contains a phone number" in preview


async def test_a_typed_saved_answer_is_previewed_filled_in_and_an_unknown_one_is_refused(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    card = await patron_says(emu, "Can I renew online?", "1700000100.000100")
    editor = await open_editor(emu, card["ts"])
    typed = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "/renewls"}}}
    refused = (await emu.submit(ALICE, editor, typed))["payload"]
    assert refused["response_action"] == "errors"
    assert 'did you mean "renewals"' in refused["errors"][TEXT_BLOCK]
    typed = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "/renewals"}}}
    ack = await emu.submit(ALICE, editor, typed)
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert "Hi Pat Ron, renew at https://catalogue.example.org/account." in json.dumps(preview["blocks"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: len(thread_replies(emu)) == 1)
    await app.wait_idle()
    [reply] = thread_replies(emu)
    assert reply["text"].startswith("Hi Pat Ron, renew at")  # what the preview showed
