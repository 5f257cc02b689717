"""Pure parsing of the Matrix staff room: reaction buttons and !commands become staff actions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain.notes import resolve_words
from bot.models import (
    AddNote,
    Approve,
    Claim,
    Ignore,
    Reassign,
    Reject,
    Release,
    Reply,
    Resolve,
    SetTag,
    Snooze,
    StaffAction,
    StaffRef,
    Wake,
)
from bot.platforms.matrix.wire import relation, strip_reply_fallback

REACTIONS = {"✋": "claim", "✅": "resolve", "🙈": "ignore", "↩": "release"}
PRE_REACT = ("✋", "✅", "🙈", "↩️")
CARD_VERBS = (
    "reply",
    "claim",
    "release",
    "resolve",
    "ignore",
    "reassign",
    "snooze",
    "wake",
    "approve",
    "reject",
    "note",
    "tag",
    "untag",
)
ROOM_VERBS = ("rota", "desk", "answers", "checkin", "needcover")
CHECKIN_REACTIONS = {"✅": True, "🆘": False}  # on a check-in question: on desk, need cover
CHECKIN_PRE_REACT = ("✅", "🆘")
LEGACY_ROOM_VERSIONS = frozenset(str(n) for n in range(1, 12))  # creators have no special rank
CREATOR_LEVEL = 2**53  # "infinite", above any power level
_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_COMMAND = re.compile(r"^!([a-z]+)(!?)(?:[ \t]+(.*))?$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed ``!verb args`` line, with where it points (a card's thread or reply target)."""

    verb: str
    arg: str
    target: str | None  # the card event id (thread root or reply target), if any
    in_thread: bool
    confirmed: bool = False  # `!reply! …`: publish although the privacy guard warned


def parse_reaction(event: dict[str, Any]) -> tuple[str, str] | None:
    """``(card_event_id, verb)`` for a button reaction (variation selectors and skin tones ignored)."""
    target, key = _annotation(event) or ("", "")
    verb = REACTIONS.get(key)
    return (target, verb) if verb else None


def parse_checkin_reaction(event: dict[str, Any]) -> tuple[str, bool] | None:
    """``(question_event_id, here)`` for ✅ or 🆘: a check-in answer if that event is a check-in question."""
    target, key = _annotation(event) or ("", "")
    here = CHECKIN_REACTIONS.get(key)
    return None if here is None else (target, here)


def _annotation(event: dict[str, Any]) -> tuple[str, str] | None:
    """``(event_id, key)`` of a reaction, its key without variation selectors or skin tones."""
    if event.get("type") != "m.reaction":
        return None
    rel = (event.get("content") or {}).get("m.relates_to") or {}
    key, target = rel.get("key"), rel.get("event_id")
    if rel.get("rel_type") != "m.annotation" or not isinstance(key, str) or not isinstance(target, str):
        return None
    return target, _MODIFIERS.sub("", key)


def parse_command(event: dict[str, Any]) -> Command | None:
    """A staff ``!command`` message, or None for ordinary chat."""
    content = event.get("content") or {}
    body = content.get("body")
    if (
        event.get("type") != "m.room.message"
        or content.get("msgtype") != "m.text"
        or not isinstance(body, str)
    ):
        return None
    rel_type, target = relation(content)
    if rel_type == "m.replace":
        return None  # edited commands are not run again
    text = strip_reply_fallback(body).strip() if rel_type == "m.in_reply_to" else body.strip()
    match = _COMMAND.match(text)
    if match is None:
        return None
    verb = match.group(1).lower()
    if verb not in CARD_VERBS + ROOM_VERBS:
        return None
    in_thread = rel_type == "m.thread"
    arg = (match.group(3) or "").strip()
    return Command(verb, arg, target if rel_type else None, in_thread, confirmed=bool(match.group(2)))


def parse_thread_note(event: dict[str, Any]) -> tuple[str, str] | None:
    """``(thread root, text)`` for a plain staff message in a thread (a note when the root is a card)."""
    content = event.get("content") or {}
    body = content.get("body")
    if (
        event.get("type") != "m.room.message"
        or content.get("msgtype") != "m.text"
        or not isinstance(body, str)
    ):
        return None
    rel_type, target = relation(content)
    text = body.strip()
    if rel_type != "m.thread" or not target or not text or text.startswith("!"):
        return None
    return target, text


def power_level(state: list[dict[str, Any]], user_id: str) -> int:
    """A user's power level from a room's state events (deny by default: 0).

    From room version 12 the room's creators outrank everyone and are not listed in
    ``m.room.power_levels``; in older rooms without power levels the creator has 100.
    """
    create = next((e for e in state if e.get("type") == "m.room.create" and e.get("state_key") == ""), {})
    created = create.get("content") or {}
    creators = {create.get("sender"), *(created.get("additional_creators") or [])}
    if str(created.get("room_version", "1")) not in LEGACY_ROOM_VERSIONS and user_id in creators:
        return CREATOR_LEVEL
    levels = next(
        (e for e in state if e.get("type") == "m.room.power_levels" and e.get("state_key") == ""), None
    )
    if levels is None:
        return 100 if user_id in creators else 0
    content = levels.get("content") or {}
    users = content.get("users")
    value = users.get(user_id) if isinstance(users, dict) else None
    if value is None:
        value = content.get("users_default", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def redact_level(state: list[dict[str, Any]]) -> int:
    """The power level a room asks for redacting other people's events (``redact``, default 50)."""
    levels = next(
        (e for e in state if e.get("type") == "m.room.power_levels" and e.get("state_key") == ""), None
    )
    value = ((levels or {}).get("content") or {}).get("redact", 50)
    return value if isinstance(value, int) and not isinstance(value, bool) else 50


def card_action(command: Command, mention_id: int, actor: StaffRef) -> StaffAction | str | None:
    """The staff action of a card command (``None`` when it lacks its argument, a string saying what is
    wrong with it)."""
    match command.verb:
        case "resolve" if command.arg:
            found = resolve_words(command.arg)
            if isinstance(found, str):
                return found
            return Resolve(mention_id, actor, read_level=found[0], directional=found[1])
        case "note":
            return AddNote(mention_id, actor, command.arg) if command.arg else None
        case "tag" | "untag" if command.arg:
            return SetTag(mention_id, actor, command.arg.split()[0], remove=command.verb == "untag")
        case "claim":
            return Claim(mention_id, actor)
        case "release":
            return Release(mention_id, actor)
        case "resolve":
            return Resolve(mention_id, actor)
        case "ignore":
            return Ignore(mention_id, actor)
        case "reply":
            return Reply(mention_id, actor, command.arg, confirmed=command.confirmed) if command.arg else None
        case "snooze":
            return Snooze(mention_id, actor, command.arg or "patron")
        case "wake":
            return Wake(mention_id, actor)
        case "approve":
            return Approve(mention_id, actor, command.arg)
        case "reject":
            return Reject(mention_id, actor, command.arg)
        case "reassign" if command.arg:
            target = command.arg.split()[0]
            return (
                Reassign(mention_id, actor, person=target)
                if target.startswith("@")
                else Reassign(mention_id, actor, role=target)
            )
    return None


def reaction_action(verb: str, mention_id: int, actor: StaffRef) -> StaffAction:
    """The staff action of a reaction button."""
    kinds: dict[str, type[Claim | Resolve | Ignore | Release]] = {
        "claim": Claim,
        "resolve": Resolve,
        "ignore": Ignore,
        "release": Release,
    }
    return kinds[verb](mention_id, actor)
