"""A staff member's message in a card's thread is an internal note (like Matrix's thread messages):
stored once, shown on the card, never sent to the patron; bots, the bot's own lines, edits, top-level
chat and strangers store nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.app import PatronDesk
from bot.platforms.slack.buttons import CARD_EVENT
from bot.platforms.slack.thread_notes import card_mention_id, parse_thread_message
from tests.fakes import slack_payloads as P
from tests.fakes.slack import SlackEmulator
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import ALICE, COMMUNITY, STAFF, wait_for
from tests.slack.test_slack_e2e import app, card_text, patron_says, settled, thread_replies

__all__ = ["app"]  # the fixture: the whole bot on the emulator


def told(emu: SlackEmulator, user: str, needle: str) -> list[str]:
    return [e["text"] for e in emu.ephemerals if e["user"] == user and needle in e["text"]]


def posts_to(emu: SlackEmulator, channel: str) -> list[dict[str, Any]]:
    return [args for method, args in emu.calls if method == "chat_postMessage" and args["channel"] == channel]


async def test_a_staff_message_in_a_cards_thread_is_a_note(app: PatronDesk, emu: SlackEmulator) -> None:
    parent = "1700000900.000100"
    card = await patron_says(emu, "Where are the flood records?", parent)
    ts = card["ts"]
    replies_before = len(posts_to(emu, COMMUNITY))
    said = message_event(STAFF, ALICE, "Called them back <!channel>", ts="1700000901.000100", thread_ts=ts)
    await emu.post_event(said, event_id="Ev0NOTE1")
    await emu.post_event(said, event_id="Ev0NOTE1")  # Slack delivered it twice: one note
    await wait_for(lambda: told(emu, ALICE, "Note added"))
    card = await settled(app, emu, ts, "Internal notes: 1")
    assert "Called them back" in card_text(card) and "<!channel>" not in card_text(card)

    ignored = [
        message_event(STAFF, "U0OTHERBOT", "beep", ts="1700000902.000100", thread_ts=ts, bot_id="B0OTHER"),
        message_event(STAFF, P.BOT_USER, "📝 Note by Alice Archer.", ts="1700000903.000100", thread_ts=ts),
        message_event(STAFF, ALICE, "edit", ts="1700000904.000100", thread_ts=ts, subtype="message_changed"),
        message_event(STAFF, ALICE, "chat in the channel", ts="1700000905.000100"),  # not in a thread
    ]
    for n, event in enumerate(ignored):
        await emu.post_event(event, event_id=f"Ev0IGNORED{n}")
    emu.add_user("U0STRANGE", "mallory", "Mallory")
    stranger = message_event(STAFF, "U0STRANGE", "pwned", ts="1700000906.000100", thread_ts=ts)
    await emu.post_event(stranger, event_id="Ev0STRANGE")
    await wait_for(lambda: told(emu, "U0STRANGE", "Only library staff"))
    await app.wait_idle()
    await app.desks["slack"].idle()  # type: ignore[attr-defined]
    view = await app.service.view(int(card_mention_id(emu.message(STAFF, ts)) or 0))
    assert view.note_count == 1
    assert len(told(emu, ALICE, "Note added")) == 1
    assert posts_to(emu, COMMUNITY)[replies_before:] == [] and thread_replies(emu, parent) == []


def test_only_peoples_plain_thread_messages_in_card_channels_count() -> None:
    cards = {STAFF}

    def parsed(**changes: Any) -> Any:
        event = message_event(STAFF, ALICE, " a note ", ts="2.0", thread_ts="1.0") | changes
        return parse_thread_message(event, bot_user=P.BOT_USER, card_channels=cards)

    assert parsed() is not None and parsed().text == "a note" and parsed().thread_ts == "1.0"
    assert parsed(channel=COMMUNITY) is None  # a patron's thread in a community channel
    assert parsed(thread_ts="2.0") is None  # the thread's parent itself
    assert parsed(thread_ts=None) is None
    assert parsed(user=P.BOT_USER) is None and parsed(bot_id="B1") is None and parsed(user="") is None
    assert parsed(subtype="message_deleted") is None and parsed(subtype=["x"]) is None
    assert parsed(text="   ") is None and parsed(hidden=True) is None
    assert parsed(subtype="thread_broadcast") is not None


def test_the_card_is_read_from_its_metadata_only() -> None:
    def card(key: str, kind: str = CARD_EVENT) -> dict[str, Any]:
        return {"metadata": {"event_type": kind, "event_payload": {"dedupe_key": key}}}

    assert card_mention_id(card("post_card:slack:42")) == 42
    assert card_mention_id(card("post_card:slack:42", "other")) is None
    assert (
        card_mention_id(card("post_card:slack:²")) is None
        and card_mention_id(card("post_card:" + "9" * 40)) is None
    )
    forged = card("x:1")
    assert card_mention_id(forged) is None and card_mention_id({}) is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
FIELDS = ("type", "channel", "ts", "thread_ts", "user", "subtype", "text", "bot_id", "hidden")


@given(st.dictionaries(st.sampled_from(FIELDS), JSONISH | st.sampled_from([STAFF, "1.0", "message"])))
def test_any_event_is_a_thread_message_or_none(event: dict[str, Any]) -> None:
    found = parse_thread_message(event, bot_user=P.BOT_USER, card_channels={STAFF})
    if found is not None:  # only a person's words in a thread of a card channel
        assert found.channel == STAFF and found.text == found.text.strip() and found.text
        assert found.thread_ts != str(event.get("ts") or "") and found.user != P.BOT_USER


@given(st.dictionaries(st.sampled_from(["event_type", "event_payload", "dedupe_key"]), JSONISH))
def test_any_metadata_names_a_card_or_none(meta: dict[str, Any]) -> None:
    found = card_mention_id({"metadata": meta | {"event_type": CARD_EVENT}})
    assert found is None or (isinstance(found, int) and found >= 0)
    assert card_mention_id({"metadata": meta}) in (None, found)
