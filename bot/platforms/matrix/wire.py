"""Pure Matrix wire helpers shared by the link, the source and the desk: no I/O, no SDK objects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.errors import AdapterConfigError, PatronDeskError, PermanentError
from bot.net.http_json import StatusRules, status_error


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One timeline event from a room we care about (the raw dict never leaves the Matrix modules)."""

    room_id: str
    event: dict[str, Any]
    direct: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    """One sync response: events for the source, events for the desk, and the token that follows."""

    next_batch: str
    events: tuple[RoomEvent, ...] = ()
    desk: tuple[RoomEvent, ...] = ()


def txn_id(kind: str, key: str) -> str:
    """A transaction id derived from an idempotency key: the same key never sends twice."""
    return f"pd-{kind}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


# 408 is not retried and a 5xx carries no wait; 401 (or a token errcode) means the credentials.
MATRIX_STATUS = StatusRules(
    also_transient=frozenset(),
    hint_on_5xx=False,
    refused=frozenset({401}),
    refused_note="the homeserver refused the bot's credentials",
)
TOKEN_ERRCODES = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"})


def parse_error(
    body: dict[str, Any], *, status: int | None, retry_after: str | None = None, now: datetime
) -> PatronDeskError:
    """Turn a Matrix error body (and HTTP status) into a domain error; 429 waits are capped."""
    code = str(body.get("errcode") or "")
    text = f"matrix {status or '?'} {code or 'error'}"
    error = status_error(
        429 if code == "M_LIMIT_EXCEEDED" else status,
        label=text,
        now=now,
        rules=MATRIX_STATUS,
        retry_after=retry_after,
        retry_after_ms=body.get("retry_after_ms"),
    )
    if type(error) is PermanentError and code in TOKEN_ERRCODES:
        return AdapterConfigError(f"{text}: {MATRIX_STATUS.refused_note}")
    return error


def fresh_events(events: Iterable[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    """Drop the bot's own events, and everything before the bot's join when the join is in view.

    A room the bot just joined arrives with some of its history; that history is older than the
    bot and is never processed.
    """
    ordered = list(events)
    start = 0
    for index, event in enumerate(ordered):
        content = event.get("content") or {}
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and content.get("membership") == "join"
            and (event.get("unsigned") or {}).get("prev_content", {}).get("membership") != "join"
        ):
            start = index + 1
    return [event for event in ordered[start:] if event.get("sender") != user_id]


def sync_filter(limit: int) -> dict[str, Any]:
    """Only room timelines and state: no presence, typing, receipts or account data."""
    nothing = {"not_types": ["*"]}
    return {
        "presence": nothing,
        "account_data": nothing,
        "room": {
            "timeline": {"limit": limit},
            "ephemeral": nothing,
            "account_data": nothing,
            "state": {"lazy_load_members": False},
        },
    }


def permalink(room_id: str, event_id: str) -> str:
    """A matrix.to link to one event (a lone surrogate in an id is quoted as "?", never an error)."""
    room, event = (quote(part, safe="", errors="replace") for part in (room_id, event_id))
    return f"https://matrix.to/#/{room}/{event}"


def relation(content: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(rel_type, event_id)`` of ``m.relates_to``; a plain reply gives ``("m.in_reply_to", id)``."""
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return None, None
    if isinstance(rel.get("rel_type"), str) and isinstance(rel.get("event_id"), str):
        return rel["rel_type"], rel["event_id"]
    reply = rel.get("m.in_reply_to")
    if isinstance(reply, dict) and isinstance(reply.get("event_id"), str):
        return "m.in_reply_to", reply["event_id"]
    return None, None


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines that older clients put before a reply."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and not lines[index].strip():
        return "\n".join(lines[index + 1 :])
    return body


def direct_inviter(invite_state: Iterable[dict[str, Any]], user_id: str) -> str | None:
    """Who invited ``user_id`` to a direct chat (``is_direct`` on the invite), or None."""
    for event in invite_state:
        content = event.get("content") or {}
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and content.get("membership") == "invite"
            and content.get("is_direct") is True
        ):
            return str(event.get("sender", "")) or None
    return None
