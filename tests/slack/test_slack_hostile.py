"""Hypothesis drives the Slack source parser with hostile events in the Events API shape: safe or nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import TIME_NOTE
from bot.platforms.slack.client import BotIdentity
from bot.platforms.slack.source import parse_event
from tests.core.hostile import JSON, NOW, NUMBERS, assert_safe, field_text, maybe, shaped

ME = BotIdentity(user_id="UBOT", bot_id="BBOT", team_id="T1", url="https://library.slack.example/")
SOURCES = frozenset({"CPUBLIC"})
POISON = {
    "type": "message",
    "channel": "CPUBLIC",
    "user": "U\u0000\u202e" + "u" * 600,
    "ts": "99999999999999999999.000001",
    "text": "<https://evil.example|\ud800>\u0000",
    "channel_type": ["im"],
}


def events() -> st.SearchStrategy[dict[str, Any]]:
    stamps = st.one_of(
        st.floats(1e9, 2e9).map(lambda f: f"{f:.6f}"),
        NUMBERS.map(str),
        st.sampled_from(["nan", "inf", "-1", "1e400", ""]),
        field_text(),
    )
    return shaped(
        {
            "type": st.sampled_from(["message", "app_mention"]),
            "channel": st.sampled_from(["CPUBLIC", "CPUBLIC", "CSTAFF", "D123"]),
            "user": field_text(),
            "ts": stamps,
            "thread_ts": stamps,
            "text": field_text(),
            "subtype": st.one_of(st.none(), st.sampled_from(["thread_broadcast", "channel_join"]), JSON),
            "channel_type": st.sampled_from(["channel", "im", "group", "mpim"]),
        }
    )


@settings(max_examples=300, deadline=None)
@given(maybe(events()).filter(lambda e: isinstance(e, dict)))
@example(POISON)
def test_slack_events(event: dict[str, Any]) -> None:
    mention = parse_event(event, me=ME, sources=SOURCES, staff=frozenset({"CSTAFF"}), now=NOW)
    if mention is not None:
        assert_safe(mention)


def test_a_ts_out_of_range_still_makes_a_mention_marked() -> None:
    mention = parse_event(POISON, me=ME, sources=SOURCES, staff=frozenset(), now=NOW)
    assert mention is not None and mention.created_at == NOW and mention.note == TIME_NOTE
