"""Posting a card exactly once: what this desk remembers of its posts, and the channel search that
finds a post whose answer was lost (a mixin of ``SlackDesk``, which holds the state used here)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.crashpoints import crash_point
from bot.errors import PermanentError, RateLimited, TransientError
from bot.platforms.slack.buttons import CARD_EVENT
from bot.platforms.slack.cards import card_blocks, fallback_text
from bot.views import CardRef, TicketView

if TYPE_CHECKING:
    from bot.platforms.slack.burst_digest import _Digest
    from bot.platforms.slack.client import SlackClient

SCAN_PAGES, SCAN_PAGE_SIZE, SCAN_TTL, SETTLE = 5, 200, 15.0, 2.0

# Posts this desk remembers (landed, surely not landed, ambiguous). A post is asked for again only
# after a crash or a timeout, minutes later; an older one is found by searching the channel
# (``_find``). 10,000 of each held about 5 MiB; 2,000 hold under 1 MiB.
MEMORY = 2_000


@dataclass(slots=True)
class _Scan:
    started: float
    keys: dict[str, str]  # dedupe key -> ts


class _Lru(OrderedDict[str, Any]):
    def remember(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MEMORY:
            self.popitem(last=False)


class CardPosts:
    """Send a card, record where it landed, and search the channel for an earlier post of its key."""

    desk: str
    client: SlackClient
    clock: Callable[[], float]
    settle: float
    _started: float
    _posted: _Lru
    _clean: _Lru
    _ambiguous: _Lru
    _scans: dict[str, _Scan]
    _waiting: dict[str, dict[str, TicketView]]
    _digests: dict[str, _Digest]

    def _queued(self, channel: str, key: str, card: TicketView) -> None:
        self._clean.remember(key, True)
        self._waiting.setdefault(channel, {})[key] = card
        digest = self._digests.get(channel)
        if digest is not None:
            digest.keys.add(key)

    async def _send(self, card: TicketView, channel: str, key: str) -> str:
        metadata = {"event_type": CARD_EVENT, "event_payload": {"dedupe_key": key}}
        crash_point("before_slack_post")
        try:
            data = await self.client.call(
                "chat_postMessage",
                channel=channel,
                text=fallback_text(card),
                blocks=card_blocks(card),
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except RateLimited as exc:  # Slack's 429: this channel waits exactly the hint, once
            self._queued(channel, key, card)
            pause = max(exc.retry_after or 0.0, self.client.pacer.interval)
            self.client.pacer.blocked(channel, key, self.clock(), pause)
            raise RateLimited(str(exc), retry_after=pause) from None
        except PermanentError:
            self._clean.remember(key, True)
            self.client.pacer.forget(channel, key)
            raise
        except TransientError:
            self._ambiguous.remember(key, self.clock())  # it may have landed: look before posting again
            self._clean.pop(key, None)
            raise
        crash_point("after_slack_post")
        return str(data.get("ts", ""))

    def _landed(self, channel: str, key: str, ts: str) -> CardRef:
        self._posted.remember(key, (sys.intern(channel), ts))  # one channel string, not one per post
        self._ambiguous.pop(key, None)
        self._clean.pop(key, None)
        self._waiting.get(channel, {}).pop(key, None)
        self.client.pacer.forget(channel, key)
        return CardRef(self.desk, channel, ts)

    async def _find(self, channel: str, key: str) -> str | None:
        """The ts of an earlier post of ``key`` in ``channel`` (recent history, cached briefly)."""
        scan = self._scans.get(channel)
        since = self._ambiguous.get(key, self._started - self.settle) + self.settle
        now = self.clock()
        if scan is None or scan.started < since or now - scan.started > SCAN_TTL:
            scan = _Scan(started=now, keys=await self._scan(channel))
            self._scans[channel] = scan
        return scan.keys.get(key)

    async def _scan(self, channel: str) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(SCAN_PAGES):
            data = await self.client.call(
                "conversations_history",
                channel=channel,
                limit=SCAN_PAGE_SIZE,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in data.get("messages") or ():
                meta = message.get("metadata") or {}
                if meta.get("event_type") == CARD_EVENT:
                    key = (meta.get("event_payload") or {}).get("dedupe_key")
                    if isinstance(key, str):
                        found.setdefault(key, str(message.get("ts", "")))
            cursor = ((data.get("response_metadata") or {}).get("next_cursor")) or None
            if not data.get("has_more") or not cursor:
                break
        return found
