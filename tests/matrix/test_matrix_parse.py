"""Pure Matrix parsing: mentions, edits, redactions, reactions, commands, errors, power levels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.models import (
    Approve,
    Claim,
    Reassign,
    Reject,
    Release,
    Reply,
    Resolve,
    Snooze,
    StaffRef,
    Visibility,
    Wake,
)
from bot.platforms.matrix.commands import (
    card_action,
    parse_command,
    parse_reaction,
    power_level,
    reaction_action,
)
from bot.platforms.matrix.source import (
    MentionChange,
    mentions_bot,
    parse_change,
    parse_mention,
    reply_content,
)
from bot.platforms.matrix.wire import (
    direct_inviter,
    fresh_events,
    parse_error,
    permalink,
    strip_reply_fallback,
    txn_id,
)

BOT = "@librarybot:example.org"
ROOM = "!SVkFJHzfwvuaIEawgC:example.org"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-payloads"


def reference(name: str) -> Any:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference payload {name} not available")
    return json.loads(path.read_text())


def message(body: str, **content: Any) -> dict[str, Any]:
    """An m.room.message shaped like the timeline events in a real /sync response."""
    return {
        "type": "m.room.message",
        "sender": "@pat:example.org",
        "event_id": "$152037280074GZeOm:example.org",
        "origin_server_ts": 1_763_906_400_000,
        "unsigned": {"age": 43},
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def mention_of(event: dict[str, Any], *, direct: bool = False) -> Any:
    return parse_mention(event, room_id=ROOM, user_id=BOT, display_name="Library Bot", direct=direct)


# --- source -------------------------------------------------------------------------------


def test_intentional_mention_becomes_a_mention() -> None:
    event = message("Hi! Can I renew online?", **{"m.mentions": {"user_ids": [BOT]}})
    found = mention_of(event)
    assert found is not None
    assert found.source == "matrix" and found.external_id == event["event_id"]
    assert found.text == "Hi! Can I renew online?" and found.author_id == "@pat:example.org"
    assert found.created_at == datetime(2025, 11, 23, 14, 0, tzinfo=UTC)
    assert found.url == permalink(ROOM, event["event_id"]) and found.url.startswith("https://matrix.to/#/%21")
    assert json.loads(found.reply_ref) == {"room": ROOM, "event": event["event_id"], "thread": None}
    assert found.visibility is Visibility.PUBLIC


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        ("Library Bot: where is the loo?", {}),
        ("hey @librarybot are you open?", {}),
        ("ping librarybot:example.org", {}),
        ("x", {"formatted_body": '<a href="https://matrix.to/#/%40librarybot%3Aexample.org">x</a>'}),
        ("x", {"formatted_body": f'<a href="https://matrix.to/#/{BOT}">Library</a>: hi'}),
    ],
)
def test_pills_names_and_localparts_are_mentions(body: str, extra: dict[str, Any]) -> None:
    assert mentions_bot({"body": body, **extra}, user_id=BOT, display_name="Library Bot")


@pytest.mark.parametrize("body", ["the library is nice", "librarybots are cool", "mylibrarybot", ""])
def test_other_text_is_not_a_mention(body: str) -> None:
    assert not mentions_bot({"body": body, "m.mentions": {}}, user_id=BOT, display_name="Library Bot")


def test_direct_messages_need_no_mention() -> None:
    found = mention_of(message("opening hours?"), direct=True)
    assert found is not None and found.visibility is Visibility.DIRECT


def test_thread_is_kept_for_the_reply() -> None:
    rel = {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$p"},
    }
    found = mention_of(message("@librarybot thanks", **{"m.relates_to": rel}))
    assert json.loads(found.reply_ref)["thread"] == "$root"
    content = reply_content("You're welcome", ref=json.loads(found.reply_ref), author_id=found.author_id)
    assert (
        content["m.relates_to"]["rel_type"] == "m.thread" and content["m.relates_to"]["event_id"] == "$root"
    )
    assert content["m.relates_to"]["m.in_reply_to"] == {"event_id": found.external_id}
    assert content["m.mentions"] == {"user_ids": ["@pat:example.org"]}
    assert found.follows == ("$root", "$p")  # the patron's follow-up joins their open mention


def test_a_reply_follows_what_it_answers_and_a_new_post_follows_nothing() -> None:
    reply = message("@librarybot and also", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}})
    assert mention_of(reply).follows == ("$q",)
    assert mention_of(message("@librarybot hello")).follows == ()


def test_an_unmentioned_thread_message_or_reply_may_only_join() -> None:
    thread = {"rel_type": "m.thread", "event_id": "$root", "m.in_reply_to": {"event_id": "$p"}}
    found = mention_of(message("the 1953 flood", **{"m.relates_to": thread, "m.mentions": {}}))
    assert found is not None and found.join_only and found.follows == ("$root", "$p")
    reply = mention_of(
        message("> <@pat:x> q\n\nand Sunday?", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}})
    )
    assert reply is not None and reply.join_only and reply.text == "and Sunday?"
    assert mention_of(message("just chatting")) is None  # no mention, no conversation: not passed on
    assert not mention_of(message("@librarybot more", **{"m.relates_to": thread})).join_only
    assert not mention_of(message("more", **{"m.relates_to": thread}), direct=True).join_only
    own = {**message("You're welcome", **{"m.relates_to": thread}), "sender": BOT}
    assert mention_of(own) is None  # the bot's own answer in the thread


def test_reply_without_thread_is_an_in_reply_to() -> None:
    content = reply_content("Yes", ref={"room": ROOM, "event": "$e", "thread": None}, author_id="@p:x")
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$e"}}


def test_reply_fallback_is_stripped() -> None:
    body = "> <@staff:example.org> earlier words\n> more\n\n@librarybot my real question"
    rel = {"m.in_reply_to": {"event_id": "$older"}}
    assert mention_of(message(body, **{"m.relates_to": rel})).text == "@librarybot my real question"
    assert strip_reply_fallback("> just a quote") == "> just a quote"


@pytest.mark.parametrize(
    "event",
    [
        message("@librarybot hi", msgtype="m.notice"),  # bots talk in notices: never a mention
        {**message("@librarybot"), "type": "m.reaction"},
        message("   "),
        {**message("@librarybot hi"), "event_id": ""},
    ],
)
def test_non_mentions(event: dict[str, Any]) -> None:
    assert mention_of(event) is None


def test_edit_is_a_change_not_a_new_mention() -> None:
    new = {"msgtype": "m.text", "body": "@librarybot fixed typo"}
    edit = message("* @librarybot fixed typo", **{"m.new_content": new})
    edit["content"]["m.relates_to"] = {"rel_type": "m.replace", "event_id": "$orig"}
    assert mention_of(edit) is None
    assert parse_change(edit) == MentionChange(
        "matrix", "$orig", "edit", "@pat:example.org", "@librarybot fixed typo"
    )


def test_redaction_withdraws_in_old_and_v11_rooms() -> None:
    redacted = reference("matrix_event_redacted_message.json")
    because = redacted["unsigned"]["redacted_because"]
    assert parse_change(because) == MentionChange(
        "matrix", redacted["event_id"], "withdraw", because["sender"]
    )
    v11 = {"type": "m.room.redaction", "sender": "@pat:x", "content": {"redacts": "$gone"}, "event_id": "$r"}
    assert parse_change(v11) == MentionChange("matrix", "$gone", "withdraw", "@pat:x")
    assert mention_of(redacted) is None  # the redacted event itself has no body


# --- desk ---------------------------------------------------------------------------------


def test_reference_reaction_shape_and_buttons() -> None:
    payload = reference("matrix_event_reaction_m_annotation.json")
    assert parse_reaction(payload) is None  # ❤️ is not a button
    card = payload["content"]["m.relates_to"]["event_id"]
    for key, verb in [
        ("✋", "claim"),
        ("✋🏽", "claim"),
        ("✅", "resolve"),
        ("🙈", "ignore"),
        ("↩️", "release"),
    ]:
        payload["content"]["m.relates_to"]["key"] = key
        assert parse_reaction(payload) == (card, verb)


def test_commands_in_a_thread_and_in_the_room() -> None:
    rel = {
        "rel_type": "m.thread",
        "event_id": "$card",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$card"},
    }
    command = parse_command(message("!reply Yes, you can renew online.\nThanks!", **{"m.relates_to": rel}))
    assert command is not None
    assert (command.verb, command.arg, command.target, command.in_thread) == (
        "reply",
        "Yes, you can renew online.\nThanks!",
        "$card",
        True,
    )
    rota = parse_command(message("!rota add @kim:example.org circulation mon-fri 09:00-17:00"))
    assert rota is not None and rota.verb == "rota" and rota.target is None
    assert parse_command(message("!DESK")).verb == "desk"  # type: ignore[union-attr]
    replying = parse_command(
        message("> <@librarybot:x> card\n\n!claim", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$c"}}})
    )
    assert replying is not None and replying.verb == "claim" and replying.target == "$c"


@pytest.mark.parametrize("body", ["hello", "!unknown thing", "reply without bang", "!"])
def test_chat_is_not_a_command(body: str) -> None:
    assert parse_command(message(body)) is None


def test_edited_commands_do_not_run_again() -> None:
    edit = message("* !claim", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$c"}})
    assert parse_command(edit) is None


def test_card_actions() -> None:
    me = StaffRef("matrix", "@kim:x", "Kim")
    mk = parse_command
    assert card_action(mk(message("!claim")), 3, me) == Claim(3, me)  # type: ignore[arg-type]
    assert card_action(mk(message("!reply Hi")), 3, me) == Reply(3, me, "Hi")  # type: ignore[arg-type]
    assert card_action(mk(message("!reply")), 3, me) is None  # type: ignore[arg-type]
    assert card_action(mk(message("!reassign circulation")), 3, me) == Reassign(3, me, role="circulation")  # type: ignore[arg-type]
    assert card_action(mk(message("!reassign @sam:x")), 3, me) == Reassign(3, me, person="@sam:x")  # type: ignore[arg-type]
    assert reaction_action("release", 3, me) == Release(3, me)
    assert reaction_action("resolve", 3, me) == Resolve(3, me)


def test_snooze_and_approval_commands() -> None:
    me = StaffRef("matrix", "@kim:x", "Kim")

    def act(body: str) -> object:
        command = parse_command(message(body))
        assert command is not None
        return card_action(command, 3, me)

    assert act("!snooze tomorrow 09:00") == Snooze(3, me, "tomorrow 09:00")
    assert act("!snooze") == Snooze(3, me, "patron")  # no time: until the patron answers
    assert act("!wake") == Wake(3, me)
    assert act("!approve") == Approve(3, me, "")
    assert act("!approve Yes, we open at nine.") == Approve(3, me, "Yes, we open at nine.")
    assert act("!reject too curt") == Reject(3, me, "too curt")


def state(version: str, users: dict[str, Any] | None, **create: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "m.room.create",
            "state_key": "",
            "sender": "@founder:x",
            "content": {"room_version": version, **create},
        }
    ]
    if users is not None:
        events.append(
            {"type": "m.room.power_levels", "state_key": "", "content": {"users": users, "users_default": 0}}
        )
    return events


def test_power_levels_deny_by_default() -> None:
    levels = state("10", {"@boss:x": 100, "@mod:x": 50, "@x:x": "junk"})
    assert power_level(levels, "@boss:x") == 100 and power_level(levels, "@mod:x") == 50
    assert power_level(levels, "@new:x") == 0 and power_level(levels, "@x:x") == 0
    assert power_level(levels, "@founder:x") == 0  # v10: the creator is whatever power_levels says
    assert power_level([], "@any:x") == 0
    assert power_level(state("9", None), "@founder:x") == 100  # no power levels: creator 100, others 0
    assert power_level(state("9", None), "@other:x") == 0


def test_room_v12_creators_outrank_everyone() -> None:
    levels = state("12", {}, additional_creators=["@cofounder:x"])
    assert power_level(levels, "@founder:x") >= 2**53 and power_level(levels, "@cofounder:x") >= 2**53
    assert power_level(levels, "@member:x") == 0


# --- connection ---------------------------------------------------------------------------


def test_limit_exceeded_reference_payload() -> None:
    error = parse_error(reference("matrix_error_m_limit_exceeded.json"), status=429, now=NOW)
    assert isinstance(error, RateLimited) and error.retry_after == 0.5


def test_rate_limit_waits_are_capped_and_headers_used() -> None:
    huge = parse_error({"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 10**9}, status=429, now=NOW)
    assert isinstance(huge, RateLimited) and huge.retry_after == 900.0
    header = parse_error({"errcode": "M_LIMIT_EXCEEDED"}, status=429, retry_after="7", now=NOW)
    assert header.retry_after == 7.0  # type: ignore[attr-defined]


def test_other_errors() -> None:
    assert type(parse_error({}, status=502, now=NOW)) is TransientError
    assert type(parse_error({"errcode": "M_FORBIDDEN"}, status=403, now=NOW)) is PermanentError
    assert isinstance(parse_error({"errcode": "M_UNKNOWN_TOKEN"}, status=401, now=NOW), AdapterConfigError)


def test_own_events_and_history_before_the_join_are_dropped() -> None:
    sync = reference("matrix_sync_response.json")
    timeline = next(iter(sync["rooms"]["join"].values()))["timeline"]["events"]
    sender = timeline[0]["sender"]
    assert fresh_events(timeline, sender) == [e for e in timeline if e["sender"] != sender]
    join = {"type": "m.room.member", "state_key": BOT, "sender": BOT, "content": {"membership": "join"}}
    older, newer = message("@librarybot old"), message("@librarybot new")
    assert fresh_events([older, join, newer], BOT) == [newer]
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    assert fresh_events([older, rename, newer], BOT) == [older, newer]


def test_direct_invites_are_recognised() -> None:
    invite = {"type": "m.room.member", "state_key": BOT, "sender": "@pat:x"}
    assert (
        direct_inviter([{**invite, "content": {"membership": "invite", "is_direct": True}}], BOT) == "@pat:x"
    )
    assert direct_inviter([{**invite, "content": {"membership": "invite"}}], BOT) is None
    other = {**invite, "state_key": "@someone:x", "content": {"membership": "invite", "is_direct": True}}
    assert direct_inviter([other], BOT) is None


def test_transaction_ids_are_stable_per_key() -> None:
    assert txn_id("reply", "reply:1:2") == txn_id("reply", "reply:1:2")
    assert txn_id("reply", "reply:1:2") != txn_id("reply", "reply:1:3")
    assert txn_id("card", "k").startswith("pd-card-")
