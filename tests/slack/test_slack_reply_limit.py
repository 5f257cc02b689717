"""The Slack reply editor takes its limit from the source: a 5,000-character Mastodon instance allows
5,000, not the 500 once written into the modal (issue 11's bug), and the reply is published.

Slack itself caps a text box at 3,000 characters (and a view's metadata at 3,000), so the reply that
goes all the way through is 2,900 characters long; the 5,000 figure is checked on the editor's rule."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.slack.buttons import CARD_EVENT, REPLY
from bot.platforms.slack.reply_draft import TEXT_BLOCK, check_reply
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, make_client, wait_for

RULES = f"""
default_role = "social-media"

[roles.social-media]
sla_minutes = 30

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "{ALICE}"
"""


@pytest.fixture
async def mastodon() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon(max_characters=5000) as server:
        yield server  # type: ignore[misc]


def settings_for(tmp_path: Path, emu: SlackEmulator, mastodon: FakeMastodon) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/limit.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        MASTODON_URL=mastodon.url,
        MASTODON_ACCESS_TOKEN=TOKEN,
    )


def cards(emu: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emu.top_level(STAFF) if (m.get("metadata") or {}).get("event_type") == CARD_EVENT]


def typed(text: str) -> dict[str, Any]:
    return {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}}


async def test_the_editor_allows_what_the_mastodon_instance_allows(
    tmp_path: Path, emu: SlackEmulator, mastodon: FakeMastodon
) -> None:
    app = PatronDesk(settings_for(tmp_path, emu, mastodon))
    app.clients["slack"] = make_client(emu, pace=0.02)
    async with app:
        await emu.connected()
        await wait_for(lambda: mastodon.live_streams == 1)
        mastodon.add_mention("Can I print from my phone?")
        await wait_for(lambda: cards(emu))
        before = set(emu.views)
        await emu.click(ALICE, STAFF, cards(emu)[0]["ts"], REPLY)
        await wait_for(lambda: set(emu.views) - before)
        editor = emu.views[(set(emu.views) - before).pop()]
        assert "up to 5000 characters" in json.dumps(editor)
        assert check_reply("x" * 5000, "mastodon", app.reply_limits) is None
        assert "allows 5000" in str(check_reply("x" * 5001, "mastodon", app.reply_limits))
        long = "y" * 2900  # well past the old 500, within what Slack's own text box holds
        ack = await emu.submit(ALICE, editor, typed(long))
        assert ack["payload"]["response_action"] == "push", ack["payload"]
        preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
        assert (await emu.submit(ALICE, preview, {}))["payload"] == {"response_action": "clear"}
        await wait_for(lambda: mastodon.state.posted)
        await app.wait_idle()
    [posted] = mastodon.state.posted
    assert posted.body["status"] == f"@reader@social.example {long}"
