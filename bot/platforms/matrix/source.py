"""Matrix rooms as a source: messages that mention the bot in configured rooms (and DMs) become mentions."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from bot.config import Settings
from bot.domain.sanitize import UNKNOWN_TIME, from_unix, safe_mention
from bot.errors import PermanentError, ReplyNotSupported
from bot.models import Mention, MentionChange, ReplyRef, Visibility
from bot.platforms.base import AdapterDeps, OnChange
from bot.platforms.matrix.commands import power_level, redact_level
from bot.platforms.matrix.link import MatrixLink, link_for
from bot.platforms.matrix.wire import RoomEvent, permalink, relation, strip_reply_fallback, txn_id

log = logging.getLogger(__name__)

SOURCE = "matrix"
PATRON_MSGTYPES = ("m.text", "m.emote")  # m.notice is for bots: never a mention (no bot loops)


def mentions_bot(content: dict[str, Any], *, user_id: str, display_name: str = "") -> bool:
    """Intentional mention (``m.mentions``), a pill link, or the bot's id, localpart or display name."""
    declared = content.get("m.mentions")
    listed = declared.get("user_ids") if isinstance(declared, dict) else None
    if isinstance(listed, list) and user_id in listed:
        return True
    formatted = content.get("formatted_body")
    if isinstance(formatted, str) and f"matrix.to/#/{user_id}".lower() in unquote(formatted).lower():
        return True
    body = content.get("body")
    if not isinstance(body, str):
        return False
    localpart = user_id.split(":", 1)[0].lstrip("@")
    names = [user_id, localpart, display_name]
    pattern = "|".join(re.escape(name) for name in names if len(name) >= 3)
    return bool(pattern) and re.search(rf"(?<!\w)@?(?:{pattern})(?!\w)", body, re.IGNORECASE) is not None


def parse_mention(
    event: dict[str, Any],
    *,
    room_id: str,
    user_id: str,
    display_name: str = "",
    author_name: str = "",
    direct: bool,
    now: datetime | None = None,
) -> Mention | None:
    """A patron message that mentions the bot (any message in a DM), or None.

    A message in a thread, or a reply, that does not mention the bot is a ``join_only`` mention: ingest
    joins it to its author's open mention of that conversation or drops it; it never starts a card.

    ``now`` replaces an unusable ``origin_server_ts`` (marked on the card, see ``domain.sanitize``).
    """
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    if event.get("type") != "m.room.message" or content.get("msgtype") not in PATRON_MSGTYPES:
        return None
    rel_type, related = relation(content)
    if rel_type == "m.replace":
        return None
    body = content.get("body")
    if not isinstance(body, str) or not body.strip():
        return None
    follows = _earlier(content)
    # a message in a public room that does not mention the bot may still be the patron writing again
    # in their thread (or replying to their post): it may only join their open mention there
    join_only = not direct and not mentions_bot(content, user_id=user_id, display_name=display_name)
    if join_only and not follows:
        return None
    event_id, sender = str(event.get("event_id", "")), str(event.get("sender", ""))
    if not event_id or not sender or sender == user_id:
        return None
    thread = related if rel_type == "m.thread" else None
    mention = Mention(
        source=SOURCE,
        external_id=event_id,
        text=strip_reply_fallback(body) if rel_type == "m.in_reply_to" else body,
        created_at=_when(event),
        url=permalink(room_id, event_id),
        author_id=sender,
        author_handle=sender,
        author_name=author_name,
        visibility=Visibility.DIRECT if direct else Visibility.PUBLIC,
        reply_ref=json.dumps({"room": room_id, "event": event_id, "thread": thread}),
        follows=follows,
        join_only=join_only,
    )
    return safe_mention(mention, now=now)


def _earlier(content: dict[str, Any]) -> tuple[str, ...]:
    """The earlier posts a message answers (its thread root, the message it replies to): a patron's
    follow-up there joins their open mention (and wakes it when snoozed) instead of a card of its own."""
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return ()
    reply = rel.get("m.in_reply_to")
    refs = (
        rel.get("event_id") if rel.get("rel_type") == "m.thread" else None,
        reply.get("event_id") if isinstance(reply, dict) else None,
    )
    return tuple(dict.fromkeys(ref for ref in refs if isinstance(ref, str) and ref))


def parse_change(event: dict[str, Any]) -> MentionChange | None:
    """An edit (``m.replace`` with ``m.new_content``) or a redaction of an earlier message."""
    content = event.get("content")
    content = content if isinstance(content, dict) else {}
    sender = str(event.get("sender", ""))
    if event.get("type") == "m.room.redaction":
        target = event.get("redacts") or content.get("redacts")  # room v11 moved it into content
        return MentionChange(SOURCE, target, "withdraw", sender) if isinstance(target, str) else None
    rel_type, target = relation(content)
    new = content.get("m.new_content")
    if event.get("type") != "m.room.message" or rel_type != "m.replace" or not isinstance(new, dict):
        return None
    text = new.get("body")
    if target is None or not isinstance(text, str):
        return None
    return MentionChange(SOURCE, target, "edit", sender, text)


def reply_content(text: str, *, ref: dict[str, Any], author_id: str) -> dict[str, Any]:
    """A reply in the patron's thread, or an ``m.in_reply_to`` reply; pings the patron only."""
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": text,
        "m.mentions": {"user_ids": [author_id]} if author_id.startswith("@") else {},
    }
    if ref.get("thread"):
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": ref["thread"],
            "is_falling_back": False,
            "m.in_reply_to": {"event_id": ref["event"]},
        }
    else:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": ref["event"]}}
    return content


def _when(event: dict[str, Any]) -> datetime:
    """``origin_server_ts`` (milliseconds), or ``UNKNOWN_TIME`` when absent or out of any range."""
    stamp = event.get("origin_server_ts")
    seconds = stamp / 1000 if isinstance(stamp, int) and not isinstance(stamp, bool) else None
    return from_unix(seconds) or UNKNOWN_TIME


class MatrixSource:
    """Yields mentions from the shared sync loop and publishes replies.

    Args:
        link: the shared Matrix connection.
        on_change: called for edits and redactions of earlier messages (the service's hook).
    """

    source = SOURCE

    def __init__(self, link: MatrixLink, *, on_change: OnChange | None = None) -> None:
        self.link = link
        self.on_change = on_change
        link.source_attached = True

    async def open(self) -> None:
        """Log in and join the rooms (an unreachable homeserver is retried by the loop)."""
        await self.link.open()

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        """Each mention with ``None``, then ``(None, next_batch)`` after every sync batch."""
        async with aclosing(self.link.batches(cursor)) as batches:
            async for batch in batches:
                for item in batch.events:
                    mention = await self._consider(item)
                    if mention is not None:
                        yield mention, None
                yield None, batch.next_batch

    async def _consider(self, item: RoomEvent) -> Mention | None:
        event = item.event
        change = parse_change(event)
        if change is not None:
            if self.on_change is not None:
                if change.kind == "withdraw":  # a moderator may remove someone else's message
                    state = await self.link.room_state(item.room_id)
                    moderator = power_level(state, change.sender) >= redact_level(state)
                    change = replace(change, moderator=moderator)
                await self.on_change(change)
            return await self._mention_from_edit(item, change)
        return parse_mention(
            event,
            room_id=item.room_id,
            user_id=self.link.user_id,
            display_name=self.link.display_name,
            author_name=self.link.member_name(item.room_id, str(event.get("sender", ""))),
            direct=item.direct,
            now=datetime.now(UTC),
        )

    async def _mention_from_edit(self, item: RoomEvent, change: MentionChange) -> Mention | None:
        """An edit that adds a mention of the bot makes the original message a mention."""
        if change.kind != "edit":
            return None
        new = (item.event.get("content") or {}).get("m.new_content") or {}
        edited = {**item.event, "content": new, "event_id": change.external_id}
        mention = parse_mention(
            edited,
            room_id=item.room_id,
            user_id=self.link.user_id,
            display_name=self.link.display_name,
            author_name=self.link.member_name(item.room_id, change.sender),
            direct=item.direct,
        )
        if mention is None or mention.join_only:
            return None
        original = await self.link.get_event(item.room_id, change.external_id)
        if original is None or original.get("sender") != change.sender:
            return None  # only the author may edit a message into a mention
        content = original.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("body"), str):
            return None  # redacted since (the edit was read after the redaction): nothing to card
        rel_type, related = relation(content)
        ref = json.loads(mention.reply_ref) | {"thread": related if rel_type == "m.thread" else None}
        # the original's thread and reply: a follow-up that joined before is not carded on its edit
        edited_mention = replace(
            mention,
            reply_ref=json.dumps(ref),
            created_at=_when(original),
            note="",
            follows=_earlier(content),
        )
        return safe_mention(edited_mention, now=datetime.now(UTC))

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Send the reply; the transaction id comes from the key, so a retry never sends twice."""
        if not to.can_reply:
            raise ReplyNotSupported("this Matrix message cannot be answered")
        try:
            ref = json.loads(to.reply_ref)
            room = str(ref["room"])
        except (ValueError, KeyError, TypeError):
            raise PermanentError("the mention has no Matrix room to answer in") from None
        content = reply_content(text, ref=ref, author_id=to.author_id)
        event_id = await self.link.send(room, content, txn=txn_id("reply", idempotency_key))
        return ReplyRef(event_id, permalink(room, event_id))

    async def aclose(self) -> None:
        """Close the shared connection."""
        await self.link.aclose()


def build(settings: Settings, deps: AdapterDeps) -> MatrixSource | None:
    """The Matrix source, when a homeserver and at least one source room are configured."""
    if not settings.matrix_on or not settings.MATRIX_SOURCE_ROOMS:
        return None
    return MatrixSource(link_for(deps.clients.get("matrix"), settings), on_change=deps.on_change)
