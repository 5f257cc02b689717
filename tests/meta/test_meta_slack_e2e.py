"""Facebook and Instagram through the whole bot with the Slack emulator as the desk: a signed webhook
becomes a Slack card; Claim, then Reply in the real modal publishes one reply; choosing
"Private mention (direct)" in the modal sends the private reply to Messenger instead, once; the
modal refuses a nested Instagram comment and says why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.slack.buttons import CARD_EVENT, CLAIM, REPLY
from bot.platforms.slack.reply_draft import TEXT_BLOCK, VIS_BLOCK
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph, signed_post
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, make_client, wait_for

from .test_meta_e2e import meta_settings

RULES = f"""
default_role = "social-media"

[roles.social-media]
sla_minutes = 60

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "{ALICE}"
"""


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    emulator = await SlackEmulator().start()
    emulator.add_channel(STAFF)
    emulator.add_user(ALICE, "alice", "Alice Archer")
    try:
        yield emulator
    finally:
        await emulator.close()


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator, graph: FakeGraph) -> AsyncIterator[PatronDesk]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/slack.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        **meta_settings(graph, instagram=True),
    )
    desk = PatronDesk(settings)
    desk.clients["slack"] = make_client(emu, pace=0.02)
    async with desk:
        await emu.connected()
        yield desk


def cards(emu: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emu.top_level(STAFF) if (m.get("metadata") or {}).get("event_type") == CARD_EVENT]


def card_with(emu: SlackEmulator, needle: str) -> dict[str, Any] | None:
    return next((c for c in cards(emu) if needle in json.dumps(c["blocks"], ensure_ascii=False)), None)


async def open_editor(emu: SlackEmulator, card_ts: str) -> dict[str, Any]:
    before = set(emu.views)
    await emu.click(ALICE, STAFF, card_ts, REPLY)
    await wait_for(lambda: set(emu.views) - before)
    return emu.views[(set(emu.views) - before).pop()]


async def send(
    emu: SlackEmulator, editor: dict[str, Any], text: str, visibility: str | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}}
    if visibility is not None:
        values[VIS_BLOCK] = {
            "visibility": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        }
    return await emu.submit(ALICE, editor, values)


async def test_facebook_card_claim_reply_and_private_reply_from_the_slack_modal(
    app: PatronDesk, emu: SlackEmulator, graph: FakeGraph
) -> None:
    await wait_for(lambda: graph.hits_for("posts"))  # the start-up catch-up ran
    post = graph.add_post()
    public = graph.add_comment(post["id"], "Are you open on Monday?")
    private = graph.add_comment(post["id"], "My library card PIN stopped working")
    url = f"http://127.0.0.1:{app.http_port}/webhooks/facebook"
    for comment in (public, private):
        assert (await signed_post(url, graph.feed_webhook(comment))).status_code == 200
    await wait_for(lambda: card_with(emu, "open on Monday") and card_with(emu, "PIN stopped"))
    first, second = card_with(emu, "open on Monday"), card_with(emu, "PIN stopped")
    assert first is not None and second is not None
    assert "Messenger" in json.dumps(second["blocks"])  # the account question offers the private reply
    await emu.click(ALICE, STAFF, first["ts"], CLAIM)
    editor = await open_editor(emu, first["ts"])
    assert VIS_BLOCK in json.dumps(editor["blocks"])  # Facebook's editor offers the choice
    ack = await send(emu, editor, "Yes, 9 to 5.", "public")
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    editor = await open_editor(emu, second["ts"])
    ack = await send(emu, editor, "We have sent you a private message.", "direct")
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: graph.state.created and graph.state.messages)
    await app.wait_idle()
    assert [(c["parent"], c["message"]) for c in graph.state.created] == [(public["id"], "Yes, 9 to 5.")]
    assert graph.state.messages == [
        {
            "recipient": {"comment_id": private["id"]},
            "message": {"text": "We have sent you a private message."},
        }
    ]


async def test_instagram_nested_comment_is_refused_in_the_slack_modal(
    app: PatronDesk, emu: SlackEmulator, graph: FakeGraph
) -> None:
    media = graph.add_media()
    top = graph.add_ig_comment(media["id"], "Do you lend telescopes?")
    nested = graph.add_ig_comment(media["id"], "and binoculars?", parent_id=top["id"])
    url = f"http://127.0.0.1:{app.http_port}/webhooks/instagram"
    for comment in (top, nested):
        assert (await signed_post(url, graph.ig_webhook(comment))).status_code == 200
    await wait_for(lambda: card_with(emu, "telescopes") and card_with(emu, "binoculars"))
    card = card_with(emu, "binoculars")
    assert card is not None
    assert "top-level comments only" in json.dumps(card["blocks"])  # the card says so before Reply
    editor = await open_editor(emu, card["ts"])
    assert VIS_BLOCK not in json.dumps(editor["blocks"])  # no private replies on Instagram here
    ack = await send(emu, editor, "Yes, two pairs.")
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    await emu.submit(ALICE, preview, {})
    await wait_for(lambda: any("top-level comments only" in e["text"] for e in emu.ephemerals))
    top_card = card_with(emu, "telescopes")
    assert top_card is not None
    editor = await open_editor(emu, top_card["ts"])
    ack = await send(emu, editor, "Yes, one telescope.")
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
    await wait_for(lambda: graph.state.created)
    await app.wait_idle()
    assert [(c["edge"], c["parent"]) for c in graph.state.created] == [("replies", top["id"])]
    assert fake.IG_ID
