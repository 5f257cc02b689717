"""Hypothesis drives the Matrix source parser with hostile events in the sync shape: safe or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import TIME_NOTE, safe_change
from bot.models import MentionChange
from bot.platforms.matrix.source import mentions_bot, parse_change, parse_mention
from bot.platforms.matrix.wire import permalink
from tests.core.hostile import NOW, NUMBERS, assert_safe, field_text, hostile_text, maybe, shaped

BOT = "@library:hs.example"
POISON = {
    "type": "m.room.message",
    "event_id": "$e\u0000" + "x" * 600,
    "sender": "@p\u202e:hs.example",
    "origin_server_ts": 2**70,
    "content": {"msgtype": "m.text", "body": "@library hi\ud800\u0000", "m.mentions": {"user_ids": 5}},
}


def events() -> st.SearchStrategy[dict[str, Any]]:
    relates = shaped(
        {
            "rel_type": st.sampled_from(["m.thread", "m.replace", "m.annotation"]),
            "event_id": field_text(),
            "m.in_reply_to": shaped({"event_id": field_text()}),
        }
    )
    content = shaped(
        {
            "msgtype": st.sampled_from(["m.text", "m.emote", "m.notice"]),
            "body": st.one_of(field_text().map(lambda s: f"@library {s}"), field_text()),
            "formatted_body": field_text(),
            "m.mentions": shaped({"user_ids": st.lists(st.sampled_from([BOT, "@x:y"]), max_size=2)}),
            "m.relates_to": relates,
            "m.new_content": shaped({"body": field_text(), "msgtype": st.just("m.text")}),
            "redacts": field_text(),
        }
    )
    return shaped(
        {
            "type": st.sampled_from(["m.room.message", "m.room.redaction", "m.reaction"]),
            "event_id": field_text(),
            "sender": field_text(),
            "origin_server_ts": st.one_of(NUMBERS, st.integers(0, 2_000_000_000_000)),
            "content": content,
            "redacts": field_text(),
        }
    )


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(maybe(events()).filter(lambda e: isinstance(e, dict)), st.booleans(), hostile_text())
@example(POISON, False, "\n")
def test_matrix_events(event: dict[str, Any], direct: bool, member_name: str) -> None:
    mention = parse_mention(
        event, room_id="!r:hs.example", user_id=BOT, author_name=member_name, direct=direct, now=NOW
    )
    if mention is not None:
        assert_safe(mention)
        addressed = direct or mentions_bot(event["content"], user_id=BOT)
        assert mention.join_only is not addressed  # unaddressed: it may only join, never a card
        assert addressed or (mention.follows and mention.author_id != BOT)
    change = parse_change(event)
    assert change is None or isinstance(safe_change(change), MentionChange)


def test_a_timestamp_out_of_any_range_is_the_receive_time_marked() -> None:
    mention = parse_mention(POISON, room_id="!r:hs.example", user_id=BOT, direct=False, now=NOW)
    assert mention is not None and mention.created_at == NOW and mention.note == TIME_NOTE
    assert_safe(mention)


def test_an_event_id_with_a_lone_surrogate_still_gets_a_link() -> None:
    # found by test_matrix_events: quote() raised UnicodeEncodeError on "\ud800"
    assert permalink("!r:hs.example", "\ud800") == "https://matrix.to/#/%21r%3Ahs.example/%3F"
