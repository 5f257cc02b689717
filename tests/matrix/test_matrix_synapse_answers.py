"""Saved answers and the privacy guard on a real Synapse: `!answers`, a held `!reply` with a card
number (nothing reaches the patron), then `!reply /renewals` published once, filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from tests.matrix.matrix_helpers import World, by_sender, wait_for
from tests.matrix.test_matrix_synapse import notices_in_thread, staff_cards, started

pytestmark = pytest.mark.synapse

ANSWERS = """
[constants]
renew_url = "https://catalogue.example.org/account"

[answers.renewals]
text = "Hi {patron}, renew at {renew_url}."
"""


async def test_answers_guard_and_a_saved_reply_published_once(world: World, tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS)
    bot = world.users.bot.user_id
    config = world.settings(tmp_path, ANSWERS_FILE=answers, CARD_NUMBER_PATTERN=r"\b2\d{13}\b")
    async with PatronDesk(config) as app:
        await started(app)
        asked = await world.patron.mention(world.source_room, bot, "Can I renew my books online?")
        [card] = await staff_cards(world, 1)
        root = card["event_id"]

        async def said(needle: str) -> list[dict[str, Any]]:
            return [n for n in await notices_in_thread(world, root) if needle in n["content"]["body"]]

        await world.staff1.in_thread(world.staff_room, root, "!answers")
        await wait_for(lambda: said("/renewals"), what="the list of saved answers")
        await world.staff1.in_thread(world.staff_room, root, "!reply Card 21234567890123 is renewed.")
        [held] = await wait_for(lambda: said("Not sent yet"), what="the guard's warning")
        assert "a library card number" in held["content"]["body"]
        assert "21234567890123" not in held["content"]["body"]

        async def patron_sees() -> list[dict[str, Any]]:
            return [
                e
                for e in by_sender(await world.patron.messages(world.source_room), bot)
                if (e["content"].get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == asked
            ]

        await world.staff1.in_thread(world.staff_room, root, "!reply /renewals")
        await wait_for(patron_sees, what="the saved answer in the patron's room")
        await app.wait_idle()
        replies = await patron_sees()
        # once, filled: the patron's name is their display name on the shared homeserver, which an
        # earlier test in the session may have changed, so only its place is checked
        [body] = [r["content"]["body"] for r in replies]
        assert body.startswith("Hi ") and body.endswith(", renew at https://catalogue.example.org/account.")
        assert "{" not in body
