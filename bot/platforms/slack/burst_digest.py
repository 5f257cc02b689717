"""The burst digest of a Slack channel: one message listing every mention still waiting for its card.

A mixin of ``SlackDesk``, which holds the state used here (the pacer's queue, the waiting cards).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import PermanentError, RateLimited, TransientError
from bot.platforms.slack.buttons import parse_digest_page
from bot.platforms.slack.cards import digest_blocks
from bot.views import TicketView

if TYPE_CHECKING:
    from bot.platforms.slack.client import SlackClient

log = logging.getLogger(__name__)

DIGEST_LINGER = 60.0  # seconds a finished digest may be reopened by more of the same burst


@dataclass(slots=True)
class _Digest:
    ts: str = ""
    keys: set[str] = field(default_factory=set)
    shown_at: float = 0.0
    done: bool = False
    page: int = 0


class BurstDigest:
    """Post, refresh, page and close a channel's digest; the attributes are SlackDesk's."""

    client: SlackClient
    clock: Callable[[], float]
    digest_at: int
    digest_refresh: float
    _waiting: dict[str, dict[str, TicketView]]
    _digests: dict[str, _Digest]

    async def _show_digest(self, channel: str, *, urgent: bool = False) -> None:
        """Post, refresh or close the burst digest of ``channel``; a failure only costs the digest.

        A closed digest is reopened (the same message) if the channel queues again soon after, so one
        burst with gaps keeps one digest. Cheap when nothing is to be drawn: the waiting list is only
        walked to draw it.
        """
        pacer = self.client.pacer
        now, count = self.clock(), pacer.count(channel)
        done = count == 0
        digest = self._digests.get(channel)
        if digest is not None and digest.done and now - digest.shown_at > DIGEST_LINGER:
            del self._digests[channel]  # that burst is over; a new one gets a new digest
            digest = None
        if digest is None and count < self.digest_at:
            return
        if digest is None:
            digest = self._digests.setdefault(channel, _Digest())
            digest.keys.update(pacer.pending(channel))
        fresh = now - digest.shown_at < self.digest_refresh
        if digest.ts and done == digest.done and (done or (fresh and not urgent)):
            return
        await self._redraw(channel, digest, now=now)

    async def _redraw(self, channel: str, digest: _Digest, *, now: float) -> None:
        pending = self.client.pacer.pending(channel)
        waiting = self._waiting.setdefault(channel, {})
        queued = set(pending)
        for key in [k for k in waiting if k not in queued]:
            del waiting[key]
        digest.keys.update(pending)
        views = [waiting[k] for k in pending if k in waiting]
        await self._draw(channel, digest, views, now=now)
        digest.done = not pending

    async def _digest_page(self, ack: Any, body: dict[str, Any]) -> None:
        """A ‹ › button on a digest: show that page (the digest is shared; the last click wins)."""
        await ack()
        actions = body.get("actions") or [{}]
        page = parse_digest_page(actions[0].get("value") if isinstance(actions[0], dict) else None)
        channel = str((body.get("channel") or {}).get("id", ""))
        digest = self._digests.get(channel)
        if page is None or digest is None or not digest.ts:
            return
        digest.page = page
        await self._redraw(channel, digest, now=self.clock())

    async def _draw(self, channel: str, digest: _Digest, views: list[TicketView], *, now: float) -> None:
        blocks = digest_blocks(views, total=len(digest.keys), done=not views, page=digest.page)
        text = f"Burst: {len(views)} mentions waiting for a card"
        pacer = self.client.pacer
        try:
            if digest.ts:
                await self.client.call("chat_update", channel=channel, ts=digest.ts, text=text, blocks=blocks)
            else:
                if pacer.held_for(channel, now) > 0:
                    return  # Slack said 429 to this channel: no new post until its Retry-After is over
                data = await self.client.call("chat_postMessage", channel=channel, text=text, blocks=blocks)
                digest.ts = str(data.get("ts", ""))
                pacer.used(channel, now)
            digest.shown_at = now
        except (TransientError, PermanentError) as exc:
            if isinstance(exc, RateLimited) and not digest.ts:
                pacer.hold(channel, now, exc.retry_after or pacer.interval)
            log.warning("burst digest for %s not shown: %s", channel, type(exc).__name__)
