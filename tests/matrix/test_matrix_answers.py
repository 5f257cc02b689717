"""Matrix's command grammar for saved answers and the privacy guard (pure): `!answers`, `!reply /name`,
`!reply! …` to publish although the guard warned."""

from __future__ import annotations

from typing import Any

from bot.models import Reply, StaffRef
from bot.platforms.matrix.commands import ROOM_VERBS, card_action, parse_command

ME = StaffRef("matrix", "@alice:example.org", "Alice")


def thread_message(body: str) -> dict[str, Any]:
    relates = {"rel_type": "m.thread", "event_id": "$card", "is_falling_back": True}
    return {"type": "m.room.message", "content": {"msgtype": "m.text", "body": body, "m.relates_to": relates}}


def test_reply_with_a_saved_answer_and_the_confirmed_form() -> None:
    plain = parse_command(thread_message("!reply /renewals"))
    assert plain is not None and (plain.verb, plain.arg, plain.confirmed) == ("reply", "/renewals", False)
    assert card_action(plain, 4, ME) == Reply(4, ME, "/renewals")
    sure = parse_command(thread_message("!reply! Your card 21234567890123 is renewed"))
    assert sure is not None and sure.confirmed and sure.target == "$card"
    assert card_action(sure, 4, ME) == Reply(4, ME, "Your card 21234567890123 is renewed", confirmed=True)
    assert parse_command(thread_message("!reply!! x")) is None  # one ! only
    assert parse_command(thread_message("!claim! ")) is not None  # harmless on other verbs


def test_answers_is_a_room_command() -> None:
    assert "answers" in ROOM_VERBS
    listing = parse_command(thread_message("!answers"))
    assert listing is not None and (listing.verb, listing.arg) == ("answers", "")
    one = parse_command(thread_message("!answers 4 /renewals"))
    assert one is not None and one.arg == "4 /renewals"
