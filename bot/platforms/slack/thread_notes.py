"""A staff member's message in a card's thread becomes an internal note on that mention (like the
Note form, or Matrix's plain thread messages): never published, shown on the card, kept in the audit.

Only plain messages by people count: the bot's own posts (history lines, answers), other bots,
edits, deletions and joins are ignored, and so are top-level messages and threads under anything
but a card. Whether the writer is staff is the service's decision (``bot/core/authz.py``): a
stranger is told so and nothing is stored.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.errors import PatronDeskError
from bot.models import AddNote, StaffRef
from bot.platforms.slack.actions import SlackActions
from bot.platforms.slack.buttons import CARD_EVENT
from bot.platforms.slack.source import PLAIN_SUBTYPES, markup_to_text

log = logging.getLogger(__name__)

MEMORY = 2_000


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A person's plain message in a thread of a card channel."""

    channel: str
    thread_ts: str
    user: str
    text: str


def parse_thread_message(
    event: dict[str, Any], *, bot_user: str, card_channels: set[str] | frozenset[str]
) -> ThreadMessage | None:
    """The staff thread message in a ``message`` event, or None for anything else."""
    channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    thread_ts, user = str(event.get("thread_ts") or ""), str(event.get("user") or "")
    subtype = event.get("subtype")
    if event.get("type") != "message" or not isinstance(subtype, str | None) or subtype not in PLAIN_SUBTYPES:
        return None
    if event.get("hidden") or event.get("bot_id") or not user or user == bot_user:
        return None
    if channel not in card_channels or not thread_ts or thread_ts == ts:
        return None
    text = markup_to_text(str(event.get("text") or "")).strip()
    return ThreadMessage(channel, thread_ts, user, text) if text else None


def card_mention_id(message: dict[str, Any]) -> int | None:
    """The mention id a card message carries in its metadata (``post_card:slack:42``), or None."""
    meta = message.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != CARD_EVENT:
        return None
    payload = meta.get("event_payload")
    key = payload.get("dedupe_key") if isinstance(payload, dict) else None
    tail = key.rsplit(":", 1)[-1] if isinstance(key, str) and key.startswith("post_card:") else ""
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 18 else None


class ThreadNotes:
    """Listens for messages in card channels and hands a note to the service for each staff one."""

    def __init__(self, actions: SlackActions) -> None:
        self.actions = actions
        self.client = actions.client
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.client.app.event("message", matchers=[self._in_card_channel])(self._on_message)

    async def _in_card_channel(self, event: dict[str, Any]) -> bool:
        return str(event.get("channel") or "") in self.client.card_channels

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = str(body.get("event_id") or "")
        if event_id in self._seen:
            return  # Slack delivered it again
        me = await self.client.identity()
        found = parse_thread_message(event, bot_user=me.user_id, card_channels=self.client.card_channels)
        if found is not None:
            self.actions.tasks.spawn(self._note(found), "slack:thread-note")
        if event_id:
            self._seen[event_id] = None
            while len(self._seen) > MEMORY:
                self._seen.popitem(last=False)

    async def _note(self, message: ThreadMessage) -> None:
        mention_id = await self.card_of(message.channel, message.thread_ts)
        if mention_id is None:
            return  # a thread under a digest, an announcement or chat: not a card
        actor = StaffRef("slack", message.user)
        await self.actions.run(AddNote(mention_id, actor, message.text), message.channel)

    async def card_of(self, channel: str, ts: str) -> int | None:
        """The mention whose card is the message ``ts`` (the thread's parent comes first)."""
        try:
            data = await self.client.call(
                "conversations_replies", channel=channel, ts=ts, limit=1, include_all_metadata=True
            )
        except PatronDeskError as exc:
            log.warning("slack thread note: the card could not be read: %s", type(exc).__name__)
            return None
        first = next(iter(data.get("messages") or ()), None)
        return card_mention_id(first) if isinstance(first, dict) and first.get("ts") == ts else None
