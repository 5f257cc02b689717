"""Matrix staff-room grammar for issue 16: `!note`, `!tag`, `!untag`, `!resolve read=N`, and a plain
message in a card's thread as a note (pure parsing; the desk turns these into staff actions)."""

from __future__ import annotations

from typing import Any

from bot.models import AddNote, Resolve, SetTag, StaffRef
from bot.platforms.matrix.card_events import notice_content
from bot.platforms.matrix.commands import card_action, parse_command, parse_thread_note

ME = StaffRef("matrix", "@alice:hs.example", "Alice")


def message(body: Any, *, thread: str | None = "$card", msgtype: str = "m.text") -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": msgtype, "body": body}
    if thread:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread}
    return {"type": "m.room.message", "sender": ME.user_id, "content": content}


def action(body: str) -> object:
    command = parse_command(message(body))
    assert command is not None and command.target == "$card" and command.in_thread
    return card_action(command, 7, ME)


def test_card_commands_for_notes_tags_and_read() -> None:
    assert action("!note Called back, visiting Friday") == AddNote(7, ME, "Called back, visiting Friday")
    assert action("!tag Praise") == SetTag(7, ME, "Praise")
    assert action("!untag praise") == SetTag(7, ME, "praise", remove=True)
    assert action("!resolve read=3 directional") == Resolve(7, ME, read_level=3, directional=True)
    assert action("!resolve") == Resolve(7, ME)
    assert action("!note") is None and action("!tag") is None
    assert "1 to 6" in str(action("!resolve read=9"))
    assert "Unknown word" in str(action("!resolve " + "z" * 3000))


def test_a_plain_message_in_a_thread_is_a_note_candidate() -> None:
    assert parse_thread_note(message("  Patron is a regular  ")) == ("$card", "Patron is a regular")
    assert parse_thread_note(message("!claim")) is None  # a command, not a note
    assert parse_thread_note(message("hello", thread=None)) is None  # not in a thread
    assert parse_thread_note(message("   ")) is None
    assert parse_thread_note(message(["not", "text"])) is None
    assert parse_thread_note(message("bot notice", msgtype="m.notice")) is None  # the bot's own lines
    edit = message("fixed")
    edit["content"]["m.relates_to"] = {"rel_type": "m.replace", "event_id": "$x"}
    assert parse_thread_note(edit) is None


def test_a_history_line_pings_only_whom_it_concerns() -> None:
    line = notice_content("🔀 Reassigned by Alice to Bob.", thread_root="$card", ping="@bob:hs.example")
    assert line["m.mentions"] == {"user_ids": ["@bob:hs.example"]}
    assert line["m.relates_to"]["rel_type"] == "m.thread" and line["m.relates_to"]["event_id"] == "$card"
    quiet = notice_content("@room ✋ Claimed by Alice.", thread_root="$card", ping=None)
    assert quiet["m.mentions"] == {} and quiet["msgtype"] == "m.notice"


def test_the_card_shows_notes_tags_and_read_escaped() -> None:
    from datetime import UTC, datetime

    from bot.models import Status
    from bot.platforms.matrix.cards import card_html, card_text
    from bot.views import StaffNote, TicketView

    view = TicketView(
        mention_id=4,
        source="mastodon",
        author_handle="@p@x",
        author_name="P",
        text="hi",
        url=None,
        role="reference",
        rule="default",
        reason="",
        on_duty=(),
        status=Status.CLAIMED,
        notes=(StaffNote("Alice", datetime(2026, 1, 1, tzinfo=UTC), "<script>x</script> @room\nline two"),),
        note_count=4,
        tags=("praise", "event"),
        read_level=3,
        directional=False,
    )
    text, formatted = card_text(view), card_html(view)
    assert "🏷️ praise, event" in text and "📊 READ 3 · reference" in text
    assert "📝 Internal notes: 4 (latest 1)" in text and "line two" in text
    assert "<script>" not in formatted and "&lt;script&gt;" in formatted
    assert "@room" not in text  # a note cannot ping the room
    assert "!note <text>" in text
