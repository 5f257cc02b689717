"""What a run left behind, counted from the outside: Slack's channel, Mastodon's statuses, the database."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.platforms.slack.buttons import CARD_EVENT


@dataclass(frozen=True, slots=True)
class StoredMention:
    id: int
    text: str
    status: str
    reply_text: str | None
    reply_url: str | None


@dataclass(frozen=True, slots=True)
class Stored:
    """The database, read after the bot has stopped."""

    mentions: tuple[StoredMention, ...] = ()
    pending: int = 0
    failed: int = 0


@dataclass(slots=True)
class Counts:
    """The figures of one run; everything but ``crashed`` must be 0."""

    lost: int = 0  # posted on Mastodon, no card in Slack
    duplicate_cards: int = 0  # more than one card for one mention
    duplicate_replies: int = 0  # the same reply published twice on one post
    unsent_replies: int = 0  # a reply the bot recorded as queued/replied that never appeared on Mastodon
    stale_cards: int = 0  # a card whose final state differs from the stored mention's
    outbox_left: int = 0  # rows pending or parked as failed after the run settled
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicate_cards
            or self.duplicate_replies
            or self.unsent_replies
            or self.stale_cards
            or self.outbox_left
            or self.problems
        )


def outbox_pending(db: Path) -> int | None:
    """Pending outbox rows, read-only while the bot runs; None before the database exists."""
    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return int(conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return None


def updates_untouched(db: Path, mention_id: int) -> int | None:
    """Card updates of one mention still waiting for their first attempt (read-only while it runs)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            sql = "SELECT count(*) FROM outbox WHERE kind = 'update_card' AND mention_id = ? AND attempts = 0"
            return int(conn.execute(sql, (mention_id,)).fetchone()[0])
    except sqlite3.OperationalError:
        return None


def read_store(db: Path) -> Stored:
    """The mentions and the outbox, once the bot has stopped."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        rows = conn.execute("SELECT id, text, status, reply_text, reply_url FROM mentions ORDER BY id")
        mentions = tuple(StoredMention(*row) for row in rows)
        pending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        failed = conn.execute("SELECT count(*) FROM outbox WHERE state = 'failed'").fetchone()[0]
    return Stored(mentions, int(pending), int(failed))


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The card messages (our metadata) among a channel's top-level messages."""
    return [m for m in messages if (m.get("metadata") or {}).get("event_type") == CARD_EVENT]


def card_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def cards_for(messages: list[dict[str, Any]], token: str) -> list[dict[str, Any]]:
    return [m for m in cards(messages) if token in card_text(m)]


def carded(messages: list[dict[str, Any]], tokens: tuple[str, ...]) -> bool:
    """Every token has a card (each card's blocks serialised once)."""
    texts = [card_text(m) for m in cards(messages)]
    return all(any(token in text for text in texts) for token in tokens)


def count(
    *, tokens: tuple[str, ...], messages: list[dict[str, Any]], posted: list[Any], stored: Stored
) -> Counts:
    """Count losses and duplicates for the mentions carrying ``tokens``."""
    result = Counts()
    per_token = {token: cards_for(messages, token) for token in tokens}
    result.lost = sum(1 for found in per_token.values() if not found)
    result.duplicate_cards = sum(max(0, len(found) - 1) for found in per_token.values())
    keys = Counter((m["metadata"].get("event_payload") or {}).get("dedupe_key") for m in cards(messages))
    by_key = sum(n - 1 for n in keys.values())
    if by_key > result.duplicate_cards:  # two cards with one key but different text: still a duplicate
        result.duplicate_cards = by_key
    replies = Counter((p.body.get("in_reply_to_id"), p.body.get("status")) for p in posted)
    result.duplicate_replies = sum(n - 1 for n in replies.values())
    published = [str(p.body.get("status", "")) for p in posted]
    result.outbox_left = stored.pending + stored.failed
    for mention in stored.mentions:
        token = next((t for t in tokens if t in mention.text), None)
        if token is None:
            result.problems.append(f"stored mention #{mention.id} matches no posted mention")
            continue
        if mention.status == "replied" and mention.reply_text:
            seen = any(text.endswith(mention.reply_text) for text in published)
            result.unsent_replies += not (seen and mention.reply_url)
        result.stale_cards += sum(1 for card in per_token[token] if not _shows(card, mention))
    if len(stored.mentions) != len({m.text for m in stored.mentions}):
        result.problems.append("a mention was stored twice")
    return result


def _shows(card: dict[str, Any], mention: StoredMention) -> bool:
    """The card's fallback text ends with the status; a replied card links the published reply."""
    if not str(card.get("text", "")).endswith(f": {mention.status}"):
        return False
    return mention.status != "replied" or "publishing…" not in card_text(card)
