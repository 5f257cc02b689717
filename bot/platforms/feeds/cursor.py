"""The feeds adapter's cursor: per-feed validators and seen entries, and what each sync yields."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.models import Mention

log = logging.getLogger(__name__)

SEEN_LIMIT = 500  # remembered entry ids per feed, beyond those in the latest document
_VERSION = 1


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we know about one feed: its HTTP validators and the (hashed) ids already yielded.

    Ids are stored as short hashes: a feed entry id is often the patron's post URL, and the
    cursor outlives the retention purge of mentions.
    """

    etag: str | None = None
    modified: str | None = None
    seen: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cursor:
    """The whole adapter's position: one ``FeedState`` per feed URL.

    ``trusted`` is False when the stored cursor could not be read: every feed is then re-read
    in full (the store drops repeats), because treating it as a first sync could skip entries.
    """

    feeds: Mapping[str, FeedState]
    trusted: bool = True


def load_cursor(text: str | None) -> Cursor:
    """Read a cursor written by ``dump_cursor``; ``None`` means nothing was stored yet."""
    if text is None:
        return Cursor(feeds={})
    try:
        data = json.loads(text)
        if data.get("v") != _VERSION:
            raise ValueError("unknown cursor version")
        feeds = {
            str(url): FeedState(
                etag=_opt_str(state.get("etag")),
                modified=_opt_str(state.get("modified")),
                seen=tuple(str(key) for key in state.get("seen", ())),
            )
            for url, state in data["feeds"].items()
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("feeds cursor unreadable; re-reading every feed in full (the store drops repeats)")
        return Cursor(feeds={}, trusted=False)
    return Cursor(feeds=feeds)


def dump_cursor(feeds: Mapping[str, FeedState], *, configured: Sequence[str]) -> str:
    """Serialize the states of the configured feeds (feeds removed from settings are dropped)."""
    out = {
        url: {"etag": state.etag, "modified": state.modified, "seen": list(state.seen)}
        for url, state in feeds.items()
        if url in configured
    }
    return json.dumps({"v": _VERSION, "feeds": out}, separators=(",", ":"), sort_keys=True)


def seen_key(external_id: str) -> str:
    """The short hash of an entry id kept in the cursor (64 bits: no collision in 500 ids)."""
    return hashlib.sha256(external_id.encode()).hexdigest()[:16]


def remember(seen: Sequence[str], keys: Iterable[str], *, limit: int = SEEN_LIMIT) -> tuple[str, ...]:
    """Add ``keys`` (the ids of the current document) to ``seen``, keeping it bounded.

    Every current key is kept whatever the limit, so a feed longer than ``limit`` never
    re-yields its own entries; older keys fill the remaining room, newest first.
    """
    current = tuple(dict.fromkeys(keys))
    present = set(current)
    older = [key for key in seen if key not in present]
    room = max(limit - len(current), 0)
    return (tuple(older[-room:]) if room else ()) + current


def plan_sync(
    previous: FeedState | None,
    entries: Sequence[Mention],
    *,
    etag: str | None,
    modified: str | None,
    backfill: bool,
) -> list[tuple[Mention | None, FeedState]]:
    """Decide what one successful fetch yields, each item with the feed state that follows it.

    New entries come oldest first. The new validators (ETag/Last-Modified) are only attached
    to the last item: if we stop after an earlier one, the next fetch must not be answered
    304 while entries are still unstored. A first sync without backfill yields one
    cursor-only item that records every entry present as seen.
    """
    keys = [seen_key(m.external_id) for m in entries]
    if previous is None and not backfill:
        return [(None, FeedState(etag, modified, remember((), keys)))]
    base = previous or FeedState()
    old = set(base.seen)
    fresh: dict[str, Mention] = {}
    for key, mention in zip(keys, entries, strict=True):
        if key not in old:
            fresh.setdefault(key, mention)
    ordered = sorted(reversed(fresh.items()), key=lambda item: item[1].created_at)
    done = [key for key in keys if key in old]
    plan: list[tuple[Mention | None, FeedState]] = []
    for number, (key, mention) in enumerate(ordered, start=1):
        done.append(key)
        last = number == len(ordered)
        state = FeedState(
            etag if last else base.etag, modified if last else base.modified, remember(base.seen, done)
        )
        plan.append((mention, state))
    if not ordered and (previous is None or (etag, modified) != (base.etag, base.modified)):
        plan.append((None, FeedState(etag, modified, remember(base.seen, keys))))
    return plan


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
